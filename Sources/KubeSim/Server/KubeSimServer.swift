import Foundation
import LockedValue
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// kubesim in one process: the API server (HTTPS on 127.0.0.1), the controllers and the kubelet, with
/// state in `directory`. Tests start one with `start(...)`, point kubectl or a client at
/// `kubeconfigPath`, inject faults, and `stop()` it.
public final class KubeSimServer: Sendable {
    public struct Options: Sendable {
        public var port: Int
        public var bookmarkInterval: Duration
        /// The release whose streaming protocols and `/version` the API server has.
        public var profile: APIServerProfile
        /// The time CronJobs fire by (a `ManualClock` lets a test bring the next minute at once).
        public var clock: any ControllerClock

        public init(
            port: Int = 0, bookmarkInterval: Duration = .seconds(30), profile: APIServerProfile = .current,
            clock: any ControllerClock = SystemClock()
        ) {
            self.port = port
            self.bookmarkInterval = bookmarkInterval
            self.profile = profile
            self.clock = clock
        }
    }

    public let directory: URL
    public let kubeconfigPath: String
    public let port: Int
    public let runtime: PodRuntime
    /// A bearer token from `DIR/tokens.csv`.
    public let token: String
    public let api: APIService
    /// Every request received, once a test starts it (off by default).
    public let requests: RequestRecorder

    let kubelet: Kubelet
    private let router: APIRouter
    private let tls: NIOSSLContext
    private let streams: OpenStreams
    private let group: MultiThreadedEventLoopGroup
    private let listener: Mutex<APIListener?>
    private let tasks: Mutex<[Task<Void, Never>]>
    private let responseDelay: Locked<Duration>

    private init(
        directory: URL, port: Int, runtime: PodRuntime, token: String, api: APIService, kubelet: Kubelet,
        router: APIRouter, tls: NIOSSLContext, streams: OpenStreams, group: MultiThreadedEventLoopGroup,
        listener: APIListener, tasks: [Task<Void, Never>], responseDelay: Locked<Duration>, requests: RequestRecorder
    ) {
        self.directory = directory
        self.kubeconfigPath = directory.appendingPathComponent("kubeconfig").path
        self.port = port
        self.runtime = runtime
        self.token = token
        self.api = api
        self.kubelet = kubelet
        self.router = router
        self.tls = tls
        self.streams = streams
        self.group = group
        self.listener = Mutex(listener)
        self.tasks = Mutex(tasks)
        self.responseDelay = responseDelay
        self.requests = requests
    }

