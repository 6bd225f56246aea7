import Foundation
import ReconcileCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A build context as the engine will see it: the files `.dockerignore` leaves, their
/// content digest (with a stat cache, so an unchanged context of thousands of files costs
/// one `lstat` each), and the tar stream `POST /build` takes.
public enum BuildContext {
    /// The name an inline Dockerfile (or one outside the context) is sent under.
    public static let inlineDockerfileName = ".reconcile.Dockerfile"

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// One entry of the context, path relative to its root with `/` separators.
    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case file, directory, symlink(String) }
        public var path: String
        public var kind: Kind
        public var size: Int64
        public var mtime: Int64
        public var inode: UInt64
        public var mode: UInt32
    }

    /// The Dockerfile's text; a Dockerfile outside the context is carried inline.
    static func dockerfile(of spec: inout BuildSpec) throws -> String {
        if let inline = spec.dockerfileInline { return inline }
        let full = PathTools.resolve(spec.dockerfile, against: spec.context)
        guard let data = FileManager.default.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
            throw Failure(description: "the Dockerfile \(full) cannot be read")
        }
        let root = spec.context.hasSuffix("/") ? spec.context : spec.context + "/"
        if full.hasPrefix(root) {
            spec.dockerfile = String(full.dropFirst(root.count))
        } else {
            spec.dockerfileInline = text
            spec.dockerfile = inlineDockerfileName
        }
        return text
    }

    /// The context's `.dockerignore`, with Docker's rule that the Dockerfile and the ignore
    /// file itself are always sent.
    public static func ignore(_ spec: BuildSpec) -> DockerIgnore {
        let path = (spec.context as NSString).appendingPathComponent(".dockerignore")
        var text = FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) } ?? ""
        if !text.isEmpty {
            text += "\n!.dockerignore\n!\(spec.dockerfile)\n"
        }
        return DockerIgnore(text)
    }

    /// Every entry of the context that `.dockerignore` does not exclude, in the order the
    /// folders list them (the digest sorts; an order that moves only costs a cache miss).
    public static func entries(root: String, ignore: DockerIgnore) throws -> [Entry] {
        var out: [Entry] = []
        try walk(root: root, relative: "", ignore: ignore, into: &out)
        return out
    }

    private static func walk(root: String, relative: String, ignore: DockerIgnore, into out: inout [Entry]) throws {
        let folder = relative.isEmpty ? root : root + "/" + relative
        guard let dir = opendir(folder) else {
            throw Failure(description: "cannot read the folder \(folder): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let path = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            // Relative to the open folder: the kernel does not walk the whole path again.
            guard fstatat(dirfd(dir), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            let excluded = ignore.excludes(path)
            if type == S_IFDIR {
                if !excluded {
                    out.append(Entry(path: path, kind: .directory, size: 0, mtime: 0, inode: UInt64(info.st_ino), mode: UInt32(info.st_mode & 0o7777)))
                }
                // An excluded folder is still walked when an exception may let a file back in.
                if !excluded || ignore.hasExceptions { try walk(root: root, relative: path, ignore: ignore, into: &out) }
                continue
            }
            if excluded { continue }
            let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            if type == S_IFREG {
                out.append(Entry(path: path, kind: .file, size: Int64(info.st_size), mtime: mtime, inode: UInt64(info.st_ino), mode: UInt32(info.st_mode & 0o7777)))
            } else if type == S_IFLNK {
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlinkat(dirfd(dir), name, &buffer, Int(PATH_MAX))
                let target = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
                out.append(Entry(path: path, kind: .symlink(target), size: 0, mtime: mtime, inode: UInt64(info.st_ino), mode: 0o777))
            }
            // Sockets, fifos and devices are not sent, as with `docker build`.
        }
    }

    // MARK: - Digest

    /// sha256 hex of one file's content.
    static func fileDigest(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            buffer.withUnsafeBufferPointer { hasher.update(UnsafeBufferPointer(rebasing: $0[0..<count])) }
        }
        return SHA256.hex(hasher.finalize())
    }

    /// Each entry's digest: content for files, target for links, the mode for all.
    static func fileDigests(root: String, entries: [Entry], cache: inout StatCache) throws -> [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(entries.count)
        for entry in entries {
            switch entry.kind {
            case .directory:
                continue
            case .symlink(let target):
                out[entry.path] = "link:" + target
            case .file:
                let key = StatCache.Key(size: entry.size, mtime: entry.mtime, inode: entry.inode, mode: entry.mode)
                if let known = cache.files[entry.path], known.key == key {
                    out[entry.path] = known.digest
                } else {
                    let digest = String(entry.mode, radix: 8) + ":" + (try fileDigest(root + "/" + entry.path))
                    cache.files[entry.path] = StatCache.Record(key: key, digest: digest)
                    cache.dirty = true
                    out[entry.path] = digest
                }
            }
        }
        // Files gone since the cache was written.
        if cache.files.count != out.count {
            cache.files = cache.files.filter { out[$0.key] != nil }
            cache.dirty = true
        }
        return out
    }

    /// The digest of a build's inputs other than the context's files: the Dockerfile and
    /// the options that change the image.
    static func inputs(_ spec: BuildSpec, dockerfileText: String) -> String {
        var inputs = SHA256()
        inputs.update("dockerfile \(spec.dockerfile)\u{0}\(SHA256.hex(dockerfileText))\n")
        for key in spec.args.keys.sorted() { inputs.update("arg \(key)\u{0}\(spec.args[key] ?? "")\n") }
        for key in spec.labels.keys.sorted() { inputs.update("label \(key)\u{0}\(spec.labels[key] ?? "")\n") }
        if let target = spec.target { inputs.update("target \(target)\n") }
        if let shm = spec.shmSize { inputs.update("shm \(shm)\n") }
        for host in spec.extraHosts.sorted() { inputs.update("host \(host)\n") }
        if let network = spec.network { inputs.update("network \(network)\n") }
        return SHA256.hex(inputs.finalize())
    }

    /// The digest of what the build produces from: the context's files, the Dockerfile and
    /// the options that change the image (not `no_cache`, `pull` or extra tags). Records
    /// this context under its content tag in `cacheDirectory`, and returns, for the content
    /// tags recorded before, which files differ from them.
    static func digest(
        _ spec: BuildSpec, dockerfileText: String, project: String, service: String, cacheDirectory: String?
    ) throws -> (digest: String, changedSince: [String: [String]]) {
        let entries = try entries(root: spec.context, ignore: ignore(spec))
        let cacheFile = cacheDirectory.map { StatCache.path(in: $0, context: spec.context, project: project, service: service) }
        let inputsDigest = inputs(spec, dockerfileText: dockerfileText)
        let fingerprint = StatCache.fingerprint(entries)
        if let cacheFile, let header = StatCache.read(cacheFile, headerOnly: true), header.fingerprint == fingerprint,
           header.inputs == inputsDigest, let known = header.digest,
           header.current == BuildSpec.contentTag(project: project, service: service, digest: known) {
            // Not one path, size, mtime, inode or mode moved since the cache was written, and
            // the Dockerfile and options are the same: the same context, without reading the
            // per-file records.
            return (known, header.changed)
        }
        if let cacheDirectory { try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true) }
        var cache = cacheFile.flatMap { StatCache.read($0) } ?? StatCache()
        let files = try fileDigests(root: spec.context, entries: entries, cache: &cache)
        if cache.fingerprint != fingerprint {
            cache.fingerprint = fingerprint
            cache.dirty = true
        }


        let digest: String
        if !cache.dirty, cache.inputs == inputsDigest, let known = cache.digest {
            // Every file was a stat-cache hit and none came or went: the same files as last time.
            digest = known
        } else {
            var hasher = SHA256()
            hasher.update("reconcile-build 1\n")
            for path in files.keys.sorted() {
                hasher.update("file \(path)\u{0}\(files[path] ?? "")\n")
            }
            hasher.update(inputsDigest)
            digest = SHA256.hex(hasher.finalize())
            cache.inputs = inputsDigest
            cache.digest = digest
            cache.dirty = true
        }
        let tag = BuildSpec.contentTag(project: project, service: service, digest: digest)

        var changedSince: [String: [String]] = [:]
        if let cacheFile {
            changedSince = cache.record(tag: tag, files: files, directory: (cacheFile as NSString).deletingLastPathComponent, base: cacheFile)
            if cache.dirty { cache.write(cacheFile) }
        }
        return (digest, changedSince)
    }

    /// The line and text of the classic builder's step `number` in a Dockerfile.
    public static func dockerfileLine(ofStep number: Int, in text: String) -> (number: Int, text: String)? {
        let list = DockerfileCheck.instructions(text)
        guard number >= 1 && number <= list.count else { return nil }
        return (list[number - 1].line, list[number - 1].text)
    }

    /// The context's digest as it is now, without the cache: the executor checks it before
    /// a build, so an image is never tagged with the digest of content it was not built from
    /// (a context edited after the plan, or a revision of history whose image is gone).
    public static func currentDigest(_ spec: BuildSpec) throws -> String {
        var copy = spec
        let text = try dockerfile(of: &copy)
        return try digest(copy, dockerfileText: text, project: "", service: "", cacheDirectory: nil).digest
    }

    // MARK: - Archive

    /// The context as the tar stream `POST /build` takes: every entry `.dockerignore`
    /// leaves, plus the Dockerfile when it is inline or outside the context.
    public static func archive(_ spec: BuildSpec) throws -> [UInt8] {
        let list = try entries(root: spec.context, ignore: ignore(spec))
        var tar = TarWriter()
        for entry in list {
            switch entry.kind {
            case .directory:
                tar.add(path: entry.path + "/", type: .directory, mode: entry.mode, mtime: entry.mtime / 1_000_000_000, body: [])
            case .symlink(let target):
                tar.add(path: entry.path, type: .symlink(target), mode: 0o777, mtime: entry.mtime / 1_000_000_000, body: [])
            case .file:
                guard let data = FileManager.default.contents(atPath: spec.context + "/" + entry.path) else {
                    throw Failure(description: "cannot read \(spec.context)/\(entry.path)")
                }
                tar.add(path: entry.path, type: .file, mode: entry.mode, mtime: entry.mtime / 1_000_000_000, body: [UInt8](data))
            }
        }
        if let inline = spec.dockerfileInline {
            tar.add(path: spec.dockerfile, type: .file, mode: 0o644, mtime: 0, body: Array(inline.utf8))
        }
        return tar.finish()
    }
}

