import DevLoop
import Foundation
import ProcessTestSupport
import Testing

/// KUBECONFIG merging, judged by the real kubectl: each case runs `kubectl config view --minify --raw
/// --flatten` on the same files and compares what it resolved with what devloop resolved. `--flatten`
/// makes kubectl read the certificate-authority file, so its content shows which path kubectl resolved.
@Suite struct KubeConfigMergeTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var files: [String: String]
        /// KUBECONFIG entries, relative to the temp folder ("" stays empty, absent files stay absent).
        var order: [String]
        var context: String?
        var description: String { name }
    }

    static func config(
        clusters: [(String, String)] = [], users: [(String, String)] = [],
        contexts: [(String, String, String, String?)] = [],
        current: String? = nil
    ) -> String {
        var text = "apiVersion: v1\nkind: Config\n"
        if let current { text += "current-context: \(current)\n" }
        text += "clusters:\n" + clusters.map { "- name: \($0.0)\n  cluster:\n\($0.1)\n" }.joined()
        text += "users:\n" + users.map { "- name: \($0.0)\n  user:\n\($0.1)\n" }.joined()
        text += "contexts:\n"
        for (name, cluster, user, namespace) in contexts {
            text += "- name: \(name)\n  context:\n    cluster: \(cluster)\n    user: \(user)\n"
            if let namespace { text += "    namespace: \(namespace)\n" }
        }
        return text
    }

    static let cases: [Case] = [
        Case(
            name: "the first file to name a cluster wins it",
            files: [
                "a": config(clusters: [("c", "    server: https://first.test:6443")], current: "x"),
                "b": config(
                    clusters: [("c", "    server: https://second.test:6443")], users: [("u", "    token: b-token")],
                    contexts: [("x", "c", "u", "dev")]),
            ], order: ["a", "b"]),
        Case(
            name: "current-context comes from the first file that sets it",
            files: [
                "a": config(
                    clusters: [("c", "    server: https://a.test")], contexts: [("ctx-a", "c", "u", nil)],
                    current: "ctx-a"),
                "b": config(
                    users: [("u", "    token: t")], contexts: [("ctx-b", "c", "u", "other")], current: "ctx-b"),
            ], order: ["a", "b"]),
        Case(
            name: "a current-context set only in the second file is found",
            files: [
                "a": config(clusters: [("c", "    server: https://a.test")]),
                "b": config(
                    users: [("u", "    token: t")], contexts: [("only-b", "c", "u", "team")], current: "only-b"),
            ], order: ["a", "b"]),
        Case(
            name: "a named user comes whole from one file, fields are not mixed",
            files: [
                "a": config(
                    clusters: [("c", "    server: https://a.test")], users: [("u", "    token: from-a")],
                    contexts: [("x", "c", "u", nil)], current: "x"),
                "b": config(users: [("u", "    tokenFile: b.token\n    username: nobody")]),
            ], order: ["a", "b"]),
        Case(
            name: "relative paths resolve against the declaring file's folder",
            files: [
                "a": config(contexts: [("x", "c", "u", "ns1")], current: "x"),
                "sub/b": config(
                    clusters: [("c", "    server: https://b.test\n    certificate-authority: certs/ca.crt")],
                    users: [("u", "    tokenFile: tokens/t")]),
                "sub/certs/ca.crt": "CA next to the declaring file",
                "certs/ca.crt": "decoy CA next to the first file",
            ], order: ["a", "sub/b"]),
        Case(
            name: "missing files and empty entries are skipped",
            files: [
                "b": config(
                    clusters: [("c", "    server: https://b.test")], users: [("u", "    token: t")],
                    contexts: [("x", "c", "u", nil)], current: "x")
            ], order: ["", "missing", "b", ""]),
        Case(
            name: "a file listed twice counts once",
            files: [
                "a": config(clusters: [("c", "    server: https://a.test")], users: [("u", "    token: a")]),
                "b": config(
                    clusters: [("c", "    server: https://b.test")], contexts: [("x", "c", "u", nil)], current: "x"),
            ], order: ["a", "b", "a"]),
        Case(
            name: "--context picks a context defined in the second file",
            files: [
                "a": config(
                    clusters: [("c", "    server: https://a.test")], users: [("u", "    token: a")],
                    contexts: [("x", "c", "u", nil)], current: "x"),
                "b": config(
                    clusters: [("d", "    server: https://d.test:8443")], users: [("v", "    token: v-token")],
                    contexts: [("ctx-y", "d", "v", "ns-y")]),
            ], order: ["a", "b"], context: "ctx-y"),
    ]

    @Test(arguments: cases)
    func matchesKubectl(_ testCase: Case) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        for (name, text) in testCase.files { _ = try folder.file(name, text) }
        let list = testCase.order.map { $0.isEmpty ? "" : folder.url.appendingPathComponent($0).path }.joined(
            separator: ":")
        let environment = ["KUBECONFIG": list, "HOME": folder.url.path]

        let judge = try await kubectlView(environment: environment, context: testCase.context)
        let merged = try KubeConfigLoader(environment: environment).load()
        let contextName = testCase.context ?? merged.currentContext
        #expect(contextName == judge["current-context"]?.string, "current-context")
        let context = try #require(merged.contexts[contextName ?? ""]?.value, "context \(contextName ?? "nil")")
        let judgeContext = judge["contexts"]?.array?.first?["context"]
        #expect(context.cluster == judgeContext?["cluster"]?.string)
        #expect(context.user == judgeContext?["user"]?.string)
        #expect(context.namespace == judgeContext?["namespace"]?.string)
        let cluster = merged.clusters[context.cluster]?.value
        let judgeCluster = judge["clusters"]?.array?.first?["cluster"]
        #expect(cluster?.server == judgeCluster?["server"]?.string)
        let caContent = cluster?.certificateAuthority.flatMap { FileManager.default.contents(atPath: $0) }
        #expect(caContent?.base64EncodedString() == judgeCluster?["certificate-authority-data"]?.string)
        let user = merged.users[context.user ?? ""]?.value
        let judgeUser = judge["users"]?.array?.first?["user"]
        #expect(user?.token == judgeUser?["token"]?.string)
        // kubectl prints tokenFile as written; devloop keeps it resolved against the declaring file.
        #expect(
            user?.tokenFile?.hasSuffix(judgeUser?["tokenFile"]?.string.map { "/" + $0 } ?? "")
                ?? (judgeUser?["tokenFile"] == nil))
    }

    private func kubectlView(environment: [String: String], context: String?) async throws -> JSONValue {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl") else {
            Issue.record("kubectl is not installed at /usr/bin/kubectl: it is the judge of these cases")
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        process.arguments =
            ["config", "view", "--minify", "--raw", "--flatten", "-o", "json"]
            + (context.map { ["--context", $0] } ?? [])
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }
        let outcome = try await process.runToEnd()
        #expect(outcome.status == 0, "kubectl config view failed")
        return try JSONValue.decode(outcome.stdout)
    }
}
