import Foundation

/// The project the loop benchmark develops: a Python server run by dev/supervisor.sh, whose
/// response carries its template (read on each request: an edit needs no restart), the message its
/// "build" copied at start (an edit of source.txt needs a restart), and when its process started
/// and began to listen (so the server's own start-up can be taken out of devloop's share).
struct LoopFixture {
    let work: URL
    let port: UInt16

    var project: URL { work.appendingPathComponent("project") }
    var app: URL { project.appendingPathComponent("app") }
    var config: URL { project.appendingPathComponent("devloop.yaml") }
    var devloopHostPath: URL { work.appendingPathComponent("node/app") }
    /// The hand-made loop's own copy of the sources (what `kubectl cp` sends) and its pod's folder.
    var manualSources: URL { work.appendingPathComponent("manual-src") }
    var manualHostPath: URL { work.appendingPathComponent("manual-node/app") }

    static let run = "export START_NS=$(date +%s%N); exec python3 -u serve.py"
    /// The clock starts before `sh build.sh` does, as the server's (START_NS) starts before `exec python3`: a
    /// build's own shell start is the build's time, not devloop's.
    static let build = "export BUILD_START_NS=$(date +%s%N); sh build.sh"

    static let server = """
        import http.server, os, time
        start_ns = int(os.environ.get("START_NS", "0"))
        message = open("message").read().strip()
        build_ns = open("build.ns").read().strip()
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page = open("templates/page.txt").read().strip()
                body = f"{page} {message} {start_ns} {listen_ns} {build_ns}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("0.0.0.0", 5000), H)
        listen_ns = time.time_ns()
        print(f"serving {message}", flush=True)
        server.serve_forever()

        """

    init(work: URL) throws {
        self.work = work
        port = freePort()
        let files = FileManager.default
        for folder in [app, devloopHostPath, manualHostPath, project.appendingPathComponent("k8s")] {
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try files.createDirectory(at: app.appendingPathComponent("dev"), withIntermediateDirectories: true)
        try files.createDirectory(at: app.appendingPathComponent("templates"), withIntermediateDirectories: true)
        try files.copyItem(at: try BenchPaths.supervisor(), to: app.appendingPathComponent("dev/supervisor.sh"))
        try write("serve.py", Self.server)
        // The build times itself, so that its own time (not the exec that runs it) is taken out.
        try write(
            "build.sh", "cp source.txt message\necho $(($(date +%s%N) - BUILD_START_NS)) > build.ns\n")
        try write("source.txt", "msg-start\n")
        try write("templates/page.txt", "tpl-start\n")
        try write(in: project, "k8s/app.yaml", Self.deployment(namespace: nil, hostPath: devloopHostPath.path))
        try write(
            in: project, "devloop.yaml",
            """
            namespace: bench-dev
            manifests: [k8s]
            pod:
              selector: {devloop.dev/pod: bench}
              container: app
              readyTimeout: 120s
            sync:
              - from: app
                to: /app
                hostPath: \(jsonString(devloopHostPath.path))
            restart:
              paths: [source.txt, "*.py"]
              build: \(jsonString(Self.build))
              run: \(jsonString(Self.run))
            forwards:
              - local: \(port)
                remote: 5000

            """)
        // The hand-made loop starts from the same tree, copied once (not timed).
        try files.copyItem(at: app, to: manualSources)
        for entry in try files.contentsOfDirectory(atPath: app.path) {
            try files.copyItem(at: app.appendingPathComponent(entry), to: manualHostPath.appendingPathComponent(entry))
        }
    }

    func write(_ path: String, _ text: String) throws { try write(in: app, path, text) }

    func write(in folder: URL, _ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: folder.appendingPathComponent(path))
    }

    /// The Deployment both loops run (JSON, which is YAML): devloop's in its dev namespace, the
    /// hand-made one in a namespace of its own.
    static func deployment(namespace: String?, hostPath: String) -> String {
        var metadata: [String: Any] = ["name": "fixture"]
        if let namespace { metadata["namespace"] = namespace }
        let labels = ["devloop.dev/pod": "bench"]
        let env: [[String: String]] = [
            ["name": "DEVLOOP_APP_DIR", "value": "/app"],
            ["name": "DEVLOOP_WAIT_FOR", "value": "serve.py"],
            ["name": "DEVLOOP_BUILD", "value": build],
            ["name": "DEVLOOP_RUN", "value": run],
            ["name": "DEVLOOP_READY_COMMAND", "value": "curl -fsS -o /dev/null http://127.0.0.1:5000/"],
            ["name": "DEVLOOP_STOP_TIMEOUT", "value": "2"],
        ]
        let container: [String: Any] = [
            "name": "app", "image": "devloop/bench", "command": ["/bin/sh", "-c"],
            "args": [
                "trap 'exit 0' TERM INT\nuntil [ -f /app/dev/supervisor.sh ]; do sleep 0.2; done\n"
                    + "exec /bin/sh /app/dev/supervisor.sh run"
            ],
            "env": env, "ports": [["name": "http", "containerPort": 5000]],
            "readinessProbe": ["httpGet": ["path": "/", "port": 5000], "periodSeconds": 1],
            "volumeMounts": [["name": "src", "mountPath": "/app"]],
        ]
        let object: [String: Any] = [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
            "spec": [
                "replicas": 1, "selector": ["matchLabels": labels],
                "template": [
                    "metadata": ["labels": labels],
                    "spec": [
                        "terminationGracePeriodSeconds": 1, "containers": [container],
                        "volumes": [["name": "src", "hostPath": ["path": hostPath, "type": "DirectoryOrCreate"]]],
                    ],
                ],
            ],
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// The fields of one response of the fixture server.
struct FixtureAnswer {
    var page: String
    var message: String
    /// The server process's start (its shell's `date`) to its listening socket, in ms.
    var startToListen: Double
    /// The build command's own time (from before `sh build.sh` to its last `date`), in ms.
    var build: Double

    init?(_ body: String) {
        let fields = body.split(separator: " ")
        guard fields.count == 5, let start = Double(fields[2]), let listen = Double(fields[3]),
            let build = Double(fields[4])
        else { return nil }
        page = String(fields[0])
        message = String(fields[1])
        startToListen = (listen - start) / 1e6
        self.build = build / 1e6
    }
}
