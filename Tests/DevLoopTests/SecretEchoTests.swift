import DevLoop
import Foundation
import Testing

/// A syntax error in a kubeconfig or a manifest is reported by line and column, never by quoting the
/// line: in these files the broken line is often a token, a key or a Secret's value.
@Suite struct SecretEchoTests {
    static let secret = "SECRET-4f1d9c0a77"

    static let brokenKubeconfigs: [String] = [
        // A colon inside a plain scalar: "mapping values are not allowed" on the token line.
        "users:\n- name: u\n  user:\n    token: \(secret): x\n",
        // Indentation off by one under the key.
        "users:\n- name: u\n  user:\n    client-key-data: \(secret)\n   token: x\n",
        // An unterminated quote.
        "users:\n- name: u\n  user:\n    token: \"\(secret)\n  x: [\n",
        // A tab where YAML wants spaces.
        "users:\n- name: u\n  user:\n\ttoken: \(secret)\n",
    ]

    @Test(arguments: brokenKubeconfigs) func kubeconfigSyntaxErrorNamesTheLineNotTheSecret(_ text: String) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = try folder.file("config", text)
        let loader = KubeConfigLoader(environment: [:], explicitPath: file.path)
        let error = #expect(throws: KubeConfigError.self) { try loader.load() }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains(file.path), "\(message)")
        #expect(message.contains("line "), "\(message)")
        #expect(!message.contains(Self.secret), "the error quotes the secret: \(message)")
    }

    @Test func doctorShowsTheBrokenKubeconfigWithoutItsSecret() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = try folder.file("config", Self.brokenKubeconfigs[0])
        let report = await Doctor(loader: KubeConfigLoader(environment: [:], explicitPath: file.path)).run()
        #expect(report.exitCode == 2)
        #expect(report.text().contains("line 4"), "\(report.text())")
        #expect(!report.text().contains(Self.secret), "\(report.text())")
        #expect(!report.json().contains(Self.secret))
    }

    @Test func manifestSyntaxErrorNamesTheLineNotTheSecretValue() throws {
        let manifest = """
            apiVersion: v1
            kind: Secret
            metadata:
              name: db
            stringData:
              password: \(Self.secret): oops
            """
        let error = #expect(throws: ManifestError.self) {
            try ManifestApplier.documents(manifest, source: "deploy/secret.yaml")
        }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains("deploy/secret.yaml") && message.contains("line 6"), "\(message)")
        #expect(!message.contains(Self.secret), "the error quotes the secret: \(message)")
    }
}
