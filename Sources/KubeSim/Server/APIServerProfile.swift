/// Which Kubernetes release kubesim's API server behaves like where the releases differ for a client
/// such as devloop or kubectl: the streaming protocols it accepts and what `/version` says.
public enum APIServerProfile: String, Sendable, CaseIterable {
    /// 1.32: exec over WebSocket v5 or v4; port-forward as SPDY/3.1 tunnelled in a WebSocket
    /// (`SPDY/3.1+portforward.k8s.io`, from 1.30), plain SPDY/3.1, or WebSocket streams.
    case current = "1.32"
    /// 1.25: exec only `v4.channel.k8s.io` (WebSocket, or plain SPDY/3.1 as kubectl falls back to);
    /// port-forward plain SPDY/3.1 or WebSocket `portforward.k8s.io`/v4, no SPDY inside a WebSocket.
    /// A WebSocket upgrade offering no supported subprotocol gets the kubelet's bare 403 (its
    /// WebSocket library's handshake refusal: no body, no Status), which clients take as "fall back".
    case kubernetes125 = "1.25"

    public var gitVersion: String {
        switch self {
        case .current: KubeSimInfo.version
        case .kubernetes125: "v1.25.16-kubesim"
        }
    }

    var minor: String { self == .current ? "32" : "25" }

    /// The exec subprotocols accepted over WebSocket, preferred first.
    var execProtocols: [String] {
        self == .current ? ["v5.channel.k8s.io", "v4.channel.k8s.io"] : ["v4.channel.k8s.io"]
    }

    /// Whether port-forward accepts `SPDY/3.1+portforward.k8s.io` over WebSocket.
    var tunnelsSPDY: Bool { self == .current }

    /// Whether a WebSocket upgrade without a supported subprotocol is answered with a bare 403.
    var refusesUnknownSubprotocolBare: Bool { self == .kubernetes125 }
}
