import NIOCore
import NIOHTTP1

extension DockerClient {
    /// Extracts a tar archive into a container's filesystem under `path` (a folder that
    /// exists in the container; missing parent folders of the entries are created). The
    /// container may be created and not yet started. With `copyUIDGID` the entries keep the
    /// owner and group of their headers; without, they belong to the container's root.
    /// Maps to `PUT /containers/{id}/archive`.
    public func putArchive(_ id: String, path: String, archive: [UInt8], copyUIDGID: Bool = false) async throws {
        var query = [("path", path)]
        if copyUIDGID { query.append(("copyUIDGID", "1")) }
        _ = try await send(.PUT, "/containers/\(id)/archive", query: query, body: ByteBuffer(bytes: archive))
    }
}

/// A POSIX ustar archive of regular files, built in memory: what the archive endpoints take.
public enum TarArchive {
    public struct Entry: Sendable, Equatable {
        /// The path in the archive; a leading `/` is dropped (entries are relative to where
        /// the archive is extracted).
        public var path: String
        public var bytes: [UInt8]
        public var mode: Int
        public var uid: Int
        public var gid: Int

        public init(path: String, bytes: [UInt8], mode: Int = 0o644, uid: Int = 0, gid: Int = 0) {
            self.path = path
            self.bytes = bytes
            self.mode = mode
            self.uid = uid
            self.gid = gid
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    static let block = 512

    /// The archive of `entries`, in order. `modificationTime` is in Unix seconds.
    public static func make(_ entries: [Entry], modificationTime: Int = 0) throws -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            out += try header(entry, modificationTime: modificationTime)
            out += entry.bytes
            out += [UInt8](repeating: 0, count: (block - entry.bytes.count % block) % block)
        }
        // Two zero blocks end an archive.
        out += [UInt8](repeating: 0, count: 2 * block)
        return out
    }

    private static func header(_ entry: Entry, modificationTime: Int) throws -> [UInt8] {
        var path = Substring(entry.path)
        while path.hasPrefix("/") { path = path.dropFirst() }
        guard !path.isEmpty else { throw Failure(description: "an archive entry needs a file name, got `\(entry.path)`") }
        let (prefix, name) = try split(String(path))
        var h = [UInt8](repeating: 0, count: block)
        func put(_ bytes: [UInt8], at offset: Int) {
            for (i, b) in bytes.enumerated() { h[offset + i] = b }
        }
        /// `width - 1` octal digits and a NUL, as every numeric field of a ustar header.
        func octal(_ value: Int, width: Int, at offset: Int, field: String) throws {
            let digits = String(value, radix: 8)
            guard value >= 0, digits.count <= width - 1 else {
                throw Failure(description: "\(field) \(value) does not fit a tar header")
            }
            put(Array((String(repeating: "0", count: width - 1 - digits.count) + digits).utf8) + [0], at: offset)
        }
        put(Array(name.utf8), at: 0)
        try octal(entry.mode, width: 8, at: 100, field: "mode")
        try octal(entry.uid, width: 8, at: 108, field: "uid")
        try octal(entry.gid, width: 8, at: 116, field: "gid")
        try octal(entry.bytes.count, width: 12, at: 124, field: "size")
        try octal(modificationTime, width: 12, at: 136, field: "modification time")
        h[156] = UInt8(ascii: "0")  // a regular file
        put(Array("ustar".utf8) + [0] + Array("00".utf8), at: 257)
        put(Array(prefix.utf8), at: 345)
        // The checksum is the byte sum of the header with its own field read as spaces.
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        let sum = h.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 0x20], at: 148)
        return h
    }

    /// ustar's name (100 bytes) and prefix (155 bytes) for a path, split at a `/`.
    private static func split(_ path: String) throws -> (prefix: String, name: String) {
        if path.utf8.count <= 100 { return ("", path) }
        var slash = path.endIndex
        while let index = path[..<slash].lastIndex(of: "/") {
            let prefix = String(path[..<index]), name = String(path[path.index(after: index)...])
            if prefix.utf8.count <= 155 && name.utf8.count <= 100 && !name.isEmpty { return (prefix, name) }
            slash = index
        }
        throw Failure(description: "the path `\(path)` is too long for a tar header (at most 255 bytes, with a `/` that splits it into 155 and 100)")
    }
}