    /// Starts kubesim with its state in `directory` (created if needed) and returns once it serves.
    public static func start(directory: URL, runtime: PodRuntime, options: Options = Options()) async throws
        -> KubeSimServer
    {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = Certificates(directory: directory.appendingPathComponent("pki"))
        try await certificates.ensure()
        let tokenFile = TokenFile(url: directory.appendingPathComponent("tokens.csv"))
        try tokenFile.ensure()
        let tokens = try tokenFile.load()
        let store = try ObjectStore(persistence: StorePersistence(file: directory.appendingPathComponent("state.json")))
        let api = APIService(store: store)
        await NamespaceController.ensureDefaults(api)
        let kubelet = Kubelet(api: api, runtime: runtime)
        let streams = OpenStreams()
        let responseDelay = Locked(Duration.zero)
        let tls = try APIListener.tlsContext(certificates: certificates)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        // The port is known only after binding (port 0): the router learns it from the listener.
        let pods = PodStreams(
            api: api, runtime: runtime, kubelet: kubelet, profile: options.profile, sessions: streams)
        let lazyRouter = LazyResponder()
        let requests = RequestRecorder()
        let listener: APIListener
        do {
            listener = try await APIListener.bind(
                port: options.port, tls: tls, responder: lazyRouter, streams: streams, recorder: requests,
                group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw KubeSimError.configuration("cannot listen on 127.0.0.1:\(options.port): \(error)")
        }
        let router = APIRouter(
            api: api, pods: pods, tokens: tokens, port: listener.port, responseDelay: responseDelay,
            bookmarkInterval: options.bookmarkInterval, profile: options.profile)
        lazyRouter.target.withLock { $0 = router }
        try KubeconfigWriter.write(
            to: directory.appendingPathComponent("kubeconfig"), port: listener.port, certificates: certificates)
        let tasks = [
            Task {
                await ControllerLoop(
                    api: api, volumes: directory.appendingPathComponent("volumes"), clock: options.clock
                ).run()
            },
            Task { await kubelet.run() },
        ]
        return KubeSimServer(
            directory: directory, port: listener.port, runtime: runtime, token: try tokenFile.firstToken() ?? "",
            api: api, kubelet: kubelet, router: router, tls: tls, streams: streams, group: group, listener: listener,
            tasks: tasks, responseDelay: responseDelay, requests: requests)
    }

    /// Stops serving and stops every pod process.
    public func stop() async {
        for task in tasks.withLock({ $0 }) { task.cancel() }
        await kubelet.shutdown()
        streams.cutAll()
        if let listener = listener.withLock({ $0 }) { await listener.close() }
        listener.withLock { $0 = nil }
        await api.store.closeAll()
        await streams.drainRequests(within: .seconds(5))
        try? await group.shutdownGracefully()
    }

    // MARK: Fault injection

    /// Cuts every open watch, log, exec and port-forward stream, as a dropped connection would.
    public func cutStreams() {
        streams.cutAll()
    }

    /// Sends every open watch an ERROR event with a 410 Status: clients must relist.
    public func expireWatches() async {
        await api.store.expireWatches()
    }

    /// Closes the listener and every connection, then serves again on the same port with the same state.
    public func restartAPIServer() async throws {
        await takeAPIServerDown()
        try await bringAPIServerUp()
    }

    /// An outage: the port refuses connections and every open one is closed; pods keep running.
    public func takeAPIServerDown() async {
        if let old = listener.withLock({ $0 }) { await old.close() }
        listener.withLock { $0 = nil }
        streams.cutAll()
    }

    /// Serves again on the same port with the same state, after `takeAPIServerDown`.
    public func bringAPIServerUp() async throws {
        let fresh = try await APIListener.bind(
            port: port, tls: tls, responder: router, streams: streams, recorder: requests, group: group)
        listener.withLock { $0 = fresh }
    }

    /// Every response waits this long first (zero: none).
    public func setResponseDelay(_ delay: Duration) {
        responseDelay.withLock { $0 = delay }
    }

    /// Kills a container's process as if it crashed; the runtime restarts it per the restart policy.
    public func killContainer(namespace: String, pod: String, container: String) async throws {
        let object = try await api.get(.pods, namespace: namespace, name: pod)
        await runtime.killContainer(uid: object.uid, container: container)
    }

    /// Deletes a pod as `kubectl delete pod` does (graceful unless a grace period of 0 is given).
    public func deletePod(namespace: String, name: String, gracePeriodSeconds: Int? = nil) async throws {
        var options = DeleteOptions()
        options.gracePeriodSeconds = gracePeriodSeconds
        _ = try await api.delete(.pods, namespace: namespace, name: name, options: options)
    }
}

/// Lets the listener bind before the router (which needs the bound port) exists.
private final class LazyResponder: APIResponder {
    let target = Locked<APIRouter?>(nil)

    func respond(_ request: HTTPRequest) async -> HTTPResponse {
        guard let router = target.current else {
            return .error(APIError(code: 503, reason: "ServiceUnavailable", message: "starting"))
        }
        return await router.respond(request)
    }

    func planUpgrade(_ request: HTTPRequest, offered: [String], spdy: Bool) async -> UpgradePlan? {
        await target.current?.planUpgrade(request, offered: offered, spdy: spdy)
    }

    func user(head: HTTPRequestHead, channel: Channel) async -> UserInfo? {
        await target.current?.user(head: head, channel: channel)
    }
}

extension KubeSimServer {
    /// Starts kubesim with the bubblewrap runtime, pods' state under `directory/pods`.
    public static func start(directory: URL, options: Options = Options()) async throws -> KubeSimServer {
        let runtime = BubblewrapPodRuntime(
            configuration: BubblewrapRuntimeConfiguration(stateDirectory: directory.appendingPathComponent("pods")))
        return try await start(directory: directory, runtime: runtime, options: options)
    }

    /// Starts kubesim in a new temporary folder (for tests); `stop()` it when done.
    public static func startTemporary(port: Int = 0) async throws -> KubeSimServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kubesim-\(UUID().uuidString.prefix(8).lowercased())")
        return try await start(directory: directory, options: Options(port: port))
    }
}
