import Foundation

/// The SPDY/3.1 frames a port-forward client sends and receives. Written for DevLoop over `Data`
/// (kubesim's codec is built on NIO's ByteBuffer, which the client library does not link).
enum SPDYClientFrame: Equatable {
    case synStream(streamID: UInt32, flags: UInt8, headers: [(String, String)])
    case synReply(streamID: UInt32)
    case rstStream(streamID: UInt32, status: UInt32)
    case settings
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    case windowUpdate(streamID: UInt32, delta: UInt32)
    case data(streamID: UInt32, fin: Bool, payload: Data)
    /// HEADERS and types SPDY/3.1 leaves undefined: ignored, as the spec says.
    case ignored(type: UInt16)

    static let finFlag: UInt8 = 0x01

    static func == (lhs: SPDYClientFrame, rhs: SPDYClientFrame) -> Bool {
        switch (lhs, rhs) {
        case (.synStream(let a, let b, let c), .synStream(let x, let y, let z)):
            return a == x && b == y && c.elementsEqual(z) { $0 == $1 }
        case (.synReply(let a), .synReply(let x)): return a == x
        case (.rstStream(let a, let b), .rstStream(let x, let y)): return a == x && b == y
        case (.settings, .settings): return true
        case (.ping(let a), .ping(let x)): return a == x
        case (.goAway(let a, let b), .goAway(let x, let y)): return a == x && b == y
        case (.windowUpdate(let a, let b), .windowUpdate(let x, let y)): return a == x && b == y
        case (.data(let a, let b, let c), .data(let x, let y, let z)): return a == x && b == y && c == z
        case (.ignored(let a), .ignored(let x)): return a == x
        default: return false
        }
    }
}

/// Encodes and decodes frames for one connection: each direction has its own zlib stream for header
/// blocks, kept for the whole connection, so one codec per connection and direction.
final class SPDYClientCodec {
    private let deflater = SPDYZlibStream(compressing: true)
    private let inflater = SPDYZlibStream(compressing: false)
    private var input = Data()
    /// Where the unread bytes of `input` begin.
    private var start = 0

    func encode(_ frame: SPDYClientFrame) throws -> Data {
        var out = Data()
        switch frame {
        case .data(let streamID, let fin, let payload):
            out.appendWord(streamID & 0x7fff_ffff)
            out.appendWord(UInt32(fin ? SPDYClientFrame.finFlag : 0) << 24 | UInt32(payload.count))
            out.append(payload)
        case .synStream(let streamID, let flags, let headers):
            let block = try deflater.process(Self.headerBlock(headers))
            control(1, flags: flags, length: 10 + block.count, into: &out)
            out.appendWord(streamID)
            out.appendWord(0)
            out.append(contentsOf: [0, 0])
            out.append(block)
        case .synReply(let streamID):
            let block = try deflater.process(Self.headerBlock([]))
            control(2, flags: 0, length: 4 + block.count, into: &out)
            out.appendWord(streamID)
            out.append(block)
        case .rstStream(let streamID, let status):
            control(3, flags: 0, length: 8, into: &out)
            out.appendWord(streamID)
            out.appendWord(status)
        case .settings:
            control(4, flags: 0, length: 4, into: &out)
            out.appendWord(0)
        case .ping(let id):
            control(6, flags: 0, length: 4, into: &out)
            out.appendWord(id)
        case .goAway(let lastGood, let status):
            control(7, flags: 0, length: 8, into: &out)
            out.appendWord(lastGood)
            out.appendWord(status)
        case .windowUpdate(let streamID, let delta):
            control(9, flags: 0, length: 8, into: &out)
            out.appendWord(streamID)
            out.appendWord(delta & 0x7fff_ffff)
        case .ignored:
            break
        }
        return out
    }

    func append(_ bytes: Data) {
        // Drop what was read before growing, so the buffer stays about one read plus one frame.
        if start > 0, start >= input.count / 2 {
            input = input.subdata(in: (input.startIndex + start)..<input.endIndex)
            start = 0
        }
        input.append(bytes)
    }

    /// The next complete frame of what was appended, or nil when more bytes are needed.
    func next() throws -> SPDYClientFrame? {
        guard input.count - start >= 8 else { return nil }
        let base = input.startIndex + start
        let first = input.word(at: base)
        let flags = input[base + 4]
        let length = Int(input.word(at: base + 4) & 0x00ff_ffff)
        guard input.count - start >= 8 + length else { return nil }
        let payload = input.subdata(in: (base + 8)..<(base + 8 + length))
        start += 8 + length
        if start == input.count {
            input.removeAll(keepingCapacity: true)
            start = 0
        }
        guard first & 0x8000_0000 != 0 else {
            return .data(streamID: first & 0x7fff_ffff, fin: flags & SPDYClientFrame.finFlag != 0, payload: payload)
        }
        let version = (first >> 16) & 0x7fff
        guard version == 3 else { throw SPDYClientError("unsupported SPDY version \(version)") }
        return try control(type: UInt16(first & 0xffff), flags: flags, payload: payload)
    }

    private func control(type: UInt16, flags: UInt8, payload: Data) throws -> SPDYClientFrame {
        let base = payload.startIndex
        func word(_ index: Int) throws -> UInt32 {
            guard payload.count >= 4 * (index + 1) else {
                throw SPDYClientError("control frame of type \(type) is too short")
            }
            return payload.word(at: base + 4 * index)
        }
        switch type {
        case 1:
            // The server opens no streams in port-forward; decompress to keep the zlib stream in step.
            _ = try inflater.process(payload.dropFirst(10))
            return .synStream(streamID: try word(0) & 0x7fff_ffff, flags: flags, headers: [])
        case 2, 8:
            _ = try inflater.process(payload.dropFirst(4))
            return type == 2 ? .synReply(streamID: try word(0) & 0x7fff_ffff) : .ignored(type: type)
        case 3: return .rstStream(streamID: try word(0) & 0x7fff_ffff, status: try word(1))
        case 4: return .settings
        case 6: return .ping(id: try word(0))
        case 7:
            return .goAway(lastGoodStreamID: try word(0) & 0x7fff_ffff, status: payload.count >= 8 ? try word(1) : 0)
        case 9: return .windowUpdate(streamID: try word(0) & 0x7fff_ffff, delta: try word(1) & 0x7fff_ffff)
        default: return .ignored(type: type)
        }
    }

    private func control(_ type: UInt16, flags: UInt8, length: Int, into out: inout Data) {
        out.appendWord(0x8003_0000 | UInt32(type))
        out.appendWord(UInt32(flags) << 24 | UInt32(length & 0x00ff_ffff))
    }

    /// A count, then each lowercase name and value with a 32-bit length.
    static func headerBlock(_ headers: [(String, String)]) -> Data {
        var block = Data()
        block.appendWord(UInt32(headers.count))
        for (name, value) in headers {
            let name = Data(name.lowercased().utf8)
            let value = Data(value.utf8)
            block.appendWord(UInt32(name.count))
            block.append(name)
            block.appendWord(UInt32(value.count))
            block.append(value)
        }
        return block
    }
}

struct SPDYClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "SPDY: " + description }
}

extension Data {
    mutating func appendWord(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff),
        ])
    }

    func word(at index: Index) -> UInt32 {
        UInt32(self[index]) << 24 | UInt32(self[index + 1]) << 16 | UInt32(self[index + 2]) << 8
            | UInt32(self[index + 3])
    }
}
