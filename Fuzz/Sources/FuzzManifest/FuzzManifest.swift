import Foundation
import ReconcileManifest

/// An empty folder the manifest is loaded from: what it names on disk is not there.
let workingDirectory: String = {
    let path = NSTemporaryDirectory() + "reconcile-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    ManifestFuzzing.manifest(bytes, workingDirectory: workingDirectory)
    return 0
}
