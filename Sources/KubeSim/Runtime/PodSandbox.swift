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
        let directory = settings.stateDirectory.appendingPathComponent("\(pod.namespace)_\(pod.name)_\(pod.uid)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            return try await start(pod, settings: settings, directory: directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private static func start(
        _ pod: RuntimePod, settings: BubblewrapRuntimeConfiguration, directory: String
    ) async throws -> PodSandbox {
        if FileManager.default.fileExists(atPath: "/etc/hosts") {
            try writeHostsFile(directory + "/hosts", podName: pod.name)
        }
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

    /// The pod's /etc/hosts, as kubelet manages it: the pod's name is an address of the pod (loopback
    /// here, the only network a pod has).
    var hostsFile: String { directory + "/hosts" }

    private static func writeHostsFile(_ path: String, podName: String) throws {
        let text = """
            # Kubernetes-managed hosts file (kubesim).
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            127.0.0.1\t\(podName)

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
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
        if FileManager.default.fileExists(atPath: hostsFile) {
            binds.append(BindMount(source: hostsFile, destination: "/etc/hosts", readOnly: true))
        }
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
                BindMount(
                    source: try hostFolder(of: volume), destination: mount.mountPath,
                    readOnly: mount.readOnly || volume.isReadOnly))
        }
        let workingDirectory = container.workingDir ?? "/"
        return BubblewrapCommand(
            root: root, hostname: pod.name, binds: binds,
            directories: try createWorkingDirectory(workingDirectory, binds: binds), workingDirectory: workingDirectory,
            program: program)
    }

    /// A container runtime creates a missing working directory: in the volume it belongs to, or in the
    /// sandbox's own root (the returned `--dir`). Inside the host's read-only folders it must exist.
    private func createWorkingDirectory(_ path: String, binds: [BindMount]) throws -> [String] {
        guard path.hasPrefix("/") else {
            throw RuntimeError("workingDir \"\(path)\" must be an absolute path")
        }
        let volume = binds.filter { path == $0.destination || path.hasPrefix($0.destination + "/") }
            .max { $0.destination.count < $1.destination.count }
        if let volume {
            if !volume.readOnly {
                let inside = volume.source + path.dropFirst(volume.destination.count)
                try? FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
            }
            return []
        }
        let top = "/" + (path.split(separator: "/").first.map(String.init) ?? "")
        let fixed = root.map { entry in
            switch entry {
            case .folder(let path), .symlink(let path, _): path
            }
        }
        return top == "/" || fixed.contains(top) || ["/proc", "/dev", "/run", "/var"].contains(top) ? [] : [path]
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
            // kubelet makes an emptyDir writable by everyone, whatever user the containers run as.
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: path)
        case .files(let files):
            path = directory + "/volumes/" + volume.name
            if !FileManager.default.fileExists(atPath: path) { try write(files, into: path) }
            return path
        }
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            // Like kubelet's DirectoryOrCreate.
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        return path
    }
}

/// Writes a volume's files once (each container that mounts the volume sees the same ones).
private func write(_ files: [RuntimeFile], into folder: String) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for file in files {
        let relative = file.path.split(separator: "/").filter { $0 != ".." && $0 != "." }.joined(separator: "/")
        guard !relative.isEmpty else { continue }
        let path = folder + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try file.contents.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: file.mode], ofItemAtPath: path)
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

extension RuntimeVolume {
    /// A kubelet mounts configMap, secret, projected and downwardAPI volumes read-only.
    var isReadOnly: Bool {
        if case .files = source { return true }
        return false
    }
}
