import DevLoop
import Foundation
import LockedValue

/// Writes a one-context kubeconfig and resolves it the way devloop does.
struct KubeConfigFixture {
    let folder: TemporaryDirectory
    let path: URL

    init(
        server: String, cluster: [String] = [], user: [String] = [], namespace: String = "dev",
        context: String = "test", in folder: TemporaryDirectory, name: String = "config"
    ) throws {
        self.folder = folder
        let text = """
            apiVersion: v1
            kind: Config
            current-context: \(context)
            clusters:
            - name: \(context)-cluster
              cluster:
                server: \(server)
            \(cluster.map { "    \($0)" }.joined(separator: "\n"))
            users:
            - name: \(context)-user
              user:
            \(user.isEmpty ? "    {}" : user.map { "    \($0)" }.joined(separator: "\n"))
            contexts:
            - name: \(context)
              context:
                cluster: \(context)-cluster
                user: \(context)-user
                namespace: \(namespace)
            """
        path = try folder.file(name, text)
    }

    func config(context: String? = nil) throws -> KubeClientConfig {
        try KubeClientConfig.load(loader: KubeConfigLoader(environment: [:], explicitPath: path.path), context: context)
    }

    func client() throws -> KubeClient {
        KubeClient(config: try config())
    }
}

/// A fake API server answering /version and SelfSubjectAccessReviews, checking a bearer token if given.
enum FakeAPI {
    static func handler(
        token: (@Sendable () -> String?)? = nil, seen: Locked<[String]>? = nil, deny: Set<String> = []
    ) -> @Sendable (TestRequest) -> TestResponse {
        { request in
            let authorization = request.headers["authorization"] ?? ""
            seen?.withLock { $0.append(authorization) }
            if let expected = token?(), authorization != "Bearer \(expected)" {
                return .status(401, reason: "Unauthorized", message: "Unauthorized")
            }
            switch request.path {
            case "/version":
                return .json(#"{"major":"1","minor":"30","gitVersion":"v1.30.0-fake"}"#)
            case "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
                let review = (try? JSONValue.decode(request.body))?[path: "spec", "resourceAttributes"]
                let key = [review?["verb"]?.string, review?["resource"]?.string, review?["subresource"]?.string]
                    .compactMap { $0 }.joined(separator: " ")
                let allowed = !deny.contains(key)
                return .json(#"{"kind":"SelfSubjectAccessReview","status":{"allowed":\#(allowed)}}"#, status: 201)
            default:
                return .status(404, reason: "NotFound", message: "the server could not find the requested resource")
            }
        }
    }
}
