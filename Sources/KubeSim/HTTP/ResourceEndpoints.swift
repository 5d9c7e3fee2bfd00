import Foundation
import NIOHTTP1

/// The verbs on resources: get, list, watch, create, replace, patch, apply, delete.
extension APIRouter {
    func resource(_ path: ResourcePath, _ request: HTTPRequest) async throws -> HTTPResponse {
        let resource = path.resource
        if resource == .componentStatuses { return try componentStatuses(path, request) }
        if let subresource = path.subresource {
            return try await self.subresource(subresource, path, request)
        }
        guard let name = path.name else {
            switch request.method {
            case .GET:
                if path.legacyWatch || request.flag("watch") { return try await watch(path, request) }
                return try await list(path, request)
            case .POST where resource == .selfSubjectReviews:
                guard let user = request.user else { throw APIError.unauthorized }
                return .json(try api.selfReview(Self.decodeBody(request), user: user), status: .created)
            case .POST:
                let (body, warnings) = try Self.validated(Self.decodeBody(request), resource, request)
                let created = try await api.create(
                    resource, namespace: path.namespace, body: body, fieldManager: Self.fieldManager(request),
                    dryRun: request.isDryRun)
                return .warned(created, resource, status: .created, unknownFields: warnings)
            case .DELETE:
                return try await deleteCollection(path, request)
            default:
                throw APIError.methodNotAllowed()
            }
        }
        switch request.method {
        case .GET:
            if path.legacyWatch || request.flag("watch") {
                var single = path
                single.name = nil
                var filtered = request
                filtered.query["fieldSelector"] = ["metadata.name=\(name)"]
                return try await watch(single, filtered)
            }
            let object = try await api.get(resource, namespace: path.namespace, name: name)
            return render([object], path, request, single: true)
        case .PUT:
            let (body, warnings) = try Self.validated(Self.decodeBody(request), resource, request)
            let replaced = try await api.replace(
                resource, namespace: path.namespace, name: name, body: body,
                fieldManager: Self.fieldManager(request), dryRun: request.isDryRun)
            return .warned(replaced, resource, unknownFields: warnings)
        case .PATCH:
            return try await patch(path, name, request)
        case .DELETE:
            let body = request.body.flatMap { try? JSON.parse(Data($0.readableBytesView)) }
            let options = try DeleteOptions(query: request.query, body: body)
            let (result, code) = try await api.delete(resource, namespace: path.namespace, name: name, options: options)
            return .json(result, status: HTTPResponseStatus(statusCode: code))
        default:
            throw APIError.methodNotAllowed()
        }
    }

    private func subresource(_ subresource: String, _ path: ResourcePath, _ request: HTTPRequest) async throws
        -> HTTPResponse
    {
        guard let name = path.name, path.resource.subresources.contains(subresource) else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let resource = path.resource
        switch (subresource, request.method) {
        case ("status", .GET):
            return .json(try await api.get(resource, namespace: path.namespace, name: name))
        case ("status", .PUT):
            let (body, warnings) = try Self.validated(Self.decodeBody(request), resource, request)
            let replaced = try await api.replace(
                resource, namespace: path.namespace, name: name, body: body,
                fieldManager: Self.fieldManager(request), subresource: "status", dryRun: request.isDryRun)
            return .warned(replaced, resource, podSpec: false, unknownFields: warnings)
        case ("status", .PATCH):
            return try await patch(path, name, request, subresource: "status")
        case ("scale", .GET):
            return .json(try await api.scale(resource, namespace: path.namespace, name: name))
        case ("scale", .PUT):
            let body = try Self.decodeBody(request)
            return .json(
                try await api.updateScale(
                    resource, namespace: path.namespace, name: name, fieldManager: Self.fieldManager(request),
                    dryRun: request.isDryRun
                ) { _ in body })
        case ("scale", .PATCH):
            let patch = try Self.decodeBody(request)
            let strategic = request.contentType == "application/strategic-merge-patch+json"
            return .json(
                try await api.updateScale(
                    resource, namespace: path.namespace, name: name, fieldManager: Self.fieldManager(request),
                    dryRun: request.isDryRun
                ) { scale in
                    strategic ? StrategicMerge.apply(patch, to: scale) : APIService.mergePatch(scale, patch)
                })
        case ("token", .POST):
            return .json(
                try await issueToken(namespace: path.namespace ?? "", serviceAccount: name, request), status: .created)
        case ("log", .GET):
            return try await pods.logs(namespace: path.namespace ?? "", name: name, request: request)
        case ("exec", _), ("portforward", _), ("attach", _):
            // Reached only when the upgrade was not possible: say why, as the kubelet would.
            return try await pods.refuseStream(
                subresource, namespace: path.namespace ?? "", name: name, request: request)
        default:
            throw APIError.methodNotAllowed()
        }
    }

