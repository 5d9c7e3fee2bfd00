import Foundation

/// A service account token kubesim minted, and whom it authenticates.
struct IssuedToken: Sendable {
    var user: UserInfo
    var expires: Date
}

/// `kubectl create token SA`: a TokenRequest on `serviceaccounts/NAME/token`, answered with a JWT-shaped
/// bearer token that authenticates as `system:serviceaccount:NS:NAME` until `expirationSeconds` (default
/// an hour, at least 10 minutes, as kube-apiserver bounds it). kubesim signs nothing: the token is known
/// by its value.
extension APIRouter {
    func issueToken(namespace: String, serviceAccount name: String, _ request: HTTPRequest) async throws -> JSON {
        let account = try await api.get(.serviceAccounts, namespace: namespace, name: name)
        let body = try Self.decodeBody(request)
        if let kind = body["kind"]?.stringValue, !kind.isEmpty, kind != "TokenRequest" {
            throw APIError.badRequest("the body of the request is a \(kind), not a TokenRequest")
        }
        let seconds = body[path: ["spec", "expirationSeconds"]]?.intValue ?? 3600
        guard seconds >= 600 else {
            throw APIError(
                code: 422, reason: "Invalid",
                message:
                    "TokenRequest.authentication.k8s.io \"\(name)\" is invalid: spec.expirationSeconds: Invalid value: \(seconds): may not specify a duration less than 10 minutes"
            )
        }
        let now = Date()
        let expires = now.addingTimeInterval(Double(seconds))
        let audiences = body[path: ["spec", "audiences"]]?.arrayValue ?? []
        let subject = "system:serviceaccount:\(namespace):\(name)"
        let claims: JSON = [
            "aud": .array(audiences.isEmpty ? ["https://kubernetes.default.svc.cluster.local"] : audiences),
            "exp": .int(Int64(expires.timeIntervalSince1970)), "iat": .int(Int64(now.timeIntervalSince1970)),
            "iss": "https://kubernetes.default.svc.cluster.local", "sub": .string(subject),
            "jti": .string(UUID().uuidString.lowercased()),
            "kubernetes.io": [
                "namespace": .string(namespace),
                "serviceaccount": ["name": .string(name), "uid": .string(account.uid)],
            ],
        ]
        let token = [
            #"{"alg":"none","kid":"kubesim"}"#.data(using: .utf8)!, claims.encoded(), Data(UUID().uuidString.utf8),
        ]
        .map(Self.base64URL).joined(separator: ".")
        let user = UserInfo(
            username: subject, groups: ["system:serviceaccounts", "system:serviceaccounts:\(namespace)"])
        issuedTokens.withLock { tokens in
            tokens = tokens.filter { $0.value.expires > now }
            tokens[token] = IssuedToken(user: user, expires: expires)
        }
        var spec = body["spec"] ?? [:]
        spec["expirationSeconds"] = .int(Int64(seconds))
        spec["audiences"] = claims["aud"]
        return [
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": ["name": .string(name), "namespace": .string(namespace), "creationTimestamp": .null],
            "spec": spec,
            "status": ["token": .string(token), "expirationTimestamp": .string(Timestamps.format(expires))],
        ]
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
