import Foundation

/// A throwaway project devloop develops in the end-to-end tests: a static site served by busybox httpd
/// from a hostPath volume (so edits show on the next request with no restart), its dev Deployment and
/// its devloop.yaml with a free local port.
struct FixtureProject {
    let dir: TempDir
    let port: UInt16
    let namespace: String

    var root: String { dir.path }
    var config: String { dir.path + "/devloop.yaml" }
    var app: String { dir.path + "/app" }
    var hostPath: String { dir.path + "/node/app" }
    /// The pod's /state (with `stateVolume`): a hostPath of this machine's that no sync touches.
    var statePath: String { dir.path + "/node/state" }

    /// `emptyDir`: the pod's /app is its own (exec+tar only), so a replacement pod starts empty.
    /// `command`: the container's command (JSON), busybox httpd serving /app by default.
    /// `remote`: the forward's container port, the port named http by default.
    /// `stateVolume`: the container also mounts `statePath` at /state.
    init(
        namespace: String = "fixture-dev", extraConfig: String = "", emptyDir: Bool = false,
        index: String = "hello v1\n", command: String = defaultCommand, remote: String = "http",
        stateVolume: Bool = false
    ) throws {
        dir = TempDir("devloop-e2e")
        port = freePort()
        self.namespace = namespace
        _ = dir.sub("app")
        _ = dir.sub("k8s")
        _ = dir.sub("node/app")
        try write("app/index.html", index)
        try write(
            "k8s/app.yaml",
            Self.deployment(
                hostPath: emptyDir ? nil : hostPath, command: command, statePath: stateVolume ? statePath : nil))
        try write(
            "devloop.yaml",
            """
            namespace: \(namespace)
            manifests: [k8s]
            pod:
              selector: {app: fixture, devloop.dev/role: dev}
              container: app
              readyTimeout: 60s
            sync:
              - from: app
                to: /app
                hostPath: \(hostPath)
            forwards:
              - local: \(port)
                remote: \(remote)
            \(extraConfig)
            """)
    }

    func write(_ path: String, _ text: String) throws {
        try text.write(toFile: dir.path + "/" + path, atomically: true, encoding: .utf8)
    }

    func remove() { dir.remove() }

    static let defaultCommand = #"["busybox", "httpd", "-f", "-p", "5000", "-h", "/app"]"#

    /// busybox httpd serving /app, and beside it a line `tick BOOT N` every 50 ms (BOOT: this start of the
    /// container, N from 1), each recorded in /state/last once written (renamed into place, so a reader
    /// never sees half a line): the lines a cut must not lose.
    static let tickingCommand =
        #"["sh", "-c", "#
        + KubeSimFixture.jsonString(
            """
            boot=$(cat /proc/sys/kernel/random/uuid); boot=${boot%%-*}; i=0
            (while true; do i=$((i + 1)); echo "tick $boot $i"; echo "$boot $i" > /state/next; mv /state/next /state/last; sleep 0.05; done) &
            exec busybox httpd -f -p 5000 -h /app
            """) + "]"

    static func deployment(hostPath: String?, command: String = defaultCommand, statePath: String? = nil) -> String {
        let volume = hostPath.map { "hostPath: {path: \($0), type: DirectoryOrCreate}" } ?? "emptyDir: {}"
        let stateMount = statePath == nil ? "" : "\n        - {name: state, mountPath: /state}"
        let stateVolume =
            statePath.map { "\n      - name: state\n        hostPath: {path: \($0), type: DirectoryOrCreate}" } ?? ""
        return
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: fixture
            spec:
              replicas: 1
              selector:
                matchLabels: {app: fixture, devloop.dev/role: dev}
              template:
                metadata:
                  labels: {app: fixture, devloop.dev/role: dev}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: app
                    image: busybox
                    command: \(command)
                    ports:
                    - {name: http, containerPort: 5000}
                    readinessProbe:
                      httpGet: {path: /, port: 5000}
                      periodSeconds: 1
                    volumeMounts:
                    - {name: src, mountPath: /app}\(stateMount)
                  volumes:
                  - name: src
                    \(volume)\(stateVolume)
            """
    }
}
