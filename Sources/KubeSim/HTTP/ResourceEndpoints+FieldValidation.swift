import Foundation

/// `fieldValidation` on every write, as kube-apiserver 1.32 does it: the body as the client sent it is
/// checked against the published schema (not the defaults or status the server adds later).
extension APIRouter {
    /// The body to write (its unknown fields dropped, as a typed server drops them) and the warnings
    /// to answer with; under `Strict` an unknown field is a 400.
    static func validated(
        _ body: JSON, _ resource: ResourceType, _ request: HTTPRequest, patch: Bool = false
    ) throws -> (body: JSON, warnings: [String]) {
        let mode = try FieldValidation.Mode(parameter: request.parameter("fieldValidation"))
        let result = FieldValidation.check(body, resource: resource, patch: patch)
        switch mode {
        case .strict:
            if !result.unknown.isEmpty { throw FieldValidation.strictError(result.unknown, resource: resource) }
            return (body, [])
        case .warn:
            return (result.known, result.unknown.map(FieldValidation.warning))
        case .ignore:
            return (result.known, [])
        }
    }

    /// A server-side apply configuration: refused with any unknown field whatever `fieldValidation`
    /// says, since the configuration cannot be typed without its schema.
    static func validatedApply(
        _ config: JSON, _ resource: ResourceType, _ path: ResourcePath, name: String, _ request: HTTPRequest
    ) throws {
        _ = try FieldValidation.Mode(parameter: request.parameter("fieldValidation"))
        let unknown = FieldValidation.check(config, resource: resource).unknownInApplyForm
        if !unknown.isEmpty {
            throw FieldValidation.applyError(unknown, resource: resource, namespace: path.namespace, name: name)
        }
    }

    /// A JSON patch is checked by its result (computed here against the live object as it is now);
    /// fields the live object already had unknown are not this write's. Under `Warn` and `Ignore` the
    /// unknown fields are dropped from what is stored.
    func validatedJSONPatch(_ operations: JSON, _ path: ResourcePath, name: String, _ request: HTTPRequest)
        async throws -> (warnings: [String], keepOnly: (@Sendable (JSON) -> JSON)?)
    {
        let mode = try FieldValidation.Mode(parameter: request.parameter("fieldValidation"))
        let resource = path.resource
        let keepOnly: @Sendable (JSON) -> JSON = { FieldValidation.check($0, resource: resource).known }
        if mode == .ignore { return ([], keepOnly) }
        guard let live = try? await api.get(resource, namespace: path.namespace, name: name),
            let patched = try? JSONPatch.apply(operations, to: live)
        else { return ([], keepOnly) }
        let before = Set(FieldValidation.unknownFields(in: live, resource: resource))
        let unknown = FieldValidation.unknownFields(in: patched, resource: resource).filter { !before.contains($0) }
        if mode == .strict, !unknown.isEmpty { throw FieldValidation.strictError(unknown, resource: resource) }
        return (unknown.map(FieldValidation.warning), mode == .strict ? nil : keepOnly)
    }
}
