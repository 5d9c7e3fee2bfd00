import Foundation
import LockedValue
import NIOCore
import NIOHTTP1
import NIOSSL

/// Authenticates, routes and answers every request of the API server.
final class APIRouter: APIResponder {
    let api: APIService
    let pods: PodStreams
    let tokens: [String: UserInfo]
    /// Service account tokens minted by `serviceaccounts/token` (TokenRequest), until they expire.
    let issuedTokens = Locked<[String: IssuedToken]>([:])
    let port: Int
    let responseDelay: Locked<Duration>
    let bookmarkInterval: Duration
    let profile: APIServerProfile

    init(
        api: APIService, pods: PodStreams, tokens: [String: UserInfo], port: Int, responseDelay: Locked<Duration>,
        bookmarkInterval: Duration, profile: APIServerProfile = .current
    ) {
        self.profile = profile
        self.api = api
        self.pods = pods
        self.tokens = tokens
        self.port = port
        self.responseDelay = responseDelay
        self.bookmarkInterval = bookmarkInterval
    }

    /// A bearer token from the token file, or a client certificate the TLS layer verified against the CA.
    func user(head: HTTPRequestHead, channel: Channel) async -> UserInfo? {
        // Either authenticator may succeed, as kube-apiserver's union of token and x509 authenticators.
        if let authorization = head.headers.first(name: "authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            let token = parts.count == 2 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                if let user = tokens[token] { return user }
                if let issued = issuedTokens.withLock({ $0[token] }), issued.expires > Date() { return issued.user }
            }
        }
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else { return nil }
        // x509: the common name is the user, each organization a group.
        let subject = certificate.subjectName
        return UserInfo(
            username: subject.last { $0.type == .commonName }?.value ?? "kubesim-client",
            groups: subject.filter { $0.type == .organization }.map(\.value))
    }

    func respond(_ request: HTTPRequest) async -> HTTPResponse {
        let delay = responseDelay.current
        if delay > .zero { try? await Task.sleep(for: delay) }
        let route = ResourcePath.route(request.path)
        if route == .health { return .text("ok") }
        guard request.user != nil else { return .error(.unauthorized) }
        do {
            return try await answer(route, request)
        } catch let error as APIError {
            return .error(error)
        } catch {
            return .error(APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)"))
        }
    }

    private func answer(_ route: Route, _ request: HTTPRequest) async throws -> HTTPResponse {
        let notFound = APIError(
            code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        if case .resource(let path) = route { return try await resource(path, request) }
        // A path nothing is served at is not found whatever the verb; 405 is for a served one.
        if route == .unknown { throw notFound }
        guard request.method == .GET else { throw APIError.methodNotAllowed() }
        switch route {
        case .version: return .json(Discovery.version(profile))
        case .coreVersions: return try discovery(request, Discovery.coreVersions(port: port))
        case .groupList: return try discovery(request, Discovery.groupList())
        case .group(let name):
            guard let group = Discovery.group(name) else { throw notFound }
            return try discovery(request, group)
        case .resourceList(let group, let version):
            guard let list = Discovery.resourceList(group: group, version: version) else { throw notFound }
            return try discovery(request, list)
        case .openAPI:
            let path = request.path.split(separator: "/").dropFirst(2).joined(separator: "/")
            if request.path.hasPrefix("/openapi/v3") {
                if path.isEmpty { return .json(OpenAPI.index()) }
                if let document = OpenAPI.document(path) { return .json(document) }
            }
            if request.path == "/openapi/v2" { return openAPIv2(request) }
            throw notFound
        case .resource, .health, .unknown: throw notFound
        }
    }

    /// Gnostic protobuf when the client asks for it (client-go's `OpenAPISchema()` does, naming it with
    /// an `@` that Go's MIME parser refuses, so the answer names the type with a dot as kube-openapi's
    /// handler does), else JSON.
    private func openAPIv2(_ request: HTTPRequest) -> HTTPResponse {
        let accept = request.headers.first(name: "accept") ?? ""
        guard accept.contains("com.github.proto-openapi.spec.v2") else { return .json(OpenAPIv2.document) }
        return HTTPResponse(
            status: .ok, contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            body: .full(OpenAPIv2.protobuf))
    }

    /// Aggregated discovery is declined when the client accepts the legacy documents too (kubectl does),
    /// and refused with 406 when it accepts nothing else.
    private func discovery(_ request: HTTPRequest, _ document: JSON) throws -> HTTPResponse {
        let accept = request.headers.first(name: "accept") ?? ""
        let alternatives = accept.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let plain = alternatives.isEmpty || alternatives.contains { !$0.contains("as=APIGroupDiscoveryList") }
        guard plain else { throw APIError.notAcceptable() }
        return .json(document)
    }

    /// The manager named by `fieldManager`, else the user agent's program name, as kube-apiserver does.
    static func fieldManager(_ request: HTTPRequest) -> String {
        if let manager = request.parameter("fieldManager"), !manager.isEmpty { return manager }
        let agent = request.headers.first(name: "user-agent") ?? "unknown"
        return String(agent.split(separator: "/").first ?? "unknown")
    }

    func planUpgrade(_ request: HTTPRequest, offered: [String], spdy: Bool) async -> UpgradePlan? {
        guard request.user != nil, case .resource(let path) = ResourcePath.route(request.path),
            path.resource == .pods, let name = path.name, let namespace = path.namespace
        else { return nil }
        let offered = offered.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        switch path.subresource {
        case "exec":
            return await pods.planExec(namespace: namespace, name: name, request: request, offered: offered, spdy: spdy)
        case "portforward":
            return await pods.planPortForward(
                namespace: namespace, name: name, request: request, offered: offered, spdy: spdy)
        default: return nil
        }
    }
}
