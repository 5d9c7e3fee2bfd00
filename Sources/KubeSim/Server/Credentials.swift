import Foundation

/// Bearer tokens in kube-apiserver's static token file format: `token,user,uid,"group1,group2"`.
public struct TokenFile: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// Writes one admin token when the file does not exist yet.
    public func ensure() throws {
        guard !FileManager.default.fileExists(atPath: url.path) else { return }
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        try Data("\(token),kubesim-token-admin,kubesim-token-admin,\"system:masters\"\n".utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }

    /// token → user, with the groups of the quoted fourth field.
    func load() throws -> [String: UserInfo] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var tokens: [String: UserInfo] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: ",", maxSplits: 3).map { String($0) }
            guard fields.count >= 3, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw KubeSimError.configuration(
                    "\(url.path):\(number + 1): expected token,user,uid[,\"groups\"]")
            }
            let groups = fields.count > 3 ? Self.groups(fields[3]) : []
            tokens[fields[0]] = UserInfo(username: fields[1], groups: groups)
        }
        return tokens
    }

    /// `"a,b"` or `a`: the groups field, quoted when it holds more than one.
    private static func groups(_ field: String) -> [String] {
        let unquoted = field.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        return unquoted.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The first token of the file (what a test uses to authenticate with a bearer token).
    public func firstToken() throws -> String? {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").first { !$0.hasPrefix("#") }.map { String($0.split(separator: ",")[0]) }
    }
}

/// `DIR/kubeconfig`: the cluster's CA and the admin client certificate, embedded as -data fields.
enum KubeconfigWriter {
    static func write(to url: URL, port: Int, certificates: Certificates) throws {
        func base64(_ file: URL) throws -> String { try Data(contentsOf: file).base64EncodedString() }
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: kubesim
              cluster:
                server: https://127.0.0.1:\(port)
                certificate-authority-data: \(try base64(certificates.caCertificate))
            users:
            - name: \(Certificates.adminUser)
              user:
                client-certificate-data: \(try base64(certificates.clientCertificate))
                client-key-data: \(try base64(certificates.clientKey))
            contexts:
            - name: kubesim
              context:
                cluster: kubesim
                user: \(Certificates.adminUser)
                namespace: default
            current-context: kubesim
            preferences: {}

            """
        try Data(text.utf8).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}
