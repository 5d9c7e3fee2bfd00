import Foundation
import Testing

@testable import DevLoop

@Suite("ConfigLoader")
struct ConfigLoaderTests {
    @Test("the shipped dev/devloop.yaml loads into the web app's model")
    func shippedConfig() throws {
        let project = try TemporaryProject()
        try project.folder("dev/k8s")
        let text = try String(contentsOfFile: RepositoryFiles.path("dev/devloop.yaml"), encoding: .utf8)
        let config = try ConfigLoader.load(yaml: text, file: project.path("dev/devloop.yaml"))
        #expect(config.root == project.root)
        #expect(config.namespace == "webapp-dev")
        #expect(config.manifests == [project.path("dev/k8s")])
        #expect(config.pod.selector == ["devloop.dev/pod": "webapp"])
        #expect(config.pod.labelSelector == "devloop.dev/pod=webapp")
        #expect(config.pod.container == "webapp")
        #expect(config.pod.readyTimeout == .seconds(1800))
        #expect(
            config.sync == [
                SyncMapping(
                    local: project.root, remote: "/app", hostPath: "/var/lib/devloop/webapp/app",
                    excludes: [".build/", ".build-*/", ".devloop/", ".git/"], podOwned: [".build/"])
            ])
        #expect(
            config.restart
                == RestartPolicy(
                    paths: ["*.swift", "/Package.swift"],
                    build: "swift build --product WebApp --scratch-path /app/.build",
                    run: "exec /app/.build/debug/WebApp"))
        // The config and the dev deployment it applies agree: the selector picks the pod template,
        // the container exists, and the restart runs what the supervisor runs at start.
        let manifest = try String(contentsOfFile: RepositoryFiles.path("dev/k8s/webapp-dev.yaml"), encoding: .utf8)
        #expect(manifest.contains("devloop.dev/pod: webapp"))
        #expect(manifest.contains("- name: webapp"))
        #expect(manifest.contains("value: \(config.restart?.build ?? "")"))
        #expect(manifest.contains("value: \(config.restart?.run ?? "")"))
        #expect(manifest.contains("path: /var/lib/devloop/webapp/app"))
        #expect(config.forwards == [ForwardSpec(address: "127.0.0.1", localPort: 8080, remotePort: .number(5000))])
        #expect(config.transport == .auto)
    }

    @Test("defaults: root is the file's folder, one forward 8080 → 5000, auto transport, no restart")
    func defaults() throws {
        let project = try TemporaryProject()
        try project.folder("k8s")
        let config = try ConfigLoader.load(
            yaml:
                "namespace: my-dev\nmanifests: [k8s]\npod: {selector: \"app=x,tier=dev\"}\nsync: [{from: ., to: /src}]\n",
            file: project.path("devloop.yaml"))
        #expect(config.root == project.root)
        #expect(config.pod.selector == ["app": "x", "tier": "dev"])
        #expect(config.forwards == [ForwardSpec()])
        #expect(config.transport == .auto)
        #expect(config.restart == nil)
    }

    @Test("durations are Go-style")
    func durations() {
        #expect(ConfigSyntax.duration("1m30s") == .seconds(90))
        #expect(ConfigSyntax.duration("250ms") == .milliseconds(250))
        #expect(ConfigSyntax.duration("1.5h") == .seconds(5400))
        #expect(ConfigSyntax.duration("10") == nil)
        #expect(ConfigSyntax.duration("10 s") == nil)
        #expect(ConfigSyntax.duration("s") == nil)
        #expect(ConfigSyntax.duration("1y") == nil)
    }

    @Test("a near-miss key gets a suggestion, a far one the list of keys")
    func suggestions() throws {
        let project = try TemporaryProject()
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.load(yaml: "namepsace: x\n", file: project.path("devloop.yaml"))
        }
        #expect(
            error?.description
                == "\(project.path("devloop.yaml")):1:1: namepsace: unknown key `namepsace`; did you mean `namespace`?")
        #expect(Suggestion.hint(for: "zzz", among: ["root", "pod"]).contains("known keys: root, pod"))
    }

    @Test("load(path:) reads the file and reports a missing one as bad input")
    func loadPath() throws {
        let project = try TemporaryProject()
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.load(path: project.path("nope.yaml")) }
        #expect(error?.description == "\(project.path("nope.yaml")):1:1: (file): does not exist")
    }
}

/// A scratch folder for one test, removed when the value goes away.
final class TemporaryProject {
    let root: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        root = LocalPath.absolute("devloop-config-\(UUID().uuidString)", against: base)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { LocalPath.absolute(relative, against: root) }

    func folder(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
    }

    func file(_ relative: String, _ text: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path(relative) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path(relative), atomically: true, encoding: .utf8)
    }
}

/// Files of this repository, found from this source file's place in it.
enum RepositoryFiles {
    static func path(_ relative: String) -> String {
        let here = URL(fileURLWithPath: #filePath)
        let repository = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return repository.appendingPathComponent(relative).path
    }
}
