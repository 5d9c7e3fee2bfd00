import CCurl
import CCurlShim
import Foundation

/// A transport failure from libcurl, worded for the user (never containing credentials: libcurl's
/// messages name hosts and files, not header values).
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let code: Int
    public let detail: String

    public var isUntrustedCertificate: Bool {
        code == Int(CURLE_PEER_FAILED_VERIFICATION.rawValue)
    }

    /// A failure that no retry can cure: the server's certificate is not trusted, a certificate or
    /// key of the kubeconfig is unusable, or the URL itself is wrong. Everything else (refused, reset,
    /// timed out, a name that does not resolve yet) may pass while a server restarts.
    public var isPermanent: Bool {
        let permanent: [CURLcode] = [
            CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT,
        ]
        return permanent.contains { Int($0.rawValue) == code }
    }

    public var isCancelled: Bool {
        code == Int(CURLE_ABORTED_BY_CALLBACK.rawValue) || code == Int(CURLE_WRITE_ERROR.rawValue)
    }

    public var description: String {
        switch Int32(code) {
        case Int32(CURLE_PEER_FAILED_VERIFICATION.rawValue):
            return "the server's certificate was not trusted (\(detail)); check certificate-authority in the kubeconfig"
        case Int32(CURLE_COULDNT_CONNECT.rawValue):
            return "could not connect to the API server (\(detail))"
        case Int32(CURLE_COULDNT_RESOLVE_HOST.rawValue):
            return "could not resolve the API server's host name (\(detail))"
        case Int32(CURLE_OPERATION_TIMEDOUT.rawValue):
            return "the API server did not answer in time (\(detail))"
        case Int32(CURLE_SSL_CERTPROBLEM.rawValue), Int32(CURLE_SSL_CACERT_BADFILE.rawValue):
            return "a certificate or key in the kubeconfig could not be used (\(detail))"
        case Int32(CURLE_ABORTED_BY_CALLBACK.rawValue):
            return "the request was cancelled"
        default:
            return "\(detail) (libcurl error \(code))"
        }
    }
}
