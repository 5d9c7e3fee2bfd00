import Foundation

/// Everything a session reports, in order: the CLI prints it, `status` reads the state it leads to.
public enum SessionEvent: Sendable, Equatable {
    case cluster(ClusterSummary)
    case namespace(name: String, created: Bool)
    case applied([AppliedObject])
    /// What `up` waits for now (scheduled, container running, building, ready).
    case waiting(String)
    case podRunning(PodTarget)
    case podReady(PodTarget)
    case transport(local: String, name: String, reason: String)
    case initialSync(local: String, SyncReport)
    case forwarding(address: String, localPort: UInt16, remotePort: String)
    /// One change went through: synced, maybe rebuilt and restarted, and answered again after `saveToServing`.
    case changed(ChangeReport)
    case syncFailed(String)
    case restartFailed(output: String)
    case podReplaced(old: PodTarget, new: PodTarget)
    case reconciled(local: String, SyncReport)
    case forward(ForwardEvent)
    case log(LogRecord)
    case podWarning(String)
    /// The kubelet restarted the dev container: its process ended (a crash, or killed).
    case containerCrashed(ContainerCrash)
    /// The pod serves again after `crashes` crashes, the first of them `after` ago.
    case containerRecovered(pod: String, crashes: Int, after: Duration)
    /// The API server stopped answering the pod watch (once per outage); devloop retries with back-off.
    case clusterUnreachable(String)
    /// The API server answers again, `after` the outage began.
    case clusterBack(after: Duration)
    case stopping
    case namespaceDeleted(String)
}

/// The cluster a session runs against (no credentials).
public struct ClusterSummary: Sendable, Equatable, Codable {
    /// `kubeconfig` or `embedded` (kubesim started by this session).
    public var kind: String
    public var kubeconfig: String
    public var context: String
    public var server: String

    public init(kind: String, kubeconfig: String, context: String, server: String) {
        self.kind = kind
        self.kubeconfig = kubeconfig
        self.context = context
        self.server = server
    }
}

/// One save, as the status line shows it.
public struct ChangeReport: Sendable, Equatable {
    public var sync: SyncReport
    /// nil when the batch touched no restart path (templates, static files: the server reloads them).
    public var restart: RestartOutcome?
    /// From the batch being picked up to the forwarded port answering again; nil without a forward.
    public var saveToServing: Duration?
}
