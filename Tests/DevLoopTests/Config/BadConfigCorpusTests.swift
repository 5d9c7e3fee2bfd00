import Foundation
import Testing

@testable import DevLoop

/// Every file of Fixtures/BadConfigs is refused with a `ConfigError` naming that file, the line and
/// column, and the field that expected.tsv says, with its message fragment.
@Suite("BadConfigCorpus")
struct BadConfigCorpusTests {
    static let namespace = "webapp-dev"

    struct Case: CustomTestStringConvertible, Sendable {
        var file: String
        var field: String
        var fragment: String
        var line: Int
        var column: Int
        var testDescription: String { file }
        /// Refused only against a cluster whose state the CLI test sets up first.
        var needsCluster: Bool { file.hasPrefix("cluster-") }
        /// `manifest-*` and `cluster-manifest-*` are manifests (scoped to webapp-dev), the rest configs.
        var isManifest: Bool { file.hasPrefix("manifest-") || file.hasPrefix("cluster-manifest-") }
        var path: String { LocalPath.absolute(file, against: BadConfigCorpus.folder) }
    }

    @Test("the index lists every corpus file, at least 55")
    func indexIsComplete() throws {
        let listed = Set(try BadConfigCorpus.cases().map(\.file))
        let files = try FileManager.default.contentsOfDirectory(atPath: BadConfigCorpus.folder)
            .filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == listed)
        #expect(listed.count >= 55)
    }

    @Test(
        "each corpus file is refused where and why the index says",
        arguments: try BadConfigCorpus.cases().filter { !$0.needsCluster })
    func refused(_ entry: Case) throws {
        let error = try #require(BadConfigCorpus.refusal(entry.path), "\(entry.file) was accepted")
        #expect(error.file == entry.path)
        #expect(error.field == entry.field)
        #expect(error.message.contains(entry.fragment), "\(error.message)")
        #expect(
            "\(error.line):\(error.column)" == "\(entry.line):\(entry.column)",
            "\(entry.file): \(error.description)")
        #expect(error.description == "\(entry.path):\(error.line):\(error.column): \(entry.field): \(error.message)")
        // The message never quotes a whole source line: in a manifest that line may be a Secret's value.
        let source = String(
            decoding: (try? Data(contentsOf: URL(fileURLWithPath: entry.path))) ?? Data(), as: UTF8.self)
        for line in source.split(separator: "\n") where line.count >= 16 && !line.contains("[[") {
            #expect(!error.message.contains(line.trimmingCharacters(in: .whitespaces)), "quotes: \(line)")
        }
    }

    /// `cluster-*` cases are valid files that only the cluster refuses (BadInputCLITests runs them).
    @Test("the cases that need a cluster load without a cluster")
    func clusterCasesLoad() throws {
        let cases = try BadConfigCorpus.cases().filter(\.needsCluster)
        #expect(!cases.isEmpty)
        for entry in cases {
            if entry.isManifest {
                #expect(try DevManifests.load(paths: [entry.path], namespace: Self.namespace).objects.count >= 1)
            } else {
                let config = try ConfigLoader.load(path: entry.path)
                #expect(
                    "\(config.namespacePlace.line):\(config.namespacePlace.column)" == "\(entry.line):\(entry.column)")
            }
        }
    }

    @Test("syntax errors in files with secrets name the place, not the text")
    func noSecretsInSyntaxErrors() throws {
        for (file, secret) in [("config-secret-in-syntax-error.yaml", "s3cr3t"), ("manifest-syntax.yaml", "hunter2")] {
            let error = try #require(BadConfigCorpus.refusal(LocalPath.absolute(file, against: BadConfigCorpus.folder)))
            #expect(!error.description.contains(secret))
            #expect(error.line > 1)
        }
    }

    @Test("a file over 1 MiB is refused before it is parsed")
    func hugeFiles() throws {
        let project = try TemporaryProject()
        let filler = String(
            repeating: "# padding padding padding padding padding padding padding padding\n", count: 16_500)
        for name in ["config-huge.yaml", "manifest-huge.yaml"] {
            try project.file(name, "namespace: webapp-dev\n" + filler)
            let error = try #require(BadConfigCorpus.refusal(project.path(name)))
            #expect(
                error.description
                    == "\(project.path(name)):1:1: (file): is larger than 1024 KiB: not a config or manifest file")
        }
    }

    @Test("the support manifest that the corpus configs name is itself valid")
    func supportManifestIsValid() throws {
        let manifests = try DevManifests.load(
            paths: [LocalPath.absolute("support/ok.yaml", against: BadConfigCorpus.folder)], namespace: Self.namespace)
        #expect(manifests.objects.map { "\($0.kind)/\($0.name)" } == ["ConfigMap/ok"])
        #expect(manifests.values.first?[path: "metadata", "namespace"]?.string == Self.namespace)
    }
}

enum BadConfigCorpus {
    static let folder = RepositoryFiles.path("Tests/DevLoopTests/Fixtures/BadConfigs")

    static func cases() throws -> [BadConfigCorpusTests.Case] {
        let index = try String(contentsOfFile: folder + "/expected.tsv", encoding: .utf8)
        return index.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { row in
            let columns = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let place = (columns.count > 3 ? columns[3] : "0:0").split(separator: ":").compactMap { Int($0) }
            return BadConfigCorpusTests.Case(
                file: columns[0], field: columns[1], fragment: columns[2], line: place.first ?? 0,
                column: place.last ?? 0)
        }
    }

    /// The corpus's configs are `config-*`, its manifests `manifest-*` (scoped to webapp-dev).
    static func refusal(_ path: String) -> ConfigError? {
        do {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix("manifest-") || name.hasPrefix("cluster-manifest-") {
                _ = try DevManifests.load(paths: [path], namespace: BadConfigCorpusTests.namespace)
            } else {
                _ = try ConfigLoader.load(path: path)
            }
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("not a ConfigError: \(error)")
            return nil
        }
    }
}
