import Foundation

/// A kubeconfig `user.exec` stanza: a credential plugin (client.authentication.k8s.io/v1 or v1beta1).
public struct ExecPluginConfig: Sendable, Equatable {
    public var apiVersion: String
    public var command: String
    public var args: [String]
    public var env: [String: String]
    public var interactiveMode: String
    public var provideClusterInfo: Bool
    public var installHint: String?

    init(_ entry: JSONValue, file: String, field: String, directory: String) throws {
        guard let command = entry["command"]?.string, !command.isEmpty else {
            throw KubeConfigError.invalid(file: file, detail: "\(field).command is missing")
        }
        apiVersion = entry["apiVersion"]?.string ?? "client.authentication.k8s.io/v1"
        guard apiVersion.hasPrefix("client.authentication.k8s.io/") else {
            throw KubeConfigError.invalid(file: file, detail: "\(field).apiVersion \(apiVersion) is not supported")
        }
        // client-go resolves the command against the file only when it is a relative path, not a bare name.
        self.command = command.contains("/") ? resolve(command, against: directory) : command
        // Strings only, as client-go's types: a YAML number or boolean here is a mistake to show, not to drop.
        args = try (entry["args"]?.array ?? []).enumerated().map { index, value in
            guard let text = value.string else {
                throw KubeConfigError.invalid(file: file, detail: "\(field).args[\(index)] must be a string (quote it)")
            }
            return text
        }
        var env: [String: String] = [:]
        for (index, item) in (entry["env"]?.array ?? []).enumerated() {
            let value = item["value"] == nil ? "" : item["value"]?.string
            guard let name = item["name"]?.string, let value else {
                throw KubeConfigError.invalid(
                    file: file, detail: "\(field).env[\(index)] needs a string name and value (quote the value)")
            }
            env[name] = value
        }
        self.env = env
        interactiveMode = entry["interactiveMode"]?.string ?? "IfAvailable"
        provideClusterInfo = entry["provideClusterInfo"]?.bool ?? false
        installHint = entry["installHint"]?.string
    }
}
