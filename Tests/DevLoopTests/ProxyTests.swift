import Foundation
import LockedValue
import Testing

@testable import DevLoop

/// Proxies as client-go picks them: the cluster's proxy-url, else HTTPS_PROXY minus NO_PROXY, and never
/// for loopback (kind, k3s and minikube clusters at https://127.0.0.1).
@Suite struct ProxyTests {
    static let proxied = ["HTTPS_PROXY": "http://proxy.corp:3128", "HTTP_PROXY": "http://plain.corp:3128"]

    static func pick(_ server: String, _ environment: [String: String], configured: String? = nil) -> String? {
        ProxySelection(environment: environment).proxy(for: URL(string: server)!, configured: configured)
    }

    @Test(arguments: [
        "https://127.0.0.1:6443", "https://127.1.2.3:6443", "https://[::1]:6443", "https://localhost:6443",
        "https://LOCALHOST:443",
    ])
    func loopbackIsNeverProxiedFromTheEnvironment(server: String) {
        #expect(Self.pick(server, Self.proxied) == nil)
    }

    @Test func remoteClustersUseTheSchemesVariable() {
        #expect(Self.pick("https://10.0.0.5:6443", Self.proxied) == "http://proxy.corp:3128")
        #expect(
            Self.pick("https://api.example.com", ["https_proxy": "socks5://bastion:1080"]) == "socks5://bastion:1080")
        #expect(Self.pick("https://api.example.com", ["HTTP_PROXY": "http://plain.corp:3128"]) == nil)
        #expect(Self.pick("https://api.example.com", [:]) == nil)
    }

    @Test(arguments: [
        ("api.example.com", true), ("example.com", true), (".example.com", true), ("*.example.com", true),
        ("other.com", false), ("*", true), ("10.0.0.0/8", false), ("api.example.com:6443", true),
        ("api.example.com:443", false), ("xample.com", false), ("foo, example.com", true),
    ])
    func noProxyEntries(entry: String, bypassed: Bool) {
        let environment = Self.proxied.merging(["NO_PROXY": entry]) { _, new in new }
        #expect((Self.pick("https://api.example.com:6443", environment) == nil) == bypassed, "\(entry)")
    }

    @Test func noProxyDomainWithLeadingDotSkipsOnlySubdomains() {
        let environment = Self.proxied.merging(["no_proxy": ".example.com"]) { _, new in new }
        #expect(Self.pick("https://example.com", environment) != nil)
        #expect(Self.pick("https://a.example.com", environment) == nil)
    }

    @Test func noProxyCIDRs() {
        let environment = Self.proxied.merging(["NO_PROXY": "10.0.0.0/8,fd00::/8"]) { _, new in new }
        #expect(Self.pick("https://10.200.0.1:6443", environment) == nil)
        #expect(Self.pick("https://11.0.0.1:6443", environment) != nil)
        #expect(Self.pick("https://[fd12::1]:6443", environment) == nil)
    }

    @Test func proxyURLOfTheClusterWinsEvenForLoopback() {
        #expect(
            Self.pick("https://127.0.0.1:6443", [:], configured: "socks5://127.0.0.1:1080") == "socks5://127.0.0.1:1080"
        )
    }

    /// End to end: the kubeconfig's proxy-url is read and the request goes through it (a fake HTTP
    /// proxy that refuses the CONNECT, so the request fails after the proxy saw it).
    @Test func requestsGoThroughTheKubeconfigProxyURL() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let seen = Locked<[String]>([])
        let proxy = try await TestHTTPSServer(certificates: nil) { request in
            seen.withLock { $0.append("\(request.method) \(request.uri)") }
            return TestResponse(status: 403, headers: [:], chunks: [])
        }
        do {
            let fixture = try KubeConfigFixture(
                server: "https://kube.test:6443", cluster: ["proxy-url: http://127.0.0.1:\(proxy.port)"], in: folder)
            #expect(try fixture.config().tls.proxyURL == "http://127.0.0.1:\(proxy.port)")
            await #expect(throws: (any Error).self) { try await fixture.client().serverVersion() }
            #expect(seen.current == ["CONNECT kube.test:6443"])
        } catch {
            await proxy.stop()
            throw error
        }
        await proxy.stop()
    }
}