    private func patch(_ path: ResourcePath, _ name: String, _ request: HTTPRequest, subresource: String? = nil)
        async throws -> HTTPResponse
    {
        let resource = path.resource
        switch request.contentType {
        case "application/apply-patch+yaml", "application/apply-patch+cbor":
            let text = String(decoding: request.bodyData, as: UTF8.self)
            let config: JSON
            do { config = try YAMLDocument.parse(text) } catch {
                throw APIError.badRequest("error decoding YAML: \(error)")
            }
            try Self.validatedApply(config, resource, path, name: name, request)
            let (object, created) = try await api.apply(
                resource, namespace: path.namespace, name: name, config: config,
                fieldManager: request.parameter("fieldManager"), force: request.flag("force"),
                dryRun: request.isDryRun)
            return .warned(object, resource, status: created ? .created : .ok)
        case "application/merge-patch+json", "application/strategic-merge-patch+json":
            let strategic = request.contentType.hasPrefix("application/strategic")
            let (patch, warnings) = try Self.validated(
                Self.decodeBody(request), resource, request, patch: true)
            let patched = try await api.patch(
                resource, namespace: path.namespace, name: name, patch: patch, strategic: strategic,
                fieldManager: Self.fieldManager(request), subresource: subresource, dryRun: request.isDryRun)
            return .warned(patched, resource, unknownFields: warnings)
        case "application/json-patch+json":
            let operations = try Self.decodeBody(request)
            let (warnings, keepOnly) = try await validatedJSONPatch(operations, path, name: name, request)
            let patched = try await api.jsonPatch(
                resource, namespace: path.namespace, name: name, operations: operations,
                fieldManager: Self.fieldManager(request), dryRun: request.isDryRun, keepOnly: keepOnly)
            return .warned(patched, resource, unknownFields: warnings)
        default:
            throw APIError.unsupportedMediaType(request.contentType)
        }
    }

    private func list(_ path: ResourcePath, _ request: HTTPRequest) async throws -> HTTPResponse {
        let labels = try LabelSelector(parsing: request.parameter("labelSelector") ?? "")
        let fields = try FieldSelector(parsing: request.parameter("fieldSelector") ?? "", resource: path.resource)
        let list = await api.list(path.resource, namespace: path.namespace, labels: labels, fields: fields)
        if request.wantsTable {
            let version = list[path: ["metadata", "resourceVersion"]]?.stringValue
            return .json(
                TableConverter.table(path.resource, objects: list["items"]?.arrayValue ?? [], resourceVersion: version))
        }
        return .json(list)
    }

    private func deleteCollection(_ path: ResourcePath, _ request: HTTPRequest) async throws -> HTTPResponse {
        let labels = try LabelSelector(parsing: request.parameter("labelSelector") ?? "")
        let fields = try FieldSelector(parsing: request.parameter("fieldSelector") ?? "", resource: path.resource)
        let options = try DeleteOptions(
            query: request.query, body: request.body.flatMap { try? JSON.parse(Data($0.readableBytesView)) })
        let list = await api.list(path.resource, namespace: path.namespace, labels: labels, fields: fields)
        for item in list["items"]?.arrayValue ?? [] {
            _ = try? await api.delete(path.resource, namespace: item.namespace, name: item.name, options: options)
        }
        return .json(list)
    }

    func render(_ objects: [JSON], _ path: ResourcePath, _ request: HTTPRequest, single: Bool) -> HTTPResponse {
        if request.wantsTable {
            return .json(TableConverter.table(path.resource, objects: objects, resourceVersion: nil))
        }
        return .json(objects.first ?? .null)
    }

    static func decodeBody(_ request: HTTPRequest) throws -> JSON {
        if request.contentType == "application/vnd.kubernetes.protobuf" {
            return try Protobuf.decodeObject(request.bodyData)
        }
        if request.contentType.contains("protobuf") || request.contentType.contains("cbor") {
            throw APIError.unsupportedMediaType(request.contentType)
        }
        let data = request.bodyData
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty") }
        do {
            return try JSON.parse(data)
        } catch {
            if let yaml = try? YAMLDocument.parse(String(decoding: data, as: UTF8.self)), yaml.objectValue != nil {
                return yaml
            }
            throw APIError.badRequest("the body of the request is not valid JSON: \(error)")
        }
    }
}

extension HTTPRequest {
    /// `dryRun=All`: the write is checked and answered but not stored (the only value the API accepts).
    var isDryRun: Bool { parameter("dryRun") == "All" }
}

extension HTTPResponse {
    /// The object, with a `Warning` header for each unknown field the body had (`fieldValidation=Warn`)
    /// and, with `podSpec`, for each pod-spec field kubesim does not honour.
    static func warned(
        _ object: JSON, _ resource: ResourceType, status: HTTPResponseStatus = .ok, podSpec: Bool = true,
        unknownFields: [String] = []
    ) -> HTTPResponse {
        var response = HTTPResponse.json(object, status: status)
        let unhonoured = podSpec ? UnhonouredFields.warnings(for: object, resource: resource) : []
        for message in unknownFields + unhonoured {
            response.headers.add(name: "Warning", value: UnhonouredFields.header(message))
        }
        return response
    }
}
