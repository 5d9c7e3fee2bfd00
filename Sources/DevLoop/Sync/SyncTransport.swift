/// Moves batches of changes to the destination and reports what is there.
public protocol SyncTransport: Sendable {
    /// Shown to the user: "hostPath" or "exec+tar".
    var name: String { get }
    /// Applies the batch in order and returns the files it skipped because the local file vanished
    /// meanwhile, and the targets of renames whose source the destination no longer had; those are
    /// removed at the destination too, so that it holds no stale copy the engine no longer knows
    /// about (the engine ships a skipped rename's target as new). Throws when the destination may now differ from what the
    /// batch describes; the engine then reconciles.
    @discardableResult
    func apply(_ batch: SyncBatch) async throws -> [String]
    /// Every entry under the destination root, keyed by tree-relative path.
    func listDestination() async throws -> [String: DestinationEntry]
    /// SHA-256 (hex) of destination files, for files whose size matches but mtime does not.
    func hashes(of paths: [String]) async throws -> [String: String]
    /// Ends what the transport keeps open between batches (exec+tar's exec), without waiting for
    /// the destination; a later batch opens it again. The engine calls it when it stops.
    func close() async
}

extension SyncTransport {
    public func close() async {}
}

public struct SyncTransportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
