import Foundation

/// What the sync engine did with one batch.
public enum SyncEvent: Sendable, Equatable {
    /// A batch of watched changes reached the destination.
    case shipped(SyncReport)
    /// A batch failed; a reconcile follows.
    case failed(String)
    /// A full comparison brought the destination in line (start, recovery, replaced pod).
    case reconciled(SyncReport)
}

/// The paths one batch touched, the bytes of file content it carried, and how long it took.
public struct SyncReport: Sendable, Equatable {
    public var paths: [String]
    public var bytes: Int64
    public var duration: Duration

    public init(paths: [String], bytes: Int64, duration: Duration) {
        self.paths = paths
        self.bytes = bytes
        self.duration = duration
    }

    init(_ batch: SyncBatch, root: String, since start: ContinuousClock.Instant) {
        paths = batch.operations.map(\.path)
        bytes = batch.operations.reduce(into: Int64(0)) { total, operation in
            if case .file(let path, _) = operation { total += LocalEntry.stat(root + "/" + path)?.size ?? 0 }
        }
        duration = ContinuousClock.now - start
    }
}
