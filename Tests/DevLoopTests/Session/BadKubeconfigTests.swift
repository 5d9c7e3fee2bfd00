import DevLoop
import Foundation
import Testing

/// Issue 12's broken kubeconfigs, each a file of Fixtures/BadKubeconfigs, given to the built
/// `devloop up` and `devloop doctor` through KUBECONFIG: the message of expected.tsv, exit 2 for bad
/// input and 1 for a cluster that cannot be used, no stack trace, no token or key bytes in the output,
/// no embedded kubesim started in its place, and nothing changed in the cluster.
@Suite(.serialized, .timeLimit(.minutes(5))) struct BadKubeconfigTests {
    static let folder = RepositoryFiles.path("Tests/DevLoopTests/Fixtures/BadKubeconfigs")

    struct Case: Sendable {
        var file: String
        var command: String
        var exit: Int32
        var fragment: String
    }

    static func cases() throws -> [Case] {
        let index = try String(contentsOfFile: folder + "/expected.tsv", encoding: .utf8)
        return index.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { row in
            let columns = row.split(separator: "\t").map(String.init)
            return Case(file: columns[0], command: columns[1], exit: Int32(columns[2]) ?? -1, fragment: columns[3])
        }
    }

    @Test func theIndexListsEveryFileAndEveryKindOfBrokenKubeconfig() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder).filter { $0 != "expected.tsv" }
        let listed = Set(try Self.cases().map(\.file))
        #expect(Set(files) == listed.subtracting(["absent.kubeconfig"]))
        #expect(!files.contains("absent.kubeconfig"))
        for file in listed {
            for command in ["up", "doctor"] {
                #expect(try Self.cases().contains { $0.file == file && $0.command == command }, "\(file) \(command)")
            }
        }
    }

    @Test func eachBrokenKubeconfigGivesAClearMessageAndNoSecret() async throws {
        let project = try FixtureProject()
        defer { project.remove() }
        try await KubeSimFixture.run { cluster in
            let before = try await ClusterSnapshot.take(cluster.client)
            let values = try Self.placeholders(cluster)
            for entry in try Self.cases() {
                let path = project.root + "/kubeconfigs/" + entry.file
                var secrets: [String] = []
                if entry.file != "absent.kubeconfig" {
                    let text = try Self.fill(
                        try String(contentsOfFile: Self.folder + "/" + entry.file, encoding: .utf8), values)
                    _ = project.dir.sub("kubeconfigs")
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                    secrets = Self.secretValues(in: text)
                    #expect(!secrets.isEmpty, "\(entry.file) has no credential to look for")
                }
                let arguments = entry.command == "up" ? ["up", "--config", project.config] : [entry.command]
                let result = try await CommandRun.run(
                    arguments, directory: project.root, environment: ["KUBECONFIG": path])
                let name = "\(entry.command) with \(entry.file)"
                #expect(result.status == entry.exit && !result.signalled, "\(name): \(result.combined)")
                #expect(result.combined.contains(entry.fragment), "\(name): \(result.combined)")
                #expect(result.stackTrace == nil, "\(name): \(result.combined)")
                #expect(!result.combined.contains("PRIVATE KEY"), "\(name) shows key material")
                for secret in secrets { #expect(!result.combined.contains(secret), "\(name) shows a credential") }
                #expect(
                    !FileManager.default.fileExists(atPath: project.root + "/.devloop/kubesim"),
                    "\(name) started the embedded kubesim instead")
            }
            let after = try await ClusterSnapshot.take(cluster.client)
            #expect(after == before, "the cluster changed:\n\(after.difference(from: before))")
        }
    }

    /// What the corpus files' `${NAME}`s stand for: the test's kubesim, its CA, a client certificate
    /// and token it accepts, and a port nothing listens on.
    static func placeholders(_ cluster: KubeSimFixture) throws -> [String: String] {
        let kubeconfig = try String(contentsOfFile: cluster.server.kubeconfigPath, encoding: .utf8)
        func field(_ name: String) -> String {
            kubeconfig.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(name + ":") }.map {
                    String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
                }
                ?? ""
        }
        return [
            "SERVER": "https://127.0.0.1:\(cluster.server.port)", "CA_DATA": field("certificate-authority-data"),
            "CERT_DATA": field("client-certificate-data"), "TOKEN": cluster.server.token,
            "UNREACHABLE": "https://127.0.0.1:\(freePort())",
        ]
    }

    static func fill(_ text: String, _ values: [String: String]) throws -> String {
        var filled = text
        for (name, value) in values {
            #expect(!value.isEmpty, "no value for ${\(name)}")
            filled = filled.replacingOccurrences(of: "${\(name)}", with: value)
        }
        #expect(!filled.contains("${"), "a placeholder is left: \(filled)")
        return filled
    }

    /// The values of `token` and `client-key-data` (certificates are public), and the text between
    /// `%%%` markers of a broken key.
    static func secretValues(in kubeconfig: String) -> [String] {
        var values = kubeconfig.split(separator: "\n").compactMap { line -> String? in
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, ["token", "client-key-data"].contains(String(parts[0])) else { return nil }
            return parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(
                in: CharacterSet(charactersIn: "\"'"))
        }
        for part in kubeconfig.components(separatedBy: "%%%").dropFirst().enumerated() where part.offset % 2 == 0 {
            values.append(part.element)
        }
        return values
    }
}
