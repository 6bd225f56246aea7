import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the files a manifest names (manifests, `.env` and env files, label files, secret
/// and config files): regular files only, at most `limit` bytes. A manifest that names
/// `/dev/zero`, a FIFO or a huge file gets an error instead of a hung or exhausted loader.
enum BoundedFile {
    static let limit = 16 << 20

    /// The content, or nil when the path is not a regular file, cannot be read, or is
    /// bigger than `limit`.
    static func contents(atPath path: String, limit: Int = limit) -> Data? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit else { return nil }
        var data = Data(count: Int(info.st_size) + 1)
        var total = 0
        let ok = data.withUnsafeMutableBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            while total < buffer.count {
                let n = read(fd, base + total, buffer.count - total)
                if n < 0 { if errno == EINTR { continue }; return false }
                if n == 0 { break }
                total += n
            }
            return true
        }
        // A file that grew past its size while being read is too big as well.
        guard ok, total <= limit, total <= Int(info.st_size) else { return nil }
        data.count = total
        return data
    }
}