/// The per-context cache under the user's cache folder: each file's stat key and digest
/// (so an unchanged file is not read again), and, per content tag recorded, which files
/// differ from the context as it is now. The per-file digests of each recorded tag live
/// in a file of their own, read only when the context changed.
struct StatCache {
    struct Key: Equatable { var size: Int64; var mtime: Int64; var inode: UInt64; var mode: UInt32 }
    struct Record { var key: Key; var digest: String }

    var files: [String: Record] = [:]
    /// The content tag of the context when the cache was written.
    var current: String?
    /// The digest of the context's other inputs (Dockerfile, options) and the context's
    /// digest when the cache was written.
    var inputs: String?
    var digest: String?
    /// A digest of every entry's path and stat key (`fingerprint(_:)`) when the cache was written.
    var fingerprint: String?
    /// Content tag → the files that differ from `current` (sorted).
    var changed: [String: [String]] = [:]
    var dirty = false

    /// How many earlier contexts are remembered for "context changed (…)".
    static let snapshotsKept = 5

    static func path(in directory: String, context: String, project: String, service: String) -> String {
        let key = String(SHA256.hex("\(context)\u{0}\(project)\u{0}\(service)").prefix(24))
        return (directory as NSString).appendingPathComponent("\(key).stat")
    }

    /// Lines: `V 1`, `T <tag>`, `D <inputs digest> <digest>`, `S <fingerprint>`, `C <tag>\t<file>\t…`, `F <size> <mtime> <inode> <mode> <digest>\t<path>`.
    /// The digest of the walk's stat data: equal digests mean no entry came, went or changed
    /// its size, mtime, inode or mode.
    static func fingerprint(_ entries: [BuildContext.Entry]) -> String {
        var hasher = SHA256()
        // Raw bytes, not formatted text: this runs on every load, over every entry.
        var record: [UInt8] = []
        record.reserveCapacity(256)
        for entry in entries {
            record.removeAll(keepingCapacity: true)
            record.append(contentsOf: entry.path.utf8)
            record.append(0)
            switch entry.kind {
            case .directory: record.append(UInt8(ascii: "d"))
            case .symlink(let target):
                record.append(UInt8(ascii: "l"))
                record.append(contentsOf: target.utf8)
            case .file:
                record.append(UInt8(ascii: "f"))
                withUnsafeBytes(of: entry.size.littleEndian) { record.append(contentsOf: $0) }
                withUnsafeBytes(of: entry.mtime.littleEndian) { record.append(contentsOf: $0) }
                withUnsafeBytes(of: entry.inode.littleEndian) { record.append(contentsOf: $0) }
                withUnsafeBytes(of: entry.mode.littleEndian) { record.append(contentsOf: $0) }
            }
            record.append(0)
            record.withUnsafeBufferPointer { hasher.update($0) }
        }
        return SHA256.hex(hasher.finalize())
    }

