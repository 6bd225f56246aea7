/// A minimal POSIX tar writer (ustar, with a PAX header for names over 100 bytes): enough
/// for the build context `POST /build` reads with Go's archive/tar.
struct TarWriter {
    enum EntryType { case file, directory, symlink(String) }

    private(set) var bytes: [UInt8] = []

    mutating func add(path: String, type: EntryType, mode: UInt32, mtime: Int64, body: [UInt8]) {
        var linkName = ""
        if case .symlink(let target) = type { linkName = target }
        if path.utf8.count > 100 || linkName.utf8.count > 100 {
            var records = ""
            if path.utf8.count > 100 { records += Self.paxRecord("path", path) }
            if linkName.utf8.count > 100 { records += Self.paxRecord("linkpath", linkName) }
            let pax = Array(records.utf8)
            appendHeader(name: "PaxHeader", typeFlag: UInt8(ascii: "x"), mode: 0o644, size: pax.count, mtime: mtime, link: "")
            appendBody(pax)
        }
        let flag: UInt8
        switch type {
        case .file: flag = UInt8(ascii: "0")
        case .directory: flag = UInt8(ascii: "5")
        case .symlink: flag = UInt8(ascii: "2")
        }
        var size = 0
        if case .file = type { size = body.count }
        appendHeader(
            name: String(decoding: path.utf8.prefix(100), as: UTF8.self), typeFlag: flag, mode: mode,
            size: size, mtime: mtime, link: String(decoding: linkName.utf8.prefix(100), as: UTF8.self))
        if case .file = type { appendBody(body) }
    }

    /// The archive with its two closing zero blocks.
    mutating func finish() -> [UInt8] {
        bytes += [UInt8](repeating: 0, count: 1024)
        return bytes
    }

    /// "LEN key=value\n", where LEN counts itself.
    static func paxRecord(_ key: String, _ value: String) -> String {
        let rest = " \(key)=\(value)\n".utf8.count
        var length = rest + String(rest).count
        if String(length).count != String(rest).count { length = rest + String(length).count }
        return "\(length) \(key)=\(value)\n"
    }

    private mutating func appendBody(_ body: [UInt8]) {
        bytes += body
        let padding = (512 - body.count % 512) % 512
        bytes += [UInt8](repeating: 0, count: padding)
    }

    private mutating func appendHeader(name: String, typeFlag: UInt8, mode: UInt32, size: Int, mtime: Int64, link: String) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            let padded = String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            put(padded, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(Int64(mode & 0o7777), at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(Int64(size), at: 124, width: 12)
        octal(max(0, mtime), at: 136, width: 12)
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        header[156] = typeFlag
        put(link, at: 157, width: 100)
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        let sum = header.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, width: 6)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
        bytes += header
    }
}
