import DevLoop
import Foundation
import Testing

/// A kubeconfig user that authenticates in a way devloop does not implement is an error naming the
/// user entry, never a silent fall-back to anonymous requests.
@Suite struct UnsupportedAuthTests {
    static let cases: [(user: [String], expected: String)] = [
        (
            ["auth-provider:", "  name: oidc", "  config:", "    id-token: SECRET-ID-TOKEN", "    client-id: k8s"],
            "users[test-user].auth-provider (oidc) is not supported"
        ),
        (["auth-provider:", "  name: gcp"], "auth-provider (gcp) is not supported"),
        (["username: admin", "password: SECRET-PASSWORD"], "users[test-user].username/password is not supported"),
        (["token: abc", "as: alice", "as-groups: [devs]"], "users[test-user].as/as-groups (impersonation)"),
    ]

    @Test(arguments: 0..<cases.count) func unsupportedUserIsAnErrorNamingTheEntry(_ index: Int) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fixture = try KubeConfigFixture(server: "https://kube.test:6443", user: Self.cases[index].user, in: folder)
        let error = #expect(throws: KubeConfigError.self) { try fixture.config() }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains(Self.cases[index].expected), "\(message)")
        #expect(message.contains(fixture.path.path), "\(message)")
        #expect(!message.contains("SECRET"), "\(message)")
    }

    @Test func doctorExitsWithTheConfigurationError() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fixture = try KubeConfigFixture(
            server: "https://kube.test:6443", user: ["auth-provider:", "  name: azure"], in: folder)
        let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: fixture.path.path)).run()
        #expect(report.exitCode == 2)
        #expect(report.text().contains("auth-provider (azure) is not supported"), "\(report.text())")
        #expect(!report.text().contains("anonymous"))
    }

    /// client-go's exec args and env values are strings: a YAML number is shown as an error, not dropped.
    @Test(arguments: [
        (
            ["exec:", "  command: get-token", "  args: [--ttl, 30]"],
            "users[test-user].user.exec.args[1] must be a string"
        ),
        (
            ["exec:", "  command: get-token", "  env:", "  - name: RETRIES", "    value: 3"],
            "users[test-user].user.exec.env[0] needs a string name and value"
        ),
    ])
    func execArgumentsMustBeStrings(user: [String], expected: String) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fixture = try KubeConfigFixture(server: "https://kube.test:6443", user: user, in: folder)
        let error = #expect(throws: KubeConfigError.self) { try fixture.config() }
        #expect(error.map { "\($0)" }?.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func anUnusedUserWithAnAuthProviderIsNoProblem() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let text = """
            apiVersion: v1
            kind: Config
            current-context: ok
            clusters:
            - name: c
              cluster:
                server: https://kube.test:6443
            users:
            - name: legacy
              user:
                auth-provider:
                  name: oidc
            - name: fine
              user:
                token: abc
            contexts:
            - name: ok
              context:
                cluster: c
                user: fine
            """
        let file = try folder.file("config", text)
        let config = try KubeClientConfig.load(loader: KubeConfigLoader(environment: [:], explicitPath: file.path))
        #expect(config.userName == "fine")
    }
}
