import Foundation

/// Picks the transport for a pod: when its hostPath directory is on this machine (a nonce file
/// written there can be read back through exec), HostPath; otherwise exec+tar.
public enum TransportSelector {
    public struct Choice: Sendable {
        public var transport: any SyncTransport
        /// Why, for the user.
        public var reason: String
    }

    public static func select(options: SyncOptions, executor: any ContainerExecutor) async -> Choice {
        let execTar = ExecTarTransport(source: options.source, destination: options.destination, executor: executor)
        guard let hostPath = options.hostPath else {
            return Choice(transport: execTar, reason: "exec+tar: no hostPath configured")
        }
        let nonce = (0..<4).map { _ in String(UInt32.random(in: .min ... .max), radix: 16) }.joined()
        let name = ".devloop-probe-\(nonce)"
        let probe = hostPath + "/" + name
        guard FileManager.default.createFile(atPath: probe, contents: Data(nonce.utf8)) else {
            return Choice(transport: execTar, reason: "exec+tar: \(hostPath) is not writable here")
        }
        defer { try? FileManager.default.removeItem(atPath: probe) }
        let inPod = options.destination + "/" + name
        let seen: ExecResult
        do {
            seen = try await executor.run(["cat", inPod], stdin: Data())
        } catch {
            return Choice(transport: execTar, reason: "exec+tar: could not look for \(inPod) in the pod: \(error)")
        }
        guard seen.exitCode == 0, seen.stdout == Data(nonce.utf8) else {
            return Choice(
                transport: execTar,
                reason: "exec+tar: the pod does not see \(hostPath) (\(Self.describe(seen, reading: inPod)))")
        }
        return Choice(
            transport: HostPathTransport(source: options.source, destination: hostPath),
            reason: "hostPath: the pod sees \(hostPath) as \(options.destination)")
    }

    /// What the pod's `cat` of the probe said, in a few words, for a user wondering why.
    static func describe(_ result: ExecResult, reading path: String) -> String {
        guard result.exitCode == 0 else {
            let message = String(decoding: result.stderr.prefix(200), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return "cat \(path) exited \(result.exitCode)" + (message.isEmpty ? "" : ": \(message)")
        }
        return "\(path) holds other content"
    }
}
