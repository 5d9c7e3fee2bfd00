/// What the sync engine needs from the config: where the sources go and what stays out.
/// Plain values so the later `dev/devloop.yaml` loader can fill it field by field.
public struct SyncOptions: Sendable, Equatable {
    /// The local source tree.
    public var source: String
    /// The directory in the container the sources go to (the volume's mountPath).
    public var destination: String
    /// The node directory behind that volume (hostPath), when it may be on this machine.
    public var hostPath: String?
    /// Extra ignore patterns, gitignore syntax, relative to `source`.
    public var excludes: [String]
    /// Paths (relative, gitignore syntax) the pod writes itself, such as its build folder: never
    /// deleted at the destination by a reconcile.
    public var podOwnedPaths: [String]
    /// Larger files are left out with a warning.
    public var maxFileSize: Int64 = defaultMaxFileSize

    public static let defaultMaxFileSize: Int64 = 256 << 20

    public init(
        source: String, destination: String, hostPath: String? = nil, excludes: [String] = [],
        podOwnedPaths: [String] = []
    ) {
        self.source = source
        self.destination = destination
        self.hostPath = hostPath
        self.excludes = excludes
        self.podOwnedPaths = podOwnedPaths
    }
}
