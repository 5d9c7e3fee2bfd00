import Foundation

/// A failure the API server answers with a `metav1.Status`, as kube-apiserver words it.
public struct APIError: Error, Sendable, Equatable {
    public struct Cause: Sendable, Equatable {
        public var reason: String
        public var message: String
        public var field: String?
    }

    public var code: Int
    public var reason: String
    public var message: String
    public var details: JSON?

    public init(code: Int, reason: String, message: String, details: JSON? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var status: JSON {
        var status: JSON = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { status["details"] = details }
        return status
    }

    static func details(name: String?, group: String, kind: String, causes: [Cause] = []) -> JSON {
        var details: JSON = ["group": .string(group), "kind": .string(kind)]
        if let name { details["name"] = .string(name) }
        if !causes.isEmpty {
            details["causes"] = .array(
                causes.map { cause in
                    var json: JSON = ["reason": .string(cause.reason), "message": .string(cause.message)]
                    if let field = cause.field { json["field"] = .string(field) }
                    return json
                })
        }
        if group.isEmpty { details["group"] = nil }
        return details
    }

    static func notFound(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "\(resource.qualifiedName) \"\(name)\" not found",
            details: details(name: name, group: resource.group, kind: resource.name))
    }

    static func alreadyExists(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedName) \"\(name)\" already exists",
            details: details(name: name, group: resource.group, kind: resource.name))
    }

    static func conflict(_ resource: ResourceType, _ name: String, _ why: String) -> APIError {
        APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(resource.qualifiedName) \"\(name)\": \(why)",
            details: details(name: name, group: resource.group, kind: resource.name))
    }

    static func invalid(_ resource: ResourceType, _ name: String, _ causes: [Cause]) -> APIError {
        let summary = causes.map { "\($0.field ?? ""): \($0.message)" }.joined(separator: ", ")
        return APIError(
            code: 422, reason: "Invalid", message: "\(resource.kind) \"\(name)\" is invalid: \(summary)",
            details: details(
                name: name, group: resource.group, kind: resource.kind,
                causes: causes.map { Cause(reason: $0.reason, message: $0.message, field: $0.field) }))
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    static func methodNotAllowed(_ message: String = "the server does not allow this method on the requested resource")
        -> APIError
    {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    static func forbidden(_ resource: ResourceType, _ name: String, _ why: String) -> APIError {
        APIError(
            code: 403, reason: "Forbidden", message: "\(resource.qualifiedName) \"\(name)\" is forbidden: \(why)",
            details: details(name: name, group: resource.group, kind: resource.name))
    }

    static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func unsupportedMediaType(_ type: String) -> APIError {
        APIError(
            code: 415, reason: "UnsupportedMediaType",
            message:
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got \(type))"
        )
    }

    static func notAcceptable() -> APIError {
        APIError(
            code: 406, reason: "NotAcceptable",
            message: "the server was unable to respond with a content type that the client supports")
    }
}
