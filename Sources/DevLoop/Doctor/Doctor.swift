import Foundation

/// One line of the doctor's verdict.
public struct DoctorCheck: Sendable, Codable, Equatable {
    public var name: String
    public var ok: Bool
    public var detail: String
    public var fix: String?
}

/// `devloop doctor`: can devloop work with this cluster? Everything it found, never a secret.
public struct DoctorReport: Sendable, Codable {
    public var kubeconfigFiles: [String] = []
    public var context: String?
    public var cluster: String?
    public var user: String?
    public var server: String?
    public var serverVersion: String?
    public var namespace: String?
    public var tlsTrust: String?
    public var auth: String?
    public var warnings: [String] = []
    public var checks: [DoctorCheck] = []
    /// Bad input (kubeconfig unreadable, unknown context): nothing could be checked.
    public var configurationError: String?

    /// 0 devloop can work, 1 a check failed, 2 bad input.
    public var exitCode: Int32 {
        if configurationError != nil { return 2 }
        return checks.allSatisfy(\.ok) ? 0 : 1
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public func text() -> String {
        var lines: [String] = []
        func field(_ name: String, _ value: String?) {
            if let value { lines.append(name.padding(toLength: 12, withPad: " ", startingAt: 0) + value) }
        }
        field("kubeconfig", kubeconfigFiles.isEmpty ? nil : kubeconfigFiles.joined(separator: ", "))
        field("context", context.map { "\($0) (cluster \(cluster ?? "?"), user \(user ?? "?"))" })
        field("server", server.map { $0 + (serverVersion.map { " (Kubernetes \($0))" } ?? "") })
        field("namespace", namespace)
        field("TLS trust", tlsTrust)
        field("auth", auth)
        if let configurationError { lines.append("error: \(configurationError)") }
        for check in checks {
            var line = (check.ok ? "[ok]   " : "[FAIL] ") + check.name
            if !check.detail.isEmpty { line += ": \(check.detail)" }
            if let fix = check.fix, !check.ok { line += "\n       fix: \(fix)" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

public struct Doctor: Sendable {
    public var loader: KubeConfigLoader
    public var context: String?
    public var namespace: String?
    public var timeout: TimeInterval = 10
    public var transport: HTTPTransport

    public init(
        loader: KubeConfigLoader = KubeConfigLoader(), context: String? = nil, namespace: String? = nil,
        transport: HTTPTransport = CurlHTTPClient()
    ) {
        self.loader = loader
        self.context = context
        self.namespace = namespace
        self.transport = transport
    }

    public func run() async -> DoctorReport {
        var report = DoctorReport()
        let config: KubeClientConfig
        do {
            config = try KubeClientConfig.load(loader: loader, context: context, namespace: namespace)
        } catch {
            report.kubeconfigFiles = loader.candidatePaths.filter { FileManager.default.fileExists(atPath: $0) }
            report.configurationError = "\(error)"
            return report
        }
        report.kubeconfigFiles = config.files
        report.context = config.contextName
        report.cluster = config.clusterName
        report.user = config.userName
        report.server = config.server.absoluteString
        report.namespace = config.namespace
        report.tlsTrust = config.trustSummary
        report.auth = config.authSummary
        if let warning = config.securityWarning { report.warnings.append(warning) }
        let client = KubeClient(config: config, transport: transport)
        do {
            let version = try await client.get("/version", timeout: timeout)["gitVersion"]?.string ?? "unknown"
            report.serverVersion = version
            report.checks.append(DoctorCheck(name: "reach the API server", ok: true, detail: "Kubernetes \(version)"))
        } catch {
            report.checks.append(
                DoctorCheck(name: "reach the API server", ok: false, detail: "\(error)", fix: Self.fix(for: error)))
            return report
        }
        let subject = RBACSubject(username: await identity(client))
        for group in AccessRequirement.devloopNeeds(namespace: config.namespace) {
            report.checks.append(await check(group, client, subject: subject))
        }
        return report
    }

    /// Who the API server takes us for (SelfSubjectReview: v1 from Kubernetes 1.28, v1beta1 in 1.27),
    /// so that the fix commands name the right subject; nil on older servers.
    private func identity(_ client: KubeClient) async -> String? {
        for version in ["v1", "v1beta1"] {
            let review = JSONValue.object([
                "apiVersion": .string("authentication.k8s.io/\(version)"), "kind": .string("SelfSubjectReview"),
            ])
            guard let body = try? review.encoded(),
                let response = try? await client.send(
                    "POST", "/apis/authentication.k8s.io/\(version)/selfsubjectreviews", body: body, timeout: timeout),
                let answer = try? JSONValue.decode(response.body),
                let username = answer[path: "status", "userInfo", "username"]?.string, !username.isEmpty
            else { continue }
            return username
        }
        return nil
    }

    private func check(_ group: [AccessRequirement], _ client: KubeClient, subject: RBACSubject) async -> DoctorCheck {
        let title = group[0].title
        let summary = group.map(\.summary).joined(separator: ", ")
        for requirement in group {
            do {
                let answer = try await client.canI(requirement, timeout: timeout)
                if !answer.allowed {
                    return DoctorCheck(
                        name: title, ok: false,
                        detail: "not allowed to \(requirement.summary)" + (answer.reason.map { " (\($0))" } ?? ""),
                        fix: Self.fix(denied: requirement, subject: subject))
                }
            } catch {
                return DoctorCheck(
                    name: title, ok: false, detail: "could not check \(summary): \(error)", fix: Self.fix(for: error))
            }
        }
        return DoctorCheck(name: title, ok: true, detail: summary)
    }

    /// Commands a cluster admin can run as they are. Creating a Namespace is cluster-scoped: only a
    /// ClusterRole bound by a ClusterRoleBinding grants it. Everything else lives in the dev namespace,
    /// where the built-in `edit` ClusterRole bound by a RoleBinding covers it.
    static func fix(denied requirement: AccessRequirement, subject: RBACSubject) -> String {
        if requirement.resource == "namespaces" {
            return "a Namespace is cluster-scoped: a RoleBinding in a namespace cannot grant \(requirement.summary), "
                + "only a ClusterRole bound cluster-wide; a cluster admin runs: "
                + "kubectl create clusterrole devloop-namespaces --verb=get,create,patch --resource=namespaces && "
                + "kubectl create clusterrolebinding devloop-namespaces-\(subject.bindingSuffix) "
                + "--clusterrole=devloop-namespaces \(subject.flag)" + subject.note
        }
        let namespace = requirement.namespace ?? "default"
        return "a cluster admin binds the built-in \"edit\" ClusterRole in namespace \(namespace) with a RoleBinding "
            + "(it covers \(requirement.summary)): kubectl create rolebinding devloop-edit --clusterrole=edit "
            + "\(subject.flag) --namespace=\(namespace)" + subject.note
    }

    static func fix(for error: Error) -> String {
        if let curl = error as? CurlError {
            if curl.isUntrustedCertificate {
                return "the kubeconfig's certificate-authority did not sign the server's certificate: fetch the "
                    + "cluster's CA again (e.g. re-run your provider's get-credentials command)"
            }
            return "check that the server URL in the kubeconfig is right and reachable from this machine"
        }
        if case .api(let status)? = error as? KubeClientError, status.code == 401 {
            return "log in again or refresh the credentials of the kubeconfig user"
        }
        if error is KubeClientError, case .credentialPlugin? = error as? KubeClientError {
            return "install the credential plugin or fix the exec section of the kubeconfig user"
        }
        return "check the kubeconfig and the cluster"
    }
}

/// The subject of the RoleBindings in the doctor's fix commands.
struct RBACSubject: Sendable {
    var username: String?

    /// `--serviceaccount=NS:NAME` for a service account, `--user=NAME` otherwise.
    var flag: String {
        guard let username else { return "--user=USER" }
        let prefix = "system:serviceaccount:"
        if username.hasPrefix(prefix) { return "--serviceaccount=\(username.dropFirst(prefix.count))" }
        return "--user=\(username)"
    }

    var bindingSuffix: String {
        let name = username.map { $0.split(separator: ":").last.map(String.init) ?? $0 } ?? "USER"
        return String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "-" }).lowercased()
    }

    var note: String {
        username == nil ? " (USER: the user name the cluster authenticates you as; this server does not say it)" : ""
    }
}
