import Foundation

/// Errors of the Kube client, worded so the user knows what to do. Never contain credentials.
public enum KubeClientError: Error, Sendable, CustomStringConvertible {
    case api(APIStatusError)
    case credentialPlugin(command: String, detail: String)
    case protocolViolation(String)
    case upgradeRefused(status: Int, detail: String)
    /// The command could not be started in the container (e.g. executable not found).
    case execFailed(String)
    /// A request path built from a name that makes no URL (`segment` is the offending part).
    case invalidPath(path: String, segment: String)
    /// A 2xx answer whose body is not JSON: something other than the API server answered.
    case notKubernetesJSON(status: Int, request: String, excerpt: String)
    case execTimedOut(command: [String], after: Duration)
    /// The command wrote more to stdout than devloop keeps (`ExecRequest.stdoutLimit`).
    case execOutputTooLarge(command: [String], limit: Int)

    public var description: String {
        switch self {
        case .api(let error): return error.description
        case .credentialPlugin(let command, let detail): return "credential plugin \(command) \(detail)"
        case .protocolViolation(let detail): return "unexpected answer from the API server: \(detail)"
        case .upgradeRefused(let status, let detail):
            return "the API server refused the stream (HTTP \(status)): \(detail)"
        case .execFailed(let message): return "exec failed: \(message)"
        case .invalidPath(let path, let segment):
            return "no request can be made for \"\(segment)\" (in \(path)): it is not a valid Kubernetes name"
        case .notKubernetesJSON(let status, let request, let excerpt):
            return "the server answered HTTP \(status) to \(request) with something else (not Kubernetes JSON)"
                + (excerpt.isEmpty ? "" : ": \(excerpt)")
        case .execTimedOut(let command, let after):
            return "exec of \(command.first ?? "a command") did not finish within \(after); the stream was dropped"
        case .execOutputTooLarge(let command, let limit):
            return "exec of \(command.first ?? "a command") wrote more than \(limit >> 20) MiB to stdout, the most "
                + "devloop keeps of an exec's output; the stream was dropped"
        }
    }

    public var statusCode: Int? {
        if case .api(let error) = self { return error.code }
        return nil
    }
}

/// A failed API call: the server's metav1.Status plus what we asked, to say which verb on which resource.
public struct APIStatusError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    /// (field, message) of each cause, e.g. the fields of a server-side apply conflict.
    public var causes: [(field: String, message: String)]
    public var verb: String
    public var target: ResourcePath
    /// Whether the body was a metav1.Status: if not, a proxy or load balancer answered, not the API server.
    public var isStatus: Bool

    init(code: Int, body: Data, method: String, path: String) {
        self.code = code
        let status = try? JSONValue.decode(body)
        isStatus = status?["kind"]?.string == "Status"
        reason = (isStatus ? status?["reason"]?.string : nil) ?? ""
        message = (isStatus ? status?["message"]?.string : nil) ?? Self.summary(of: body)
        causes = (status?[path: "details", "causes"]?.array ?? []).map {
            ($0["field"]?.string ?? "", $0["message"]?.string ?? $0["reason"]?.string ?? "")
        }
        target = ResourcePath(path)
        verb = target.verb(forMethod: method)
    }

    /// Whether a 403 body is the authorizer's answer: a metav1.Status with reason Forbidden.
    static func isRBACDenial(_ body: Data) -> Bool {
        guard let status = try? JSONValue.decode(body) else { return false }
        return status["kind"]?.string == "Status" && status["reason"]?.string == "Forbidden"
    }

    /// An error page in a few words: its HTML title, else its first line, never kilobytes of markup.
    static func summary(of body: Data) -> String {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        if let open = text.range(of: "<title>", options: .caseInsensitive),
            let close = text.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<text.endIndex)
        {
            return "page \"" + text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
                + "\""
        }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return String(line.trimmingCharacters(in: .whitespaces).prefix(200))
    }

    public var description: String {
        let what = target.describe()
        switch code {
        case 401:
            return "unauthorized: the API server did not accept the credentials (\(message)); refresh them "
                + "(log in again, or check the token, token file or exec plugin of the kubeconfig user)"
        case 403 where !(isStatus && reason == "Forbidden"):
            return "HTTP 403 to \(verb) \(what) without a Kubernetes Forbidden Status, so not an RBAC denial: "
                + "something other than the authorizer refused it (a proxy, a webhook, the kubelet)"
                + (message.isEmpty ? "" : ": \(message)")
        case 403:
            // Streams need both verbs: which one is checked depends on the server's version.
            let ask = target.isStream ? "get and create" : verb
            return "forbidden: you may not \(verb) \(what) (\(message)); ask a cluster admin for RBAC permission to "
                + "\(ask) \(target.resourceWithSubresource)"
        case 404:
            return "not found: \(what) does not exist (\(message))"
        case 409:
            let fields = causes.map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" }
            let detail = fields.isEmpty ? "" : "; conflicting fields: " + fields.joined(separator: "; ")
            return "conflict on \(what): \(message)\(detail)"
        case 410:
            return "expired: \(message)"
        case 422:
            let fields = causes.map { "\($0.field) \($0.message)" }
            return "invalid \(what): \(message)" + (fields.isEmpty ? "" : " (" + fields.joined(separator: "; ") + ")")
        default:
            guard isStatus || message.isEmpty else {
                return "HTTP \(code) to \(verb) \(what) came from something other than the API server (a proxy or "
                    + "load balancer in between?): \(message)"
            }
            return "the API server answered HTTP \(code) to \(verb) \(what): \(message.isEmpty ? reason : message)"
        }
    }
}

/// What a request path names: `/apis/apps/v1/namespaces/dev/deployments/web/status`.
public struct ResourcePath: Sendable {
    public var group = ""
    public var namespace: String?
    public var resource = ""
    public var name: String?
    public var subresource: String?

    init(_ path: String) {
        let route = path.split(separator: "?").first.map(String.init) ?? path
        var parts = route.split(separator: "/").map(String.init)
        if parts.first == "api" {
            parts.removeFirst(min(2, parts.count))
        } else if parts.first == "apis", parts.count >= 3 {
            group = parts[1]
            parts.removeFirst(3)
        } else {
            resource = route
            return
        }
        if parts.first == "namespaces", parts.count >= 3 {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        resource = parts.first ?? ""
        name = parts.count > 1 ? parts[1] : nil
        subresource = parts.count > 2 ? parts[2] : nil
    }

    var isStream: Bool { ["exec", "portforward", "attach"].contains(subresource ?? "") }

    var resourceWithSubresource: String {
        let full = subresource.map { "\(resource)/\($0)" } ?? resource
        return group.isEmpty ? full : "\(full).\(group)"
    }

    func verb(forMethod method: String) -> String {
        // A WebSocket stream is an upgraded GET, authorized as `get` up to Kubernetes 1.34 (1.35 checks
        // `create` as well); only SPDY's POST is a plain `create`.
        if isStream { return method == "GET" ? "get" : "create" }
        switch method {
        case "POST": return "create"
        case "PUT": return "update"
        case "PATCH": return "patch"
        case "DELETE": return "delete"
        default: return name == nil && subresource == nil ? "list" : "get"
        }
    }

    func describe() -> String {
        var text = resourceWithSubresource
        if let name { text += " \"\(name)\"" }
        if let namespace { text += " in namespace \"\(namespace)\"" }
        return text
    }
}
