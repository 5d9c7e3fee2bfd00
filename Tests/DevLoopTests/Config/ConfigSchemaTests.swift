import Foundation
import Testing
import Yams

@testable import DevLoop

/// dev/devloop.schema.json against the shipped config, the README's examples and the bad-input corpus,
/// judged by Python's jsonschema (dev/setup.sh installs it; its absence fails these tests). The YAML is
/// read by Yams, as the loader reads it, and handed over as JSON, so both sides see the same values.
@Suite("ConfigSchema", .timeLimit(.minutes(2)))
struct ConfigSchemaTests {
    /// Corpus configs that the schema accepts because what is wrong is not in the file's shape: the
    /// file system, relations between entries, or YAML below the data model.
    static let beyondSchema: Set<String> = [
        "config-from-missing.yaml", "config-from-file.yaml", "config-root-missing.yaml",
        "config-manifest-missing.yaml", "config-sync-overlap.yaml", "config-forward-duplicate.yaml",
        "config-forward-wildcard-clash.yaml", "config-selector-duplicate.yaml",
    ]

    @Test("the shipped dev/devloop.yaml and every `# devloop.yaml` block of README.md are valid")
    func shippedAndReadme() async throws {
        var documents = [
            ("dev/devloop.yaml", try String(contentsOfFile: RepositoryFiles.path("dev/devloop.yaml"), encoding: .utf8))
        ]
        let readme = try String(contentsOfFile: RepositoryFiles.path("README.md"), encoding: .utf8)
        for (index, block) in Self.readmeExamples(readme).enumerated() {
            documents.append(("README.md example \(index + 1)", block))
        }
        let verdicts = try await SchemaCheck.run(documents.map { ($0.0, try SchemaCheck.json($0.1)) })
        for (name, verdict) in zip(documents.map(\.0), verdicts) {
            #expect(verdict == "valid", "\(name): \(verdict)")
        }
    }

    @Test("the README block finder takes only yaml blocks whose first line is `# devloop.yaml`")
    func readmeBlocks() {
        let text =
            "x\n```yaml\n# devloop.yaml\nnamespace: a\n```\n```yaml\nkind: Pod\n```\n```sh\n# devloop.yaml\n```\n"
        #expect(Self.readmeExamples(text) == ["# devloop.yaml\nnamespace: a\n"])
    }

    @Test("every corpus config the loader refuses, the schema refuses too, unless the schema cannot say it")
    func agreesWithLoader() async throws {
        var instances: [(String, String)] = []
        for entry in try BadConfigCorpus.cases() where entry.file.hasPrefix("config-") {
            // Files that are not one YAML mapping (syntax, binary, bombs) have no JSON to judge.
            guard let text = try? String(contentsOfFile: entry.path, encoding: .utf8),
                let documents = try? YAMLText.documents(text, file: entry.file), documents.count == 1,
                let json = try? SchemaCheck.json(text)
            else { continue }
            instances.append((entry.file, json))
        }
        #expect(instances.count >= 50)
        let verdicts = try await SchemaCheck.run(instances)
        let accepted = Set(zip(instances.map(\.0), verdicts).filter { $0.1 == "valid" }.map(\.0))
        #expect(accepted == Self.beyondSchema)
    }

    @Test("the schema accepts what the loader accepts: defaults, string selectors, named ports, IPv6")
    func acceptsValid() async throws {
        let valid = """
            namespace: my-dev
            manifests: [k8s/dev.yaml]
            pod: {selector: "app=web,tier=dev", readyTimeout: 1m30s}
            sync: [{from: ., to: /src, exclude: ["*.log"]}]
            forwards: [{local: 9000, remote: http, address: "::1", waitTimeout: 0s}]
            transport: exec
            """
        let verdicts = try await SchemaCheck.run([("valid", try SchemaCheck.json(valid))])
        #expect(verdicts == ["valid"])
    }

    static func readmeExamples(_ readme: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if var lines = current {
                if line.hasPrefix("```") {
                    if lines.first == "# devloop.yaml" { blocks.append(lines.joined(separator: "\n") + "\n") }
                    current = nil
                } else {
                    lines.append(line)
                    current = lines
                }
            } else if line == "```yaml" {
                current = []
            }
        }
        return blocks
    }
}

/// Runs dev/check-schema.py over JSON instances written to a scratch folder.
enum SchemaCheck {
    /// Bounded like the manifest reader: an alias bomb throws instead of expanding.
    static func json(_ yaml: String) throws -> String {
        guard let node = try Yams.compose(yaml: yaml) else { return "null" }
        var budget = ManifestScope.nodeBudget
        let value = try BoundedJSON.convert(
            node, budget: &budget, depth: 0, at: ConfigNode(node: node, path: "", file: "schema instance"))
        return String(decoding: try value.encoded(), as: UTF8.self)
    }

    /// One verdict per instance, in order: "valid", or "invalid: PATH: MESSAGE".
    static func run(_ instances: [(name: String, json: String)]) async throws -> [String] {
        let folder = try TemporaryProject()
        var files: [String] = []
        for (index, instance) in instances.enumerated() {
            let file = folder.path("\(index).json")
            try instance.json.write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        let (status, output) = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", RepositoryFiles.path("dev/check-schema.py"), RepositoryFiles.path("dev/devloop.schema.json")]
                + files)
        try #require(status == 0, "dev/check-schema.py failed (status \(status)): \(output)")
        let lines = output.split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 2).map(String.init) }
        return try files.map { file in
            let line = try #require(lines.first { $0.first == file }, "no verdict for \(file): \(output)")
            return line.count > 2 ? "invalid: \(line[2])" : line[1]
        }
    }
}

/// A child process awaited through its termination handler, off Swift's cooperative pool. Its output
/// goes to a file, not a pipe: a pipe's end inherited by a process another test spawns at the same
/// moment would hold back the end of file.
enum ChildProcess {
    static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        let scratch = try TemporaryProject()
        let outputPath = scratch.path("output")
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }
}
