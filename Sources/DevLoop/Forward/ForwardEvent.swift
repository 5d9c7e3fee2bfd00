/// What a port-forward session reports, for status lines: one event per change, not per connection.
public enum ForwardEvent: Sendable, Equatable {
    /// Listening on the local port (the same for the whole session).
    case listening(address: String, port: UInt16)
    /// An upgraded connection to `target` is up, over `protocol` (`spdyOverWebSocket`, `spdy` or
    /// `webSocket`).
    case connected(target: PodTarget, protocol: PortForwardProtocol)
    /// New connections now go to another pod (the old one was replaced).
    case targetChanged(from: PodTarget, to: PodTarget)
    /// A forwarded connection failed after every retry, or the pod side reported an error.
    case failed(String)
}
