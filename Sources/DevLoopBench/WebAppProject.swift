import Foundation

/// A copy of the shipped web app as a developer has it (what SwiftPM needs of the repository, with
/// dev/devloop.yaml, dev/k8s and dev/supervisor.sh as shipped), except for this machine's folders —
/// the hostPaths, the build folder the in-pod build cache that WebAppInPodTests shares — the local
/// port, and a build command that also writes its own time where the bench reads it: in restart.build
/// and in the manifest's DEVLOOP_BUILD alike, kept equal as shipped, since SwiftPM plans the whole
/// package again (30-70 s here) when a build's environment differs from the last one's.
struct WebAppProject {
    let work: URL
    let port: UInt16
    let buildCache: URL

    var root: URL { work.appendingPathComponent("project") }
    var config: URL { root.appendingPathComponent("dev/devloop.yaml") }
    var sourcesHostPath: URL { work.appendingPathComponent("node/app") }
    /// Where the timed build leaves its own duration (ns): the pod's /app/.build is `buildCache`.
    var buildTimeFile: URL { buildCache.appendingPathComponent("devloop-bench-build.ns") }

    static let buildFolder = "/app/.build"
    static let healthSource = "Sources/WebAppCore/Web/HealthRoutes.swift"

    /// The in-pod build cache: the same folder WebAppInPodTests keeps under the temporary folder.
    static var defaultBuildCache: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("devloop-webapp-inpod-build")
    }

    /// Whether the cache holds a built server: without one the first build compiles every dependency.
    var cacheIsWarm: Bool {
        FileManager.default.fileExists(atPath: buildCache.appendingPathComponent("debug/WebApp").path)
    }

    init(work: URL, buildCache: URL = Self.defaultBuildCache) throws {
        self.work = work
        self.buildCache = buildCache
        port = freePort()
        let files = FileManager.default
        try files.createDirectory(at: buildCache, withIntermediateDirectories: true)
        try files.createDirectory(at: root, withIntermediateDirectories: true)
        let repository = try BenchPaths.repository()
        for item in ["dev", "Sources", "Tests", "Package.resolved", "Package.swift"] {
            let source = repository.appendingPathComponent(item)
            guard files.fileExists(atPath: source.path) else { continue }
            try files.copyItem(at: source, to: root.appendingPathComponent(item))
        }
        let shipped = "/var/lib/devloop/webapp/"
        let build = try Self.shippedBuild(in: config)
        try Self.rewrite(
            root.appendingPathComponent("dev/k8s/webapp-dev.yaml"),
            [
                shipped + "app": sourcesHostPath.path, shipped + "build": buildCache.path,
                shipped + "data": work.appendingPathComponent("node/data").path,
                "value: \(build)\n": "value: \(jsonString(Self.timed(build)))\n",
            ])
        try Self.rewrite(
            config,
            [
                shipped + "app": sourcesHostPath.path, "local: 8080": "local: \(port)",
                "build: \(build)\n": "build: \(jsonString(Self.timed(build)))\n",
            ])
    }

    /// The shipped `restart.build` command.
    static func shippedBuild(in config: URL) throws -> String {
        let text = try String(contentsOf: config, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("  build: ") }) else {
            throw BenchError("\(config.path) has no restart.build line")
        }
        return String(line.dropFirst("  build: ".count))
    }

    /// `build`, then its own duration in ns into the build folder; the exit status is the build's.
    static func timed(_ build: String) -> String {
        "s=$(date +%s%N); \(build); r=$?; echo $(($(date +%s%N) - s)) > \(buildFolder)/devloop-bench-build.ns; exit $r"
    }

    /// Replaces each shipped text, which must occur in `file`, and fails on a leftover folder of this
    /// machine, so that a folder moved in the shipped files cannot point the bench at /var/lib.
    static func rewrite(_ file: URL, _ replacements: [String: String]) throws {
        var text = try String(contentsOf: file, encoding: .utf8)
        for (shipped, replacement) in replacements {
            guard text.contains(shipped) else { throw BenchError("\(file.path) no longer contains \(shipped)") }
            text = text.replacingOccurrences(of: shipped, with: replacement)
        }
        guard !text.contains("/var/lib/devloop") else {
            throw BenchError("\(file.path) still names a folder of this machine")
        }
        try Data(text.utf8).write(to: file)
    }

    /// Replaces `old` with `new` in the copy's `path`, as an editor's save does.
    func edit(_ path: String, replacing old: String, with new: String) throws {
        let file = root.appendingPathComponent(path)
        let text = try String(contentsOf: file, encoding: .utf8)
        guard text.contains(old) else { throw BenchError("\(path) no longer contains \(old)") }
        try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: file)
    }

    /// The last timed build's own duration, in ms, and when it was written.
    func lastBuild() -> (milliseconds: Double, written: Date)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: buildTimeFile.path),
            let written = attributes[.modificationDate] as? Date,
            let text = try? String(contentsOf: buildTimeFile, encoding: .utf8),
            let nanoseconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return (nanoseconds / 1e6, written)
    }
}
