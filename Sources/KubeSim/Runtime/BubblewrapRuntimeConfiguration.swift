import Foundation

/// How `BubblewrapPodRuntime` runs pods.
public struct BubblewrapRuntimeConfiguration: Sendable {
    /// Where pods keep their files, one folder each (`NAMESPACE_NAME_UID/`: emptyDir volumes, each
    /// container's /tmp, home and logs), removed when the pod stops.
    public var stateDirectory: URL
    public var bubblewrapPath: String
    /// The host's top-level folders a pod sees, read-only (symlinks such as /bin -> usr/bin are
    /// re-created). /opt holds the Swift toolchain. /root is each container's own writable home, not the
    /// host's; /home, /var, /srv, /work and the like stay out (a pod reaches host files through volumes).
    public var hostFolders: [String]
    /// PATH for container processes that do not set it (there is no image to take it from).
    public var defaultPath: String
    /// The restart back-off: none before the first restart, then `backOffBase` doubling up to `backOffMax`
    /// (kubelet: 10 s to 5 min). It starts over once an instance ran for twice `backOffMax`.
    public var backOffBase: Duration
    public var backOffMax: Duration

    public init(
        stateDirectory: URL, bubblewrapPath: String = "/usr/bin/bwrap",
        hostFolders: [String] = ["bin", "etc", "lib", "lib32", "lib64", "libx32", "opt", "sbin", "usr"],
        defaultPath: String? = nil, backOffBase: Duration = .seconds(10), backOffMax: Duration = .seconds(300)
    ) {
        self.stateDirectory = stateDirectory
        self.bubblewrapPath = bubblewrapPath
        self.hostFolders = hostFolders
        self.defaultPath = defaultPath ?? Self.standardPath
        self.backOffBase = backOffBase
        self.backOffMax = backOffMax
    }

    /// Debian's PATH, plus the Swift toolchain's folder when it is installed in /opt/swift.
    static var standardPath: String {
        var folders = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        if FileManager.default.isExecutableFile(atPath: "/opt/swift/usr/bin/swift") {
            folders.append("/opt/swift/usr/bin")
        }
        return folders.joined(separator: ":")
    }

    /// The delay before restart number `restart` (0 = the first restart).
    func backOff(beforeRestart restart: Int) -> Duration {
        guard restart > 0 else { return .zero }
        var delay = backOffBase
        for _ in 1..<restart {
            delay *= 2
            if delay >= backOffMax { return backOffMax }
        }
        return min(delay, backOffMax)
    }
}
