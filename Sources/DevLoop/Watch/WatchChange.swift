/// What the watcher saw, in tree-relative paths. The engine treats paths as "look at this again":
/// it compares the local state with what it shipped, so a change only has to say where to look.
public enum WatchChange: Sendable, Equatable {
    /// A file or directory entry changed, appeared or vanished.
    case path(String)
    /// A directory appeared (created or moved in): everything below it must be looked at.
    case tree(String)
    /// Only metadata (mode) changed.
    case attributes(String)
    /// An entry was renamed within the tree.
    case renamed(from: String, to: String)
    /// Events were lost (queue overflow) or ignore rules changed: compare everything.
    case rescan
}

/// Everything the watcher read in one go, plus the barriers that it covers.
public struct WatchBatch: Sendable {
    public var changes: [WatchChange]
    /// Tokens from `TreeWatcher.barrier()`: every change made before the token was requested is in
    /// this batch or an earlier one.
    public var barriers: [UInt64]
}
