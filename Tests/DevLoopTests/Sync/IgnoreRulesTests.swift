import Foundation
import ProcessTestSupport
import Testing

@testable import DevLoop

/// The ignore matcher against git itself: a temp repository with nested .gitignore files and a
/// table of paths; `git check-ignore` is the judge of every verdict.
@Suite struct IgnoreRulesTests {
    static let gitignores: [String: String] = [
        ".gitignore": [
            "# comment",
            "*.log",
            "!keep.log",
            "/build/",
            "docs/*.md",
            "**/cache",
            "a/**/z",
            "\\#hash",
            "\\!bang",
            "trail\\ ",
            "spaces   ",
            "*.o",
            "!/src/special.o",
            "dironly/",
            "[abc]x.txt",
            "[!m-z]q.txt",
            "?y.txt",
            "logs/**",
            "!logs/keep/",
            "foo/**/bar/",
            "deep/*/one",
            "/anchored.txt",
            "nested/file.txt",
        ].joined(separator: "\n"),
        "src/.gitignore": """
        *.tmp
        !important.tmp
        /local-only
        sub/*.gen
        !*.log
        """,
        "src/sub/.gitignore": """
        !kept.gen
        inner/
        """,
    ]

    static let paths: [(String, Bool)] = [
        ("x.log", false), ("keep.log", false), ("d/y.log", false), ("d/keep.log", false),
        ("build", true), ("build/out.txt", false), ("src/build", true), ("src/build/x", false),
        ("docs/a.md", false), ("docs/sub/a.md", false), ("other/docs/a.md", false),
        ("cache", true), ("src/cache", true), ("src/cache/x", false), ("src/cache2", false),
        ("a/z", false), ("a/b/z", false), ("a/b/c/z", false), ("b/a/z", false),
        ("#hash", false), ("!bang", false), ("trail ", false), ("trail", false), ("spaces", false),
        ("x.o", false), ("src/special.o", false), ("src/sub/special.o", false),
        ("dironly", true), ("dironly/f", false), ("src/dironly", false), ("src/dironly2", true),
        ("ax.txt", false), ("dx.txt", false), ("aq.txt", false), ("nq.txt", false), ("ay.txt", false),
        ("aay.txt", false), ("logs/x", false), ("logs/keep", true), ("logs/keep/f", false), ("logs/other/f", false),
        ("foo/bar", true), ("foo/x/y/bar", true), ("foo/x/bar/f", false), ("foo/bar.txt", false),
        ("deep/x/one", false), ("deep/x/y/one", false), ("anchored.txt", false), ("src/anchored.txt", false),
        ("nested/file.txt", false), ("src/nested/file.txt", false),
        ("src/a.tmp", false), ("src/important.tmp", false), ("src/sub/b.tmp", false), ("a.tmp", false),
        ("src/local-only", false), ("src/sub/local-only", false), ("src/sub/x.gen", false), ("src/sub/kept.gen", false),
        ("src/sub/deeper/x.gen", false), ("src/z.log", false), ("src/sub/inner", true), ("src/sub/inner/f", false),
        ("inner", true), (".git/config", false), (".build/debug/x", false), (".build-release/y", false),
        ("src/.build", true), ("src/.gitignore", false),
    ]

    @Test func agreesWithGitCheckIgnore() async throws {
        let dir = TempDir("devloop-ignore")
        defer { dir.remove() }
        let root = dir.path
        try await Self.run(["git", "init", "-q", root])
        for (path, text) in Self.gitignores {
            try FileManager.default.createDirectory(
                atPath: root + "/" + DestinationIndex.split(path).parent, withIntermediateDirectories: true)
            try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: root + "/" + path))
        }
        for (path, isDirectory) in Self.paths where !path.hasPrefix(".git/") {
            let full = root + "/" + path
            if isDirectory {
                try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
            } else {
                try FileManager.default.createDirectory(
                    atPath: DestinationIndex.split(full).parent, withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: full, contents: Data())
            }
        }
        let candidates = Self.paths.map(\.0).filter {
            !$0.hasPrefix(".git/") && !$0.hasPrefix(".build") && !$0.hasPrefix("src/.build")
        }
        let output = try await Self.run(
            ["git", "-C", root, "check-ignore", "--no-index", "--stdin"],
            input: candidates.joined(separator: "\n") + "\n")
        let gitIgnored = Set(output.split(separator: "\n").map(String.init))
        let rules = IgnoreRules(root: root)
        var disagreements: [String] = []
        for path in candidates {
            let isDirectory = Self.paths.first { $0.0 == path }!.1
            let ours = rules.isIgnored(path, isDirectory: isDirectory)
            if ours != gitIgnored.contains(path) {
                disagreements.append("\(path): git \(gitIgnored.contains(path)) / devloop \(ours)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        #expect(gitIgnored.count > 20, "the table should exercise many ignored paths, git ignored \(gitIgnored.count)")
        // Defaults that are not .gitignore rules.
        #expect(rules.isIgnored(".git/config", isDirectory: false))
        #expect(rules.isIgnored(".build/debug/x", isDirectory: false))
        #expect(rules.isIgnored(".build-release/y", isDirectory: false))
        #expect(rules.isIgnored("src/.build", isDirectory: true))
    }

    @Test func dockerignoreDevloopignoreAndExcludes() throws {
        let dir = TempDir("devloop-ignore")
        defer { dir.remove() }
        writeFile(dir.path + "/.gitignore", "generated/\n")
        writeFile(dir.path + "/.dockerignore", "node_modules\n*.md\n")
        writeFile(dir.path + "/.devloopignore", "!generated/\nsecrets/\n")
        let rules = IgnoreRules(root: dir.path, excludes: ["*.bak", "/tmp"])
        // .dockerignore patterns are relative to the root only.
        #expect(rules.isIgnored("node_modules", isDirectory: true))
        #expect(!rules.isIgnored("web/node_modules", isDirectory: true))
        #expect(rules.isIgnored("README.md", isDirectory: false))
        #expect(!rules.isIgnored("docs/guide.md", isDirectory: false))
        // .devloopignore applies after .gitignore, so it can bring paths back.
        #expect(!rules.isIgnored("generated/x.swift", isDirectory: false))
        #expect(rules.isIgnored("secrets/key", isDirectory: false))
        #expect(rules.isIgnored("a/b.bak", isDirectory: false))
        #expect(rules.isIgnored("tmp", isDirectory: true))
        #expect(!rules.isIgnored("src/tmp", isDirectory: true))
        for name in [
            "a.swp", ".a.swx", "a~", ".#a", "4913", "5036", ".goutputstream-XYZ", "a___jb_tmp___", "a___jb_old___",
        ] {
            #expect(rules.isIgnored("src/" + name, isDirectory: false), "\(name)")
        }
        #expect(!rules.isIgnored("src/4914", isDirectory: false))
    }

    /// Runs a command, returning its exit status and its stdout, then its stderr.
    static func runStatus(_ command: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let outcome = try await process.runToEnd(timeout: .seconds(120))
        return (outcome.status ?? -1, String(decoding: outcome.stdout + outcome.stderr, as: UTF8.self))
    }

    @discardableResult
    static func run(_ command: [String], input: String = "") async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardError = FileHandle.standardError
        let outcome = try await process.runToEnd(stdin: Data(input.utf8))
        return String(decoding: outcome.stdout, as: UTF8.self)
    }
}
