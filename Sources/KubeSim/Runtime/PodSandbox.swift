import Foundation

/// A pod's shared parts: the network namespace its containers join (held by a `sleep` under
/// bubblewrap, as a pause container holds it), its folder for emptyDir volumes, per-container /tmp and
/// logs, and the bubblewrap command lines of its processes.
final class PodSandbox: Sendable {
    let pod: RuntimePod
    let settings: BubblewrapRuntimeConfiguration
    let directory: String
    let root: [RootEntry]
    private let holder: SandboxProcess
    /// A process inside the pod's network namespace (bubblewrap's init in the holder sandbox).
    let namespacePID: pid_t

    var networkNamespacePath: String { "/proc/\(namespacePID)/ns/net" }
    var dialer: NetworkNamespaceDialer {
        NetworkNamespaceDialer(namespacePath: networkNamespacePath, podName: "\(pod.namespace)/\(pod.name)")
    }

    private init(
        pod: RuntimePod, settings: BubblewrapRuntimeConfiguration, directory: String, root: [RootEntry],
        holder: SandboxProcess, namespacePID: pid_t
    ) {
        self.pod = pod
        self.settings = settings
        self.directory = directory
        self.root = root
        self.holder = holder
        self.namespacePID = namespacePID
    }

    static func start(_ pod: RuntimePod, settings: BubblewrapRuntimeConfiguration) async throws -> PodSandbox {
        let directory = settings.stateDirectory.appendingPathComponent("pods")
            .appendingPathComponent("\(pod.namespace)_\(pod.name)_\(pod.uid)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let root = RootEntry.host(settings.hostFolders)
        let command = BubblewrapCommand(
            root: root, hostname: pod.name, newNetworkNamespace: true, program: ["sleep", "infinity"])
        let errors = try CloseOnExecPipe()
        let holder: SandboxProcess
        do {
            holder = try await SandboxProcess.start(
                command, bubblewrapPath: settings.bubblewrapPath, environment: ["PATH": settings.defaultPath],
                stdio: [-1, -1, errors.writeEnd])
        } catch {
            close(errors.readEnd)
            close(errors.writeEnd)
            throw error
        }
        close(errors.writeEnd)
        guard let pid = holder.initPID else {
            holder.killAll()
            _ = await holder.wait()
            let message = await onDedicatedThread("kubesim-sandbox") { readToEnd(errors.readEnd) }
            close(errors.readEnd)
            throw RuntimeError(
                "cannot create the sandbox of pod \(pod.namespace)/\(pod.name) with \(settings.bubblewrapPath): "
                    + String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        close(errors.readEnd)
        return PodSandbox(
            pod: pod, settings: settings, directory: directory, root: root, holder: holder, namespacePID: pid)
    }

    /// Kills the namespace holder; the namespace goes when the last process in it has gone.
    func stop() async {
        holder.killAll()
        _ = await holder.wait()
    }

    func removeFiles() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The folder of a container's own files (its /tmp, its logs).
    func containerDirectory(_ name: String) -> String {
        directory + "/containers/" + name
    }

    /// The bubblewrap command that runs `program` with the container's mounts, working directory, hostname.
    func command(for container: RuntimeContainer, program: [String]) throws -> BubblewrapCommand {
        // /tmp is the instance's (emptied on restart); /root, the home, survives restarts so that caches
        // such as Swift's module cache stay warm across the restarts of a dev loop.
        let folder = containerDirectory(container.name)
        try FileManager.default.createDirectory(atPath: folder + "/home", withIntermediateDirectories: true)
        var binds: [BindMount] = [
            BindMount(source: folder + "/tmp", destination: "/tmp", readOnly: false),
            BindMount(source: folder + "/home", destination: "/root", readOnly: false),
        ]
        for mount in container.volumeMounts {
            guard mount.mountPath.hasPrefix("/") else {
                throw RuntimeError(
                    "container \"\(container.name)\": volumeMounts mountPath \"\(mount.mountPath)\" must be absolute")
            }
            guard let volume = pod.volumes.first(where: { $0.name == mount.name }) else {
                throw RuntimeError(
                    "container \"\(container.name)\": volumeMounts name \"\(mount.name)\" is not a volume of the pod")
            }
            binds.append(
                BindMount(source: try hostFolder(of: volume), destination: mount.mountPath, readOnly: mount.readOnly))
        }
        return BubblewrapCommand(
            root: root, hostname: pod.name, binds: binds, workingDirectory: container.workingDir ?? "/",
            program: program)
    }

    /// The environment a container's processes start with: a default PATH and HOME, then the spec's env.
    func environment(for container: RuntimeContainer) -> [String: String] {
        var environment = ["PATH": settings.defaultPath, "HOME": "/root", "HOSTNAME": pod.name]
        environment.merge(container.env) { _, spec in spec }
        return environment
    }

    private func hostFolder(of volume: RuntimeVolume) throws -> String {
        let path: String
        switch volume.source {
        case .hostPath(let hostPath):
            guard hostPath.hasPrefix("/") else {
                throw RuntimeError("volume \"\(volume.name)\": hostPath \"\(hostPath)\" must be absolute")
            }
            path = hostPath
        case .emptyDir:
            path = directory + "/volumes/" + volume.name
        }
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            // Like kubelet's DirectoryOrCreate.
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        return path
    }
}

func readToEnd(_ fd: Int32) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return bytes }
        bytes += chunk[0..<count]
    }
}