    /// `headerOnly` stops before the per-file records.
    static func read(_ path: String, headerOnly: Bool = false) -> StatCache? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text: String
        if headerOnly, let end = data.firstRange(of: Data("\nF ".utf8))?.lowerBound {
            text = String(decoding: data[data.startIndex..<end], as: UTF8.self)
        } else {
            text = String(decoding: data, as: UTF8.self)
        }
        var cache = StatCache()
        var first = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if first {
                guard line == "V 1" else { return nil }
                first = false
                continue
            }
            switch line.first {
            case "T": cache.current = String(line.dropFirst(2))
            case "S": cache.fingerprint = String(line.dropFirst(2))
            case "D":
                let parts = line.dropFirst(2).split(separator: " ")
                if parts.count == 2 {
                    cache.inputs = String(parts[0])
                    cache.digest = String(parts[1])
                }
            case "C":
                let parts = line.dropFirst(2).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                if let tag = parts.first { cache.changed[tag] = Array(parts.dropFirst()) }
            case "F":
                guard let tab = line.firstIndex(of: "\t") else { continue }
                let fields = line[line.index(line.startIndex, offsetBy: 2)..<tab].split(separator: " ")
                guard fields.count == 5, let size = Int64(fields[0]), let mtime = Int64(fields[1]), let inode = UInt64(fields[2]),
                      let mode = UInt32(fields[3]) else { continue }
                cache.files[String(line[line.index(after: tab)...])] = Record(
                    key: Key(size: size, mtime: mtime, inode: inode, mode: mode), digest: String(fields[4]))
            default: continue
            }
        }
        return cache
    }

    func write(_ path: String) {
        var text = "V 1\n"
        if let current { text += "T \(current)\n" }
        if let inputs, let digest { text += "D \(inputs) \(digest)\n" }
        if let fingerprint { text += "S \(fingerprint)\n" }
        for tag in changed.keys.sorted() { text += "C " + ([tag] + (changed[tag] ?? [])).joined(separator: "\t") + "\n" }
        for (file, record) in files.sorted(by: { $0.key < $1.key }) where !file.contains("\n") {
            text += "F \(record.key.size) \(record.key.mtime) \(record.key.inode) \(record.key.mode) \(record.digest)\t\(file)\n"
        }
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Written aside and renamed, so a concurrent reader sees the old or the new cache, whole.
        let temporary = path + ".\(getpid()).tmp"
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) {
            if rename(temporary, path) != 0 { unlink(temporary) }
        }
    }

    /// Records `files` as the context of `tag`, returning for each earlier tag the files
    /// that differ. Only when the tag is new are the earlier tags' file lists read.
    mutating func record(tag: String, files: [String: String], directory: String, base: String) -> [String: [String]] {
        if current == tag { return changed }
        func snapshotPath(_ tag: String) -> String { base + "." + String(SHA256.hex(tag).prefix(16)) + ".files" }
        var snapshot = ""
        for (file, digest) in files.sorted(by: { $0.key < $1.key }) where !file.contains("\n") { snapshot += "\(digest)\t\(file)\n" }
        let fresh = snapshotPath(tag)
        _ = FileManager.default.createFile(atPath: fresh, contents: Data(snapshot.utf8))

        var tags = Array(changed.keys)
        if let current { tags.append(current) }
        var out: [String: [String]] = [:]
        // Newest first by the snapshot file's age; the oldest past the limit are forgotten.
        let dated = tags.compactMap { old -> (String, Date)? in
            let attributes = try? FileManager.default.attributesOfItem(atPath: snapshotPath(old))
            return (attributes?[.modificationDate] as? Date).map { (old, $0) }
        }.sorted { $0.1 > $1.1 }
        for (index, (old, _)) in dated.enumerated() where old != tag {
            guard index < Self.snapshotsKept,
                  let data = FileManager.default.contents(atPath: snapshotPath(old)),
                  let text = String(data: data, encoding: .utf8) else {
                unlink(snapshotPath(old))
                continue
            }
            var before: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let tab = line.firstIndex(of: "\t") else { continue }
                before[String(line[line.index(after: tab)...])] = String(line[..<tab])
            }
            let differing = Set(before.keys).union(files.keys).filter { before[$0] != files[$0] }.sorted()
            out[old] = differing
        }
        current = tag
        changed = out
        dirty = true
        return out
    }
}

