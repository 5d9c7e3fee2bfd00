import Foundation
import Testing

@testable import DevLoop

/// `devloop doctor` against local fake API servers (kubesim's run is in KubeSimClientTests).
@Suite struct DoctorTests {
    func withServer(
        deny: Set<String> = [], _ body: (TestHTTPSServer, TestCertificates, TemporaryDirectory) async throws -> Void
    ) async throws {
        let pki = try await TestCertificates.make()
        let folder = try TemporaryDirectory()
        let server = try await TestHTTPSServer(certificates: pki, handler: FakeAPI.handler(deny: deny))
        do {
            try await body(server, pki, folder)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        pki.remove()
        folder.remove()
    }

    @Test func passesAndShowsTheServerVersion() async throws {
        try await withServer { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(report.exitCode == 0, "\(report.text())")
            #expect(report.text().contains("Kubernetes v1.30.0-fake"))
            #expect(
                report.checks.map(\.name) == [
                    "reach the API server", "apply the dev namespace", "apply deployments", "watch pods",
                    "exec into pods",
                    "port-forward", "read logs",
                ])
            #expect(report.json().contains("\"serverVersion\" : \"v1.30.0-fake\""))
        }
    }

    @Test func untrustedCertificateFailsFastWithExit1() async throws {
        try await withServer { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.otherCACert.path)"], in: folder)
            let started = ContinuousClock.now
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(report.exitCode == 1)
            #expect(report.text().contains("certificate was not trusted"))
            #expect(report.text().contains("fix:"))
        }
    }

    @Test func deniedPermissionFailsWithAFix() async throws {
        try await withServer(deny: ["create pods exec"]) { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(report.exitCode == 1)
            let failed = report.checks.filter { !$0.ok }
            #expect(failed.map(\.name) == ["exec into pods"])
            #expect(failed.first?.detail.contains("create pods/exec in namespace dev") == true)
            #expect(failed.first?.fix?.contains("RoleBinding") == true)
        }
    }

    /// Kubernetes up to 1.34 authorizes a WebSocket exec or port-forward as `get`: a Role granting only
    /// `create` (enough for kubectl's SPDY) must not pass.
    @Test(arguments: [("get pods exec", "exec into pods"), ("get pods portforward", "port-forward")])
    func streamsNeedGetAsWellAsCreate(denied: String, check: String) async throws {
        try await withServer(deny: [denied]) { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(report.exitCode == 1)
            let failed = report.checks.filter { !$0.ok }
            #expect(failed.map(\.name) == [check])
            let resource = denied.split(separator: " ").dropFirst().joined(separator: "/")
            #expect(failed.first?.detail.contains("not allowed to get \(resource)") == true, "\(report.text())")
        }
    }

    /// Apply GETs before it PATCHes and the watcher lists and watches pods: a doctor that passes must
    /// mean these work too.
    @Test(arguments: [
        ("get deployments", "apply deployments"), ("watch pods", "watch pods"), ("list pods", "watch pods"),
    ])
    func checksReadsAsWellAsWrites(denied: String, check: String) async throws {
        try await withServer(deny: [denied]) { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(report.exitCode == 1)
            #expect(report.checks.filter { !$0.ok }.map(\.name) == [check], "\(report.text())")
        }
    }

    /// The applier GETs and server-side applies (PATCH) the Namespace: the doctor checks each verb,
    /// and its fix for namespaces is a ClusterRole, which a namespaced RoleBinding cannot replace.
    @Test(arguments: ["create namespaces", "get namespaces", "patch namespaces"])
    func namespaceAccessNeedsAClusterRole(denied: String) async throws {
        try await withServer(deny: [denied]) { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            #expect(report.exitCode == 1)
            let failed = report.checks.filter { !$0.ok }
            #expect(failed.map(\.name) == ["apply the dev namespace"], "\(report.text())")
            let fix = failed.first?.fix ?? ""
            #expect(
                fix.contains(
                    "kubectl create clusterrole devloop-namespaces --verb=get,create,patch --resource=namespaces"),
                "\(fix)")
            #expect(
                fix.contains(
                    "kubectl create clusterrolebinding devloop-namespaces-user --clusterrole=devloop-namespaces --user=USER"
                ), "\(fix)")
            #expect(!fix.contains("rolebinding devloop-edit"), "\(fix)")
        }
    }

    @Test func theFixForNamespacedAccessIsAnEditRoleBindingInTheDevNamespace() async throws {
        try await withServer(deny: ["patch deployments"]) { server, pki, folder in
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], in: folder)
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            let failed = report.checks.filter { !$0.ok }
            #expect(failed.map(\.name) == ["apply deployments"], "\(report.text())")
            #expect(
                failed.first?.fix?.contains(
                    "kubectl create rolebinding devloop-edit --clusterrole=edit --user=USER --namespace=dev")
                    == true, "\(report.text())")
        }
    }

    @Test func fixCommandsNameTheSubject() {
        #expect(RBACSubject(username: "system:serviceaccount:ci:deployer").flag == "--serviceaccount=ci:deployer")
        #expect(RBACSubject(username: "jane@example.com").flag == "--user=jane@example.com")
        #expect(RBACSubject(username: "jane@example.com").bindingSuffix == "jane-example.com")
        #expect(RBACSubject(username: nil).note.contains("USER"))
    }

    @Test func findsTheContextInTheSecondKubeconfigFile() async throws {
        try await withServer { server, pki, folder in
            let first = try folder.file(
                "first",
                "apiVersion: v1\nkind: Config\nclusters:\n- name: elsewhere\n  cluster:\n    server: https://127.0.0.1:1\n"
            )
            let second = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.caCert.path)"], context: "second-ctx",
                in: folder, name: "second")
            let environment = ["KUBECONFIG": "\(first.path):\(second.path.path)"]
            let report = await Doctor(loader: KubeConfigLoader(environment: environment)).run()
            #expect(report.exitCode == 0, "\(report.text())")
            #expect(report.context == "second-ctx")
            #expect(report.kubeconfigFiles == [first.path, second.path.path])
            let named = await Doctor(loader: KubeConfigLoader(environment: environment), context: "second-ctx").run()
            #expect(named.exitCode == 0)
        }
    }

    @Test func badInputExits2() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fixture = try KubeConfigFixture(server: "https://127.0.0.1:1", in: folder)
        let unknown = await Doctor(
            loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path), context: "nope"
        ).run()
        #expect(unknown.exitCode == 2)
        #expect(unknown.configurationError?.contains("context \"nope\" not found") == true)
        let missing = await Doctor(
            loader: KubeConfigLoader(environment: [:], explicitPath: folder.url.path + "/absent")
        ).run()
        #expect(missing.exitCode == 2)
        let broken = try folder.file("broken", "clusters: [unclosed\n")
        let invalid = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: broken.path)).run()
        #expect(invalid.exitCode == 2)
        #expect(invalid.configurationError?.contains(broken.path) == true)
    }

    @Test func secretsNeverAppearInOutputOrErrors() async throws {
        try await withServer { server, pki, folder in
            let token = "tok-3f9c2a-SECRET"
            let keyData = pki.pem(pki.clientKey).base64EncodedString()
            let certData = pki.pem(pki.clientCert).base64EncodedString()
            let caData = pki.pem(pki.caCert).base64EncodedString()
            let fixture = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority-data: \(caData)"],
                user: ["token: \(token)", "client-certificate-data: \(certData)", "client-key-data: \(keyData)"],
                in: folder)
            var output: [String] = []
            let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
            output += [report.text(), report.json()] + report.warnings
            // Errors of every kind: unauthorized, not found, untrusted, bad kubeconfig data.
            let wrongToken = try await TestHTTPSServer(certificates: pki, handler: FakeAPI.handler(token: { "other" }))
            let rejected = try KubeConfigFixture(
                server: wrongToken.url, cluster: ["certificate-authority-data: \(caData)"], user: ["token: \(token)"],
                in: folder, name: "rejected")
            do { _ = try await rejected.client().serverVersion() } catch { output.append("\(error)") }
            await wrongToken.stop()
            do { _ = try await fixture.client().get("/api/v1/namespaces/dev/secrets/x") } catch {
                output.append("\(error)")
            }
            let untrusted = try KubeConfigFixture(
                server: server.url, cluster: ["certificate-authority: \(pki.otherCACert.path)"],
                user: ["token: \(token)", "client-key-data: \(keyData)"], in: folder, name: "untrusted")
            do { _ = try await untrusted.client().serverVersion() } catch { output.append("\(error)") }
            let garbled = try KubeConfigFixture(
                server: server.url, user: ["token: \(token)", "client-key-data: \(keyData.prefix(21))"], in: folder,
                name: "garbled")
            do { _ = try garbled.config() } catch { output.append("\(error)") }
            #expect(output.count == 6)
            let keyLines = String(decoding: pki.pem(pki.clientKey), as: UTF8.self).split(separator: "\n").filter {
                !$0.hasPrefix("-----")
            }
            let certLines = String(decoding: pki.pem(pki.clientCert), as: UTF8.self).split(separator: "\n").filter {
                !$0.hasPrefix("-----")
            }
            let secrets =
                [token, String(keyData.prefix(21)), String(certData.prefix(40))]
                + (keyLines + certLines).map(String.init)
            for text in output {
                for secret in secrets { #expect(!text.contains(secret), "a secret leaked into: \(text)") }
            }
        }
    }
}
