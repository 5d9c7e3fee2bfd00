/// The model of `dev/devloop.yaml`: what one project tells devloop about its dev loop. Paths are
/// already resolved (absolute) when the loader hands this out; the loader names file, line and column
/// for anything wrong before any of it reaches a cluster.
public struct DevLoopConfig: Sendable, Equatable {
    /// The config file this came from (absolute).
    public var file: String
    /// The project root (`root:`, relative to the config file's folder; default that folder). Every
    /// other relative path in the file resolves against it.
    public var root: String
    /// The dev namespace: created and labelled `devloop.dev/dev=true` by `up`, never `default` or `kube-*`.
    public var namespace: String
    /// Manifest files, folders (every *.yaml/*.yml/*.json in it, sorted) or kustomization folders, in order.
    public var manifests: [String]
    public var pod: PodSelection
    /// At least one mapping.
    public var sync: [SyncMapping]
    public var restart: RestartPolicy?
    /// Default: one forward 127.0.0.1:8080 → 5000.
    public var forwards: [ForwardSpec]
    public var transport: TransportChoice
    /// Where `namespace:` stands in `file`: a refusal only the cluster can make (the namespace exists
    /// without the dev label) still names FILE:LINE:COLUMN.
    public var namespacePlace = ConfigPlace(line: 1, column: 1)

    public init(
        file: String, root: String, namespace: String, manifests: [String], pod: PodSelection,
        sync: [SyncMapping], restart: RestartPolicy? = nil, forwards: [ForwardSpec] = [ForwardSpec()],
        transport: TransportChoice = .auto
    ) {
        self.file = file
        self.root = root
        self.namespace = namespace
        self.manifests = manifests
        self.pod = pod
        self.sync = sync
        self.restart = restart
        self.forwards = forwards
        self.transport = transport
    }

    /// The label `up` puts on the namespace it creates, and requires on one that exists.
    public static let devLabel = (key: "devloop.dev/dev", value: "true")

    /// A problem with the `namespace` field found against the cluster, located like the loader's own.
    public func namespaceError(_ message: String) -> ConfigError {
        ConfigError(
            file: file, line: namespacePlace.line, column: namespacePlace.column, field: "namespace", message: message)
    }
}

/// A 1-based line and column in a config file.
public struct ConfigPlace: Sendable, Equatable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// Which pod is the dev pod, and which of its containers devloop works with.
public struct PodSelection: Sendable, Equatable {
    /// Label selector, `key=value` pairs (YAML map or `a=b,c=d` string); never empty.
    public var selector: [String: String]
    /// The container; nil means the pod's default container (annotation, else the first).
    public var container: String?
    /// How long `up` waits for the pod to become ready (`readyTimeout`, e.g. `5m`); default 10 minutes,
    /// since the first in-pod build of a Swift app takes minutes.
    public var readyTimeout: Duration

    public init(selector: [String: String], container: String? = nil, readyTimeout: Duration = .seconds(600)) {
        self.selector = selector
        self.container = container
        self.readyTimeout = readyTimeout
    }

    /// `a=b,c=d`, keys sorted: the form the API's labelSelector takes.
    public var labelSelector: String {
        selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

/// One local folder synced to one folder in the container.
public struct SyncMapping: Sendable, Equatable {
    /// Local folder (`from:`), absolute after loading.
    public var local: String
    /// Folder in the container (`to:`), absolute.
    public var remote: String
    /// Where the node's hostPath directory behind `remote` is reachable from this machine (`hostPath:`),
    /// absolute; nil when only exec+tar can reach it.
    public var hostPath: String?
    /// gitignore-syntax patterns relative to `local` (`exclude:`), on top of .gitignore/.dockerignore/.devloopignore.
    public var excludes: [String]
    /// Paths the pod writes itself (`podOwned:`, e.g. `.build`): never deleted at the destination.
    public var podOwned: [String]

    public init(
        local: String, remote: String, hostPath: String? = nil, excludes: [String] = [], podOwned: [String] = []
    ) {
        self.local = local
        self.remote = remote
        self.hostPath = hostPath
        self.excludes = excludes
        self.podOwned = podOwned
    }

    /// What the sync engine needs of this mapping.
    public var syncOptions: SyncOptions {
        SyncOptions(source: local, destination: remote, hostPath: hostPath, excludes: excludes, podOwnedPaths: podOwned)
    }
}

/// Which changes need a rebuild and restart of the in-pod server, and how the supervisor does them.
public struct RestartPolicy: Sendable, Equatable {
    /// gitignore-syntax patterns relative to the mapping's local folder (`paths:`), e.g. `*.swift`,
    /// `/Package.swift`. A batch touching none of them only syncs.
    public var paths: [String]
    /// The build command run in the container (`build:`, through /bin/sh), or nil for none.
    public var build: String?
    /// The server command run in the container (`run:`, through /bin/sh).
    public var run: String

    public init(paths: [String], build: String? = nil, run: String) {
        self.paths = paths
        self.build = build
        self.run = run
    }
}

/// A local port forwarded to a container port of the current ready dev pod.
public struct ForwardSpec: Sendable, Equatable {
    /// `127.0.0.1` unless the config names another address explicitly.
    public var address: String
    public var localPort: UInt16
    /// A number, or a container port's name, resolved against the pod spec.
    public var remotePort: PortReference
    /// How long a connection that arrives while no ready server exists waits (`waitTimeout`, default 30 s).
    public var waitTimeout: Duration

    public init(
        address: String = "127.0.0.1", localPort: UInt16 = 8080, remotePort: PortReference = .number(5000),
        waitTimeout: Duration = .seconds(30)
    ) {
        self.address = address
        self.localPort = localPort
        self.remotePort = remotePort
        self.waitTimeout = waitTimeout
    }
}

public enum PortReference: Sendable, Equatable, CustomStringConvertible {
    case number(UInt16)
    case name(String)

    public var description: String {
        switch self {
        case .number(let port): "\(port)"
        case .name(let name): name
        }
    }
}

public enum TransportChoice: String, Sendable, Equatable, CaseIterable {
    case auto
    case hostPath
    case exec
}