/// Classic-builder limits a Dockerfile runs into, found before anything is sent.
enum DockerfileCheck {
    struct Problem: Equatable { var line: Int; var feature: String }

    /// One logical instruction: its first physical line and its text with continuations joined.
    struct Instruction: Equatable { var line: Int; var text: String }

    /// Instructions in order (comments, blank lines and parser directives left out).
    static func instructions(_ text: String) -> [Instruction] {
        var out: [Instruction] = []
        var pending: Instruction?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") || (trimmed.isEmpty && pending == nil) { continue }
            let continued = trimmed.hasSuffix("\\")
            let body = continued ? String(trimmed.dropLast()) : trimmed
            if var current = pending {
                current.text += " " + body
                pending = current
            } else {
                pending = Instruction(line: index + 1, text: body)
            }
            if !continued, let done = pending {
                out.append(done)
                pending = nil
            }
        }
        if let pending { out.append(pending) }
        return out
    }

    static func buildKitOnly(_ text: String) -> [Problem] {
        var problems: [Problem] = []
        // Parser directives come first, before any instruction or other comment.
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("#") else { break }
            let directive = line.dropFirst().trimmingCharacters(in: .whitespaces).lowercased()
            if directive.hasPrefix("syntax") && directive.dropFirst(6).trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                problems.append(Problem(line: index + 1, feature: "the `# syntax=` directive (a BuildKit frontend)"))
            }
        }
        for instruction in instructions(text) {
            let words = instruction.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first?.uppercased() else { continue }
            let flags = words.dropFirst().prefix { $0.hasPrefix("--") }
            let only: [String: [String]] = [
                "RUN": ["--mount", "--network", "--security"],
                "COPY": ["--link", "--parents", "--exclude"],
                "ADD": ["--link", "--checksum", "--keep-git-dir", "--exclude"],
            ]
            for flag in flags {
                let name = String(flag.prefix { $0 != "=" })
                if only[keyword]?.contains(name) == true {
                    problems.append(Problem(line: instruction.line, feature: "`\(keyword) \(name)`"))
                }
            }
            if ["RUN", "COPY", "ADD"].contains(keyword), words.dropFirst().contains(where: { $0.hasPrefix("<<") && $0.count > 2 }) {
                problems.append(Problem(line: instruction.line, feature: "a heredoc (`\(keyword) <<…`)"))
            }
        }
        return problems
    }
}
