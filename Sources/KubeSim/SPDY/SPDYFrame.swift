import NIOCore

/// A SPDY/3.1 frame (draft-mbelshe-httpbis-spdy-00 and the 3.1 changes), as kubectl's spdystream sends
/// them. Control frames are version 3; header blocks travel zlib-compressed (see `SPDYFrameDecoder`).
public enum SPDYFrame: Equatable, Sendable {
    case synStream(streamID: UInt32, associatedTo: UInt32, priority: UInt8, flags: UInt8, headers: SPDYHeaderBlock)
    case synReply(streamID: UInt32, flags: UInt8, headers: SPDYHeaderBlock)
    case rstStream(streamID: UInt32, status: UInt32)
    case settings(flags: UInt8, entries: [SPDYSetting])
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    case headers(streamID: UInt32, flags: UInt8, headers: SPDYHeaderBlock)
    case windowUpdate(streamID: UInt32, delta: UInt32)
    case data(streamID: UInt32, fin: Bool, payload: ByteBuffer)
    /// A control frame of a type SPDY/3.1 does not define (the spec says: ignore it).
    case unknown(type: UInt16, flags: UInt8, payload: ByteBuffer)

    /// FLAG_FIN on SYN_STREAM, SYN_REPLY, HEADERS and DATA.
    public static let finFlag: UInt8 = 0x01
    /// FLAG_UNIDIRECTIONAL on SYN_STREAM.
    public static let unidirectionalFlag: UInt8 = 0x02
}

/// Control frame types.
enum SPDYFrameType {
    static let synStream: UInt16 = 1
    static let synReply: UInt16 = 2
    static let rstStream: UInt16 = 3
    static let settings: UInt16 = 4
    static let ping: UInt16 = 6
    static let goAway: UInt16 = 7
    static let headers: UInt16 = 8
    static let windowUpdate: UInt16 = 9
}

/// RST_STREAM status codes.
public enum SPDYStreamStatus {
    public static let protocolError: UInt32 = 1
    public static let invalidStream: UInt32 = 2
    public static let refusedStream: UInt32 = 3
    public static let cancel: UInt32 = 5
    public static let internalError: UInt32 = 6
}

/// GOAWAY status codes.
public enum SPDYSessionStatus {
    public static let ok: UInt32 = 0
    public static let protocolError: UInt32 = 1
    public static let internalError: UInt32 = 2
}

/// One SETTINGS entry: 8 bits of flags, a 24-bit id, a 32-bit value.
public struct SPDYSetting: Equatable, Sendable {
    public var flags: UInt8
    public var id: UInt32
    public var value: UInt32

    public init(flags: UInt8 = 0, id: UInt32, value: UInt32) {
        self.flags = flags
        self.id = id
        self.value = value
    }
}

/// A decompressed header block: lowercase names, each with one value (several values are joined by NUL
/// on the wire, and kept joined here).
public struct SPDYHeaderBlock: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    public var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value of `name`, compared without case (Go's http.Header canonicalises names).
    public subscript(name: String) -> String? {
        let wanted = name.lowercased()
        guard let value = fields.first(where: { $0.name.lowercased() == wanted })?.value else { return nil }
        return String(value.split(separator: "\0", omittingEmptySubsequences: false).first ?? "")
    }

    public static func == (lhs: SPDYHeaderBlock, rhs: SPDYHeaderBlock) -> Bool {
        lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0 == $1 }
    }
}

/// The byte layout of a frame was wrong.
public struct SPDYProtocolError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "SPDY protocol error: \(message)" }
}
