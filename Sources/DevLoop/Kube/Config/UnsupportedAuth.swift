/// kubeconfig user fields devloop does not implement. kubectl honours them, so ignoring them would
/// silently send requests as anonymous (or as the wrong identity): using such a user is an error instead.
enum UnsupportedAuth {
    static func fields(of entry: JSONValue) -> [String] {
        var found: [String] = []
        if let provider = entry["auth-provider"], provider != .null {
            let name = provider["name"]?.string ?? "unnamed"
            found.append("auth-provider (\(name))")
        }
        if present(entry["username"]) || present(entry["password"]) { found.append("username/password") }
        if present(entry["as"]) || present(entry["as-uid"]) || present(entry["as-groups"])
            || present(entry["as-user-extra"])
        {
            found.append("as/as-groups (impersonation)")
        }
        return found
    }

    static func error(_ fields: [String], field: String, file: String) -> KubeConfigError? {
        guard let first = fields.first else { return nil }
        let advice =
            first.hasPrefix("auth-provider")
            ? "; switch the user to an exec credential plugin (kubelogin for OIDC and AKS, "
                + "gke-gcloud-auth-plugin for GKE)"
            : first.hasPrefix("username")
                ? "; use a token, a client certificate or an exec credential plugin"
                : "; use a kubeconfig user that authenticates as the identity you need"
        return .invalid(
            file: file, detail: "\(field).\(fields.joined(separator: ", ")) is not supported by devloop" + advice)
    }

    private static func present(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return false
        case .string(let text)?: return !text.isEmpty
        case .array(let items)?: return !items.isEmpty
        case .object(let fields)?: return !fields.isEmpty
        default: return true
        }
    }
}
