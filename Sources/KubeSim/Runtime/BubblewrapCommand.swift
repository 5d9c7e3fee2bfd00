import Foundation

/// How a host top-level folder appears inside a pod.
enum RootEntry: Sendable, Equatable {
    /// Bound read-only at the same place.
    case folder(String)
    /// Re-created as the same symlink (merged-/usr hosts: /bin -> usr/bin).
    case symlink(String, target: String)

    /// The entries for `names` that exist at the host's root, in order.
    static func host(_ names: [String], root: String = "/") -> [RootEntry] {
        names.compactMap { name in
            let path = root + name
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                return .symlink("/" + name, target: target)
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                return nil
            }
            return .folder("/" + name)
        }
    }
}

/// A host path bound into the pod.
struct BindMount: Sendable, Equatable {
    var source: String
    var destination: String
    var readOnly: Bool
}

/// The bubblewrap command line for a pod's processes. The root is a tmpfs bubblewrap assembles from
/// read-only binds of the host's top-level folders, so that mount points for volumes are made in that
/// tmpfs, never on the host's disk (`--ro-bind / /` followed by a bind fails; `--bind / /` would create
/// mount points on the real disk).
struct BubblewrapCommand: Sendable, Equatable {
    var root: [RootEntry]
    var hostname: String
    /// Enter a new network namespace (the pod sandbox) or stay in the one the process starts in.
    var newNetworkNamespace = false
    var binds: [BindMount] = []
    /// Folders to create in the sandbox's own root (outside the host's folders and the volumes).
    var directories: [String] = []
    var workingDirectory = "/"
    var program: [String]

    /// The capabilities containerd and Docker give a container by default.
    static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    /// `defaultCapabilities` as bits numbered as in linux/capability.h, for processes kubesim starts itself.
    static let defaultCapabilityMask: UInt64 = {
        let numbers = [
            "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
            "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13,
            "CAP_SYS_CHROOT": 18, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31,
        ]
        return defaultCapabilities.reduce(0) { $0 | (1 << UInt64(numbers[$1]!)) }
    }()

    /// bubblewrap's arguments (without the executable).
    var arguments: [String] {
        // --die-with-parent: the sandbox dies with the process that started it; --unshare-pid: bubblewrap's
        // own init is pid 1 of the pod's processes, and when it dies the kernel kills every one of them.
        var arguments = [
            "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", hostname,
        ]
        if newNetworkNamespace { arguments.append("--unshare-net") }
        // bubblewrap run by root keeps every capability; keep only a container runtime's default set.
        arguments += ["--cap-drop", "ALL"] + Self.defaultCapabilities.flatMap { ["--cap-add", $0] }
        for entry in root {
            switch entry {
            case .folder(let path):
                arguments += Self.readOnlyFolder(path, mountPoints: binds.map(\.destination))
            case .symlink(let path, let target): arguments += ["--symlink", target, path]
            }
        }
        arguments += ["--proc", "/proc", "--dev", "/dev", "--dir", "/run", "--dir", "/var/tmp"]
        for bind in binds {
            arguments += [bind.readOnly ? "--ro-bind" : "--bind", bind.source, bind.destination]
        }
        for directory in directories { arguments += ["--dir", directory] }
        arguments += ["--chdir", workingDirectory, "--"]
        return arguments + program
    }
}

extension BubblewrapCommand {
    /// A host folder, read-only: one bind, unless a mount point must be made inside it where the host
    /// has nothing (a volume at /etc/app). Then the folder is a tmpfs holding read-only binds of the
    /// host's entries, recursively along the way to the mount point, so that bubblewrap can create it
    /// there and never on the host's disk.
    static func readOnlyFolder(_ path: String, mountPoints: [String], root: String = "") -> [String] {
        let inside = mountPoints.filter { $0.hasPrefix(path + "/") }
        let missing = inside.filter { !FileManager.default.fileExists(atPath: root + $0) }
        guard !missing.isEmpty,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: root + path)
        else { return ["--ro-bind", root + path, path] }
        var arguments = ["--tmpfs", path]
        for name in entries.sorted() {
            let child = path + "/" + name
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: root + child) {
                arguments += ["--symlink", target, child]
                continue
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + child, isDirectory: &isFolder) else { continue }
            if isFolder.boolValue && missing.contains(where: { $0.hasPrefix(child + "/") }) {
                arguments += readOnlyFolder(child, mountPoints: missing, root: root)
            } else {
                arguments += ["--ro-bind", root + child, child]
            }
        }
        return arguments
    }
}

/// The program a container runs, with Kubernetes semantics for an image that has no entrypoint:
/// `command` replaces the entrypoint and `args` follow it; without `command`, `args[0]` is the program.
/// `$(VAR)` references to the container's env are expanded, as kubelet does.
func containerProgram(_ container: RuntimeContainer) throws -> [String] {
    let program = (container.command + container.args).map { expandReferences($0, in: container.env) }
    guard let first = program.first, !first.isEmpty else {
        throw RuntimeError(
            reason: "CreateContainerError",
            "kubesim runs no images: give the container a command (container \"\(container.name)\" has neither "
                + "command nor args, and the entrypoint of image \"\(container.image)\" is not known)")
    }
    return program
}

/// kubelet's expansion of command and args (third_party/forked/golang/expansion): `$(NAME)` becomes the
/// variable's value, or stays as written when it is not defined; `$$` is a literal `$`, so `$$(NAME)` is
/// `$(NAME)` unexpanded.
func expandReferences(_ text: String, in environment: [String: String]) -> String {
    let characters = Array(text)
    var result = ""
    var index = 0
    while index < characters.count {
        guard characters[index] == "$", index + 1 < characters.count else {
            result.append(characters[index])
            index += 1
            continue
        }
        switch characters[index + 1] {
        case "$":
            result.append("$")
            index += 2
        case "(":
            guard let close = characters[(index + 2)...].firstIndex(of: ")") else {
                result += "$("
                index += 2
                continue
            }
            let name = String(characters[(index + 2)..<close])
            result += environment[name] ?? "$(\(name))"
            index = close + 1
        default:
            result.append("$")
            result.append(characters[index + 1])
            index += 2
        }
    }
    return result
}

/// An error with a message a person can act on.
public struct RuntimeError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// The reason a kubelet gives a container that this error keeps waiting (nil: RunContainerError).
    public var reason: String?
    public init(reason: String? = nil, _ message: String) {
        self.reason = reason
        self.message = message
    }
    public var description: String { message }
}
