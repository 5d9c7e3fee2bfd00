import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's PKI, generated once into `DIR/pki` (swift-certificates, nothing spawned): a CA, the
/// serving certificate (SAN 127.0.0.1 and localhost) and the admin client certificate
/// (O=system:masters). ECDSA P-256 keys, PEM files as openssl writes them.
public struct Certificates: Sendable {
    public let directory: URL

    public var caCertificate: URL { directory.appendingPathComponent("ca.crt") }
    public var caKey: URL { directory.appendingPathComponent("ca.key") }
    public var serverCertificate: URL { directory.appendingPathComponent("server.crt") }
    public var serverKey: URL { directory.appendingPathComponent("server.key") }
    public var clientCertificate: URL { directory.appendingPathComponent("admin.crt") }
    public var clientKey: URL { directory.appendingPathComponent("admin.key") }

    public static let adminUser = "kubesim-admin"
    private static let lifetime: TimeInterval = 3650 * 24 * 3600

    public init(directory: URL) { self.directory = directory }

    /// Creates whatever is missing; existing files are kept so clients keep trusting the cluster.
    public func ensure() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fresh = !FileManager.default.fileExists(atPath: caCertificate.path)
        do {
            let (ca, caSigningKey) = fresh ? try makeAuthority() : try readAuthority()
            if fresh || !FileManager.default.fileExists(atPath: serverCertificate.path) {
                try issue(
                    certificate: serverCertificate, key: serverKey, by: (ca, caSigningKey),
                    subject: try DistinguishedName { CommonName("kube-apiserver") }, usage: .serverAuth,
                    names: SubjectAlternativeNames([
                        .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost"),
                    ]))
            }
            if fresh || !FileManager.default.fileExists(atPath: clientCertificate.path) {
                try issue(
                    certificate: clientCertificate, key: clientKey, by: (ca, caSigningKey),
                    subject: try DistinguishedName {
                        OrganizationName("system:masters")
                        CommonName(Self.adminUser)
                    },
                    usage: .clientAuth, names: nil)
            }
        } catch let error as KubeSimError {
            throw error
        } catch {
            throw KubeSimError.certificates("cannot create the certificates in \(directory.path): \(error)")
        }
    }

    private func makeAuthority() throws -> (Certificate, P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("kubesim-ca") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(Self.lifetime),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(keyIdentifier: Self.keyIdentifier(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        try write(certificate, key: key, to: caCertificate, keyFile: caKey)
        return (certificate, key)
    }

    private func readAuthority() throws -> (Certificate, P256.Signing.PrivateKey) {
        let certificate = try String(contentsOf: caCertificate, encoding: .utf8)
        let key = try String(contentsOf: caKey, encoding: .utf8)
        do {
            return (try Certificate(pemEncoded: certificate), try P256.Signing.PrivateKey(pemRepresentation: key))
        } catch {
            throw KubeSimError.certificates(
                "\(caCertificate.path) and \(caKey.path) are not a P-256 CA certificate and key: \(error)")
        }
    }

    private func issue(
        certificate file: URL, key keyFile: URL, by authority: (Certificate, P256.Signing.PrivateKey),
        subject: DistinguishedName, usage: ExtendedKeyUsage.Usage, names: SubjectAlternativeNames?
    ) throws {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(Self.lifetime),
            issuer: authority.0.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([usage])
                AuthorityKeyIdentifier(keyIdentifier: Self.keyIdentifier(authority.1.publicKey))
                if let names { names }
            },
            issuerPrivateKey: .init(authority.1))
        try write(certificate, key: key, to: file, keyFile: keyFile)
    }

    /// The key file is created with mode 0600 before anything is written to it.
    private func write(_ certificate: Certificate, key: P256.Signing.PrivateKey, to file: URL, keyFile: URL) throws {
        _ = FileManager.default.createFile(
            atPath: keyFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile.path)
        try Data(key.pemRepresentation.utf8).write(to: keyFile)
        try Data(try certificate.serializeAsPEM().pemString.utf8).write(to: file)
    }

    /// SHA-1 of the public key, as RFC 5280 suggests for key identifiers.
    private static func keyIdentifier(_ key: P256.Signing.PublicKey) -> ArraySlice<UInt8> {
        ArraySlice(Insecure.SHA1.hash(data: key.x963Representation))
    }
}

public enum KubeSimError: Error, CustomStringConvertible {
    case certificates(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .certificates(let message): return "kubesim certificates: \(message)"
        case .configuration(let message): return "kubesim: \(message)"
        }
    }
}
