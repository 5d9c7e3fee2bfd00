import Foundation
import Glibc
import KubeSim
import Testing

/// Issue 12, safety: over a whole session (up, an edit, `logs --no-follow`, `status`, `down`) kubesim
/// records every request the built devloop sends, and none reaches outside the dev namespace.
@Suite(.serialized, .timeLimit(.minutes(5))) struct NamespaceConfinementTests {
    /// hostPath: the pod mounts this machine's folder; exec: exec+tar into the pod's own folder.
    @Test(arguments: ["hostPath", "exec"]) func aWholeSessionStaysInsideTheDevNamespace(transport: String) async throws
    {
        let project = try FixtureProject(namespace: "confined-dev", emptyDir: transport == "exec")
        defer { project.remove() }
        let cluster = try await KubeSimFixture.start()
        do {
            let kubeconfig = cluster.server.kubeconfigPath
            // Only devloop talks to the API from here on: the test reads nothing through it.
            cluster.server.requests.start()
            let up = try DevLoopProcess(
                ["up", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            try await up.waitForLine("the forward") { $0.contains("forwarding http://127.0.0.1:\(project.port)") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v1\n")
            try project.write("app/index.html", "hello v2\n")
            try await up.waitForLine("the status line of the edit") { $0.contains("index.html: synced in") }
            #expect(await httpGet(port: project.port, path: "/index.html")?.body == "hello v2\n")

            let logs = try await DevLoopProcess.run(
                ["logs", "--config", project.config, "--no-follow"], directory: project.root, kubeconfig: kubeconfig)
            #expect(logs.status == 0, "\(logs.output)")
            let status = try await DevLoopProcess.run(
                ["status", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            #expect(status.status == 0, "\(status.output)")
            let down = try await DevLoopProcess.run(
                ["down", "--config", project.config], directory: project.root, kubeconfig: kubeconfig)
            #expect(down.status == 0, "\(down.output)")
            #expect(await up.exitStatus() == 0, "\(up.output)")
            cluster.server.requests.stop()

            let requests = cluster.server.requests.requests
            #expect(cluster.server.requests.dropped == 0)
            let confinement = NamespaceConfinement(namespace: project.namespace)
            #expect(confinement.violations(requests).isEmpty, "\(confinement.violations(requests))")
            // The recording saw the session: the namespace applied and deleted, the pod read in it.
            let mutations = requests.filter { NamespaceConfinement.mutating.contains($0.method) }
            print("namespace confinement (\(transport)): \(requests.count) requests, \(mutations.count) changes")
            if ProcessInfo.processInfo.environment["DEVLOOP_PRINT_REQUESTS"] != nil {
                for request in requests { print("  \(request)") }
            }
            #expect(mutations.contains { $0.method == "DELETE" && $0.path == "/api/v1/namespaces/confined-dev" })
            #expect(mutations.contains { $0.path.hasPrefix("/apis/apps/v1/namespaces/confined-dev/deployments/") })
            #expect(requests.contains { $0.path.hasPrefix("/api/v1/namespaces/confined-dev/pods") })
            if transport == "exec" {
                #expect(requests.contains { $0.path.hasSuffix("/exec") }, "\(requests)")
            }
            // On the node devloop writes only into the sync destination: every exec is a script given
            // the destination as its folder, or the read of the hostPath probe.
            let execs = requests.filter { $0.path.hasSuffix("/exec") }.map(NamespaceConfinement.command)
            let strays = execs.filter { !NamespaceConfinement.staysInDestination($0, destination: "/app") }
            #expect(strays.isEmpty, "execs outside the destination: \(strays)")
            print("namespace confinement (\(transport)): \(execs.count) execs, all inside the destination")
            #expect(requests.allSatisfy { $0.userAgent?.hasPrefix("devloop/") == true }, "\(requests)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// The check itself: a patched pod in `default`, a Secret read or written, a ClusterRole, a list
    /// of every namespace, another namespace's object: each is a violation; the session's own are not.
    @Test func theCheckCatchesWhatLeavesTheNamespace() {
        let confinement = NamespaceConfinement(namespace: "dev")
        func request(_ method: String, _ uri: String, creating name: String? = nil) -> RecordedRequest {
            let parts = uri.split(separator: "?", maxSplits: 1).map(String.init)
            return RecordedRequest(
                method: method, path: parts[0], query: parts.count > 1 ? parts[1] : "", userAgent: nil,
                objectName: name)
        }
        for outside in [
            request("PATCH", "/api/v1/namespaces/default/pods/web"),
            request("GET", "/api/v1/namespaces/dev/secrets/token"),
            request("PATCH", "/api/v1/namespaces/dev/secrets/token"),
            request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
            request("PATCH", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin"),
            request("DELETE", "/api/v1/namespaces/other"),
            request("POST", "/api/v1/namespaces"),
            request("POST", "/api/v1/namespaces", creating: "default"),
            request("GET", "/api/v1/namespaces"),
            request("GET", "/api/v1/pods"),
            request("GET", "/api/v1/nodes/node-1"),
            request("GET", "/api/v1/namespaces/dev2/pods"),
            request("PUT", "/api/v1/namespaces/dev/pods/../../default/pods/web"),
            request("DELETE", "/apis/apps/v1/namespaces/kube-system/deployments/coredns"),
        ] {
            #expect(confinement.violations([outside]).count == 1, "\(outside) passed")
        }
        let inside = [
            request("GET", "/version"), request("GET", "/api"), request("GET", "/apis"), request("GET", "/api/v1"),
            request("GET", "/apis/apps/v1"), request("GET", "/openapi/v2"), request("GET", "/api/v1/namespaces/dev"),
            request("PATCH", "/api/v1/namespaces/dev?fieldManager=devloop"),
            request("DELETE", "/api/v1/namespaces/dev"),
            request("PATCH", "/apis/apps/v1/namespaces/dev/deployments/app?fieldManager=devloop"),
            request("GET", "/api/v1/namespaces/dev/pods?labelSelector=app%3Dx&watch=true"),
            request("GET", "/api/v1/namespaces/dev/pods/web-1/log?follow=true"),
            request("GET", "/api/v1/namespaces/dev/pods/web-1/exec?command=tar"),
            request("POST", "/api/v1/namespaces/dev/pods/web-1/portforward"),
        ]
        #expect(confinement.violations(inside).isEmpty, "\(confinement.violations(inside))")
        for stray in [
            ["sh", "-c", "rm -rf /etc", "sh", "/app"], ["sh", "-c", #"cd -- "$1" && rm -rf /"#, "sh", "/app"],
            ["sh", "-c", #"cd -- "$1" || exit 1"#, "sh", "/"], ["cat", "/etc/shadow"], ["cat", "/app/../etc/x"],
            ["tar", "-xf", "-", "-C", "/"],
        ] {
            #expect(!NamespaceConfinement.staysInDestination(stray, destination: "/app"), "\(stray) passed")
        }
        #expect(
            NamespaceConfinement.staysInDestination(
                ["sh", "-c", #"cd -- "$1" && shift && sha256sum -- "$@""#, "sh", "/app", "a"], destination: "/app"))
        #expect(NamespaceConfinement.staysInDestination(["cat", "/app/.devloop-probe-1f"], destination: "/app"))
    }
}

/// What a session may send: changes only to objects inside the dev namespace or to the dev Namespace
/// itself (its creation is a POST to the collection: the recorded body names it), reads only of those plus discovery and the version; never a Secret, never anything
/// cluster-scoped (a ClusterRole, a node, another namespace, the list of namespaces).
struct NamespaceConfinement {
    static let mutating: Set<String> = ["POST", "PUT", "PATCH", "DELETE"]
    let namespace: String

    /// One line per request that leaves the namespace.
    func violations(_ requests: [RecordedRequest]) -> [String] {
        requests.compactMap { request in
            let reason = problem(request)
            return reason.map { "\(request): \($0)" }
        }
    }

    /// An exec request's command, from its `command=` query items.
    static func command(_ request: RecordedRequest) -> [String] {
        var components = URLComponents()
        components.percentEncodedQuery = request.query
        return (components.queryItems ?? []).filter { $0.name == "command" }.compactMap(\.value)
    }

    /// `sh -c SCRIPT sh DESTINATION …` (sync, listing, hashing: the script goes into $1 first and names
    /// no absolute path), or
    /// `cat DESTINATION/.devloop-probe-…` (the hostPath probe, a read).
    static func staysInDestination(_ command: [String], destination: String) -> Bool {
        if command.count >= 5, command[0] == "sh", command[1] == "-c", command[4] == destination {
            let script = command[2]
            let entersDestination = [#"cd -- "$1""#, #"mkdir -p -- "$1" && cd -- "$1""#].contains {
                script.hasPrefix($0)
            }
            return entersDestination && !script.contains(" /")
        }
        if command.count == 2, command[0] == "cat" {
            return command[1].hasPrefix(destination + "/.devloop-probe-") && !command[1].contains("/../")
        }
        return false
    }

    private func problem(_ request: RecordedRequest) -> String? {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            String($0).removingPercentEncoding ?? String($0)
        }
        guard request.path.hasPrefix("/"), !segments.contains(".."), !segments.contains(".") else {
            return "not a plain absolute path"
        }
        let writes = Self.mutating.contains(request.method)
        guard request.method == "GET" || writes else { return "an unexpected method" }
        // Where the resource part starts: /api/v1/... or /apis/GROUP/VERSION/...
        let resource: ArraySlice<String>
        switch segments.first {
        case "api" where segments.count >= 2: resource = segments.dropFirst(2)
        case "apis" where segments.count >= 3: resource = segments.dropFirst(3)
        case "api", "apis", "version", "openapi", "healthz", "readyz", "livez":
            return writes ? "a change to discovery" : nil
        default: return "outside the API"
        }
        if resource.isEmpty { return writes ? "a change to discovery" : nil }
        // Creating the dev Namespace: a POST to the collection whose body names it.
        if resource == ["namespaces"], request.method == "POST", request.objectName == namespace { return nil }
        guard resource.first == "namespaces", resource.count >= 2 else {
            return "a cluster-scoped \(resource.first ?? "") object"
        }
        guard resource.dropFirst().first == namespace else { return "namespace \(resource.dropFirst().first ?? "")" }
        // The Namespace object itself (applied, read, deleted) or an object inside it.
        if resource.count == 2 { return nil }
        if resource.dropFirst(2).first == "secrets" { return "a Secret" }
        return nil
    }
}
