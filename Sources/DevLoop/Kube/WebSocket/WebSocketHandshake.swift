import Crypto
import Foundation

/// The HTTP/1.1 Upgrade exchange, written and read by hand over a CONNECT_ONLY connection
/// (libcurl 7.88 as shipped by Debian has no WebSocket support).
struct WebSocketHandshake {
    enum Outcome {
        /// 101: the subprotocol the server chose and any frame bytes that followed the headers.
        case upgraded(subprotocol: String, leftover: Data)
        /// Any other status: the body usually holds a metav1.Status.
        case refused(status: Int, body: Data)
    }

    let url: URL
    let headers: [String: String]
    let protocols: [String]
    let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    var requestBytes: Data {
        var lines =
            Self.requestStart(method: "GET", url: url) + [
                "Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Key: \(key)", "Sec-WebSocket-Version: 13",
            ]
        if !protocols.isEmpty { lines.append("Sec-WebSocket-Protocol: " + protocols.joined(separator: ", ")) }
        lines += headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return Data((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    func perform(on socket: CurlSocket, timeout: TimeInterval) throws -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        try socket.writeAll(requestBytes, deadline: deadline)
        let (status, fields, rest) = try Self.readResponse(on: socket, deadline: deadline)
        guard status == 101 else {
            return .refused(status: status, body: try Self.readBody(fields, rest, socket, deadline))
        }
        let expected = Data(Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
            .base64EncodedString()
        guard fields["sec-websocket-accept"] == expected else {
            throw KubeClientError.protocolViolation("wrong Sec-WebSocket-Accept in the upgrade response")
        }
        let chosen = fields["sec-websocket-protocol"] ?? ""
        if !chosen.isEmpty, !protocols.contains(chosen) {
            throw KubeClientError.protocolViolation("server chose subprotocol \(chosen), which was not offered")
        }
        return .upgraded(subprotocol: chosen, leftover: rest)
    }

    /// The request line and Host header of an upgrade request for `url`.
    static func requestStart(method: String, url: URL) -> [String] {
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        let hostPort = url.port.map { "\(url.bracketedHost ?? ""):\($0)" } ?? (url.bracketedHost ?? "")
        return ["\(method) \(target) HTTP/1.1", "Host: \(hostPort)"]
    }

    /// The status line and header fields of an upgrade response (names lowercased), and the bytes after.
    static func readResponse(on socket: CurlSocket, deadline: Date) throws -> (Int, [String: String], Data) {
        var received = Data()
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            guard let chunk = try socket.readSome(deadline: deadline) else {
                throw KubeClientError.protocolViolation("the connection closed during the stream upgrade")
            }
            received.append(chunk)
            headerEnd = received.range(of: Data("\r\n\r\n".utf8))
            if received.count > 1 << 20 { throw KubeClientError.protocolViolation("upgrade response headers too long") }
        }
        let head = String(decoding: received[..<headerEnd!.lowerBound], as: UTF8.self)
        let rest = Data(received[headerEnd!.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, fields, rest)
    }

    /// The body of a refused upgrade (a metav1.Status, usually), at most 1 MB.
    static func readBody(_ fields: [String: String], _ start: Data, _ socket: CurlSocket, _ deadline: Date) throws
        -> Data
    {
        var body = start
        let limit = 1 << 20
        let length = fields["content-length"].flatMap { Int($0) }
        let chunked = fields["transfer-encoding"]?.lowercased().contains("chunked") ?? false
        while body.count < limit {
            if let length, body.count >= length { break }
            if chunked, body.range(of: Data("0\r\n\r\n".utf8)) != nil { break }
            guard let chunk = try? socket.readSome(deadline: deadline) else { break }
            body.append(chunk)
        }
        return chunked ? Self.dechunk(body) : body
    }

    static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var index = data.startIndex
        while let lineEnd = data[index...].range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            guard data.distance(from: start, to: data.endIndex) >= size else { break }
            out.append(data[start..<data.index(start, offsetBy: size)])
            index = data.index(start, offsetBy: size + 2, limitedBy: data.endIndex) ?? data.endIndex
        }
        return out
    }
}
