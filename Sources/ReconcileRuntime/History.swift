import DockerEngine
import Foundation
import ReconcileCore

/// A project's revision history, kept with the engine so that every client of that engine
/// (a CI runner, the controller, a laptop) reads the same one, and losing a client loses
/// nothing: as Helm keeps releases in the cluster.
///
/// Each revision is one labelled volume, `reconcile-history-<project>-<number>`, whose
/// `io.reconcile.history.record` label holds the record as JSON. The volume holds no data:
/// the local driver keeps only its metadata. A create is one engine call that either makes
/// the volume with all its labels or does not, so a process killed while writing leaves
/// either the whole revision or none of it, never half of one. Records are written once
/// and never changed. Writers hold the project's `EngineLock`; numbers are still claimed
/// by comparing the created volume's record with ours, so two writers can never share one.
/// Only the newest `limit` revisions are kept.
public struct History: Sendable {
    public let project: String
    let client: any ContainerEngine

    public init(client: any ContainerEngine, project: String) {
        self.client = client
        self.project = project
    }

    public static let defaultLimit = 20

    public static func volumeName(project: String, number: Int) -> String {
        "reconcile-history-\(project)-\(String(format: "%06d", number))"
    }

    /// Every readable revision, oldest first, and the names of volumes whose record could
    /// not be read (written by a newer reconcile, or damaged by hand).
    public func list() async throws -> (revisions: [Revision], unreadable: [String]) {
        let volumes = try await client.listVolumes(filters: ["label": ["\(LabelKey.history)=\(project)"]])
        var revisions: [Revision] = []
        var unreadable: [String] = []
        for volume in volumes {
            guard let text = volume.labels?[LabelKey.historyRecord], let revision = try? Revision.decode(text),
                  revision.project == project
            else {
                unreadable.append(volume.name)
                continue
            }
            revisions.append(revision)
        }
        return (revisions.sorted { $0.number < $1.number }, unreadable.sorted())
    }

    /// Records a revision under the next free number and drops the oldest beyond `limit`.
    /// `make` receives the number to use; `existing` saves listing again when the caller has.
    @discardableResult
    public func append(
        limit: Int = History.defaultLimit, existing known: (revisions: [Revision], unreadable: [String])? = nil,
        _ make: (Int) -> Revision
    ) async throws -> Revision {
        let existing: (revisions: [Revision], unreadable: [String])
        if let known { existing = known } else { existing = try await list() }
        let numbers = existing.revisions.map(\.number) + existing.unreadable.compactMap { Int($0.split(separator: "-").last ?? "") }
        var number = (numbers.max() ?? 0) + 1
        for _ in 0..<5 {
            let revision = make(number)
            let record = try revision.encoded()
            let labels = [
                LabelKey.history: project, LabelKey.historyRevision: String(number), LabelKey.historyRecord: record,
                LabelKey.version: "1",
            ]
            let volume = try await client.createVolume(
                VolumeCreateRequest(name: Self.volumeName(project: project, number: number), labels: labels))
            if volume.labels?[LabelKey.historyRecord] == record {
                await prune(keeping: limit, after: existing.revisions.map(\.number) + [number])
                return revision
            }
            // The engine answered with a volume that was already there: the number is taken.
            number += 1
        }
        throw ExecutionError("could not find a free revision number for \(project) in history")
    }

    private func prune(keeping limit: Int, after numbers: [Int]) async {
        let sorted = numbers.sorted()
        guard limit > 0, sorted.count > limit else { return }
        for number in sorted.prefix(sorted.count - limit) {
            // Best effort: a revision left over is removed by the next write.
            try? await client.removeVolume(Self.volumeName(project: project, number: number))
        }
    }

    /// Removes every revision of the project (`reconcile destroy --history`).
    public func removeAll() async throws -> Int {
        let volumes = try await client.listVolumes(filters: ["label": ["\(LabelKey.history)=\(project)"]])
        for volume in volumes { try await client.removeVolume(volume.name) }
        return volumes.count
    }
}
