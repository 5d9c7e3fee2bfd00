import Foundation

enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    var isControl: Bool { rawValue & 0x8 != 0 }
}

/// One RFC 6455 frame.
struct WebSocketFrame: Equatable {
    var fin = true
    var opcode: WebSocketOpcode
    var payload: Data

    /// The wire bytes; a client must mask every frame it sends (RFC 6455 §5.3).
    func encoded(maskKey: UInt32? = UInt32.random(in: .min ... .max)) -> Data {
        var out = Data(capacity: payload.count + 14)
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        switch payload.count {
        case ..<126:
            out.append(maskBit | UInt8(payload.count))
        case ..<65536:
            out.append(maskBit | 126)
            out.append(contentsOf: [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)])
        default:
            out.append(maskBit | 127)
            out.append(contentsOf: (0..<8).reversed().map { UInt8((UInt64(payload.count) >> ($0 * 8)) & 0xFF) })
        }
        guard let maskKey else {
            out.append(payload)
            return out
        }
        let mask = [
            UInt8(maskKey >> 24), UInt8((maskKey >> 16) & 0xFF), UInt8((maskKey >> 8) & 0xFF), UInt8(maskKey & 0xFF),
        ]
        out.append(contentsOf: mask)
        let start = out.count
        out.append(payload)
        out.withUnsafeMutableBytes { applyMask(maskKey, to: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        return out
    }
}

public struct WebSocketProtocolError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Cuts received bytes into frames; bytes may arrive split anywhere. Consumed bytes are dropped in
/// batches, not per frame, so a burst of many frames costs linear time.
struct WebSocketFrameParser {
    static let maximumPayload = 256 << 20
    private var buffer = Data()
    private var start = 0

    mutating func append(_ data: Data) {
        if start > 0, start >= buffer.count / 2 {
            buffer = buffer.subdata(in: start..<buffer.count)
            start = 0
        }
        buffer.append(data)
    }

    mutating func next() throws -> WebSocketFrame? {
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let first = buffer[start]
        let second = buffer[start + 1]
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            throw WebSocketProtocolError(description: "unknown WebSocket opcode \(first & 0x0F)")
        }
        var length = Int(second & 0x7F)
        var offset = 2
        if length == 126 {
            guard available >= 4 else { return nil }
            length = Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            offset = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(buffer[start + index]) }
            guard value <= UInt64(Self.maximumPayload) else {
                throw WebSocketProtocolError(description: "WebSocket frame of \(value) bytes is too large")
            }
            length = Int(value)
            offset = 10
        }
        let masked = second & 0x80 != 0
        let maskOffset = offset
        if masked { offset += 4 }
        guard available >= offset + length else { return nil }
        var payload = buffer.subdata(in: (start + offset)..<(start + offset + length))
        if masked {
            let key = buffer[(start + maskOffset)..<(start + maskOffset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            payload.withUnsafeMutableBytes { applyMask(key, to: $0) }
        }
        start += offset + length
        return WebSocketFrame(fin: first & 0x80 != 0, opcode: opcode, payload: payload)
    }
}

/// XORs a payload with a masking key (RFC 6455 §5.3), eight bytes at a time.
func applyMask(_ key: UInt32, to bytes: UnsafeMutableRawBufferPointer) {
    let mask: [UInt8] = [UInt8(key >> 24), UInt8((key >> 16) & 0xFF), UInt8((key >> 8) & 0xFF), UInt8(key & 0xFF)]
    var wide: UInt64 = 0
    for index in 0..<8 { wide |= UInt64(mask[index & 3]) << (UInt64(index) * 8) }
    let words = bytes.count / 8
    for word in 0..<words {
        let value = bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
        bytes.storeBytes(of: value ^ wide, toByteOffset: word * 8, as: UInt64.self)
    }
    for index in (words * 8)..<bytes.count { bytes[index] ^= mask[index & 3] }
}

/// Joins fragmented messages; control frames may arrive between the fragments.
struct WebSocketMessageAssembler {
    private var opcode: WebSocketOpcode?
    private var parts = Data()

    /// A complete data message, or nil while fragments are pending.
    mutating func add(_ frame: WebSocketFrame) throws -> (WebSocketOpcode, Data)? {
        switch frame.opcode {
        case .continuation:
            guard let opcode else { throw WebSocketProtocolError(description: "continuation frame without a message") }
            parts.append(frame.payload)
            guard frame.fin else { return nil }
            defer { reset() }
            return (opcode, parts)
        case .text, .binary:
            guard opcode == nil else {
                throw WebSocketProtocolError(description: "new message inside a fragmented one")
            }
            if frame.fin { return (frame.opcode, frame.payload) }
            opcode = frame.opcode
            parts = frame.payload
            return nil
        default:
            return nil
        }
    }

    private mutating func reset() {
        opcode = nil
        parts = Data()
    }
}
