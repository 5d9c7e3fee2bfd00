import NIOCore

/// Reads SPDY/3.1 frames from a byte stream. Every frame starts with 8 bytes: a control bit; for control
/// frames the version (3) and type, for data frames the stream id; then 8 bits of flags and a 24-bit
/// length of what follows.
struct SPDYFrameDecoder {
    private let headers = SPDYHeaderInflater()

    /// The next complete frame in `buffer` (consumed), or nil when more bytes are needed.
    func decode(_ buffer: inout ByteBuffer) throws -> SPDYFrame? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            let flagsAndLength = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self)
        else { return nil }
        let flags = UInt8(flagsAndLength >> 24)
        let length = Int(flagsAndLength & 0x00ff_ffff)
        guard buffer.readableBytes >= 8 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 8)
        var payload = buffer.readSlice(length: length)!
        guard first & 0x8000_0000 != 0 else {
            let streamID = first & 0x7fff_ffff
            guard streamID != 0 else { throw SPDYProtocolError("a DATA frame on stream 0") }
            return .data(streamID: streamID, fin: flags & SPDYFrame.finFlag != 0, payload: payload)
        }
        let version = UInt16((first >> 16) & 0x7fff)
        guard version == 3 else { throw SPDYProtocolError("unsupported SPDY version \(version)") }
        return try control(type: UInt16(first & 0xffff), flags: flags, payload: &payload)
    }

    private func control(type: UInt16, flags: UInt8, payload: inout ByteBuffer) throws -> SPDYFrame {
        func word() throws -> UInt32 {
            guard let value = payload.readInteger(as: UInt32.self) else {
                throw SPDYProtocolError("control frame of type \(type) is too short")
            }
            return value
        }
        func headerBlock() throws -> SPDYHeaderBlock {
            try headers.decompress(payload.readBytes(length: payload.readableBytes) ?? [])
        }
        switch type {
        case SPDYFrameType.synStream:
            let streamID = try word() & 0x7fff_ffff
            let associated = try word() & 0x7fff_ffff
            guard let priority = payload.readInteger(as: UInt8.self), payload.readInteger(as: UInt8.self) != nil else {
                throw SPDYProtocolError("SYN_STREAM is too short")
            }
            guard streamID != 0 else { throw SPDYProtocolError("SYN_STREAM for stream 0") }
            return .synStream(
                streamID: streamID, associatedTo: associated, priority: priority >> 5, flags: flags,
                headers: try headerBlock())
        case SPDYFrameType.synReply:
            return .synReply(streamID: try word() & 0x7fff_ffff, flags: flags, headers: try headerBlock())
        case SPDYFrameType.headers:
            return .headers(streamID: try word() & 0x7fff_ffff, flags: flags, headers: try headerBlock())
        case SPDYFrameType.rstStream:
            return .rstStream(streamID: try word() & 0x7fff_ffff, status: try word())
        case SPDYFrameType.settings:
            let count = try word()
            var entries: [SPDYSetting] = []
            for _ in 0..<count {
                let flagsAndID = try word()
                entries.append(
                    SPDYSetting(flags: UInt8(flagsAndID >> 24), id: flagsAndID & 0x00ff_ffff, value: try word()))
            }
            return .settings(flags: flags, entries: entries)
        case SPDYFrameType.ping:
            return .ping(id: try word())
        case SPDYFrameType.goAway:
            let lastGood = try word() & 0x7fff_ffff
            // SPDY/3 added the status; tolerate a SPDY/2-style short GOAWAY.
            return .goAway(
                lastGoodStreamID: lastGood, status: payload.readInteger(as: UInt32.self) ?? SPDYSessionStatus.ok)
        case SPDYFrameType.windowUpdate:
            return .windowUpdate(streamID: try word() & 0x7fff_ffff, delta: try word() & 0x7fff_ffff)
        default:
            return .unknown(type: type, flags: flags, payload: payload)
        }
    }
}

/// Writes SPDY/3.1 frames, compressing header blocks on the connection's outgoing zlib stream.
struct SPDYFrameEncoder {
    private let headers = SPDYHeaderDeflater()

    func encode(_ frame: SPDYFrame, into buffer: inout ByteBuffer) {
        switch frame {
        case .data(let streamID, let fin, let payload):
            buffer.writeInteger(streamID & 0x7fff_ffff)
            buffer.writeInteger(UInt32(fin ? SPDYFrame.finFlag : 0) << 24 | UInt32(payload.readableBytes))
            buffer.writeImmutableBuffer(payload)
        case .synStream(let streamID, let associated, let priority, let flags, let block):
            let compressed = headers.compress(block)
            writeControlHeader(SPDYFrameType.synStream, flags: flags, length: 10 + compressed.count, into: &buffer)
            buffer.writeInteger(streamID & 0x7fff_ffff)
            buffer.writeInteger(associated & 0x7fff_ffff)
            buffer.writeInteger(UInt8((priority & 0x07) << 5))
            buffer.writeInteger(UInt8(0))
            buffer.writeBytes(compressed)
        case .synReply(let streamID, let flags, let block), .headers(let streamID, let flags, let block):
            let compressed = headers.compress(block)
            let type = if case .synReply = frame { SPDYFrameType.synReply } else { SPDYFrameType.headers }
            writeControlHeader(type, flags: flags, length: 4 + compressed.count, into: &buffer)
            buffer.writeInteger(streamID & 0x7fff_ffff)
            buffer.writeBytes(compressed)
        case .rstStream(let streamID, let status):
            writeControlHeader(SPDYFrameType.rstStream, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(streamID & 0x7fff_ffff)
            buffer.writeInteger(status)
        case .settings(let flags, let entries):
            writeControlHeader(SPDYFrameType.settings, flags: flags, length: 4 + 8 * entries.count, into: &buffer)
            buffer.writeInteger(UInt32(entries.count))
            for entry in entries {
                buffer.writeInteger(UInt32(entry.flags) << 24 | (entry.id & 0x00ff_ffff))
                buffer.writeInteger(entry.value)
            }
        case .ping(let id):
            writeControlHeader(SPDYFrameType.ping, flags: 0, length: 4, into: &buffer)
            buffer.writeInteger(id)
        case .goAway(let lastGood, let status):
            writeControlHeader(SPDYFrameType.goAway, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(lastGood & 0x7fff_ffff)
            buffer.writeInteger(status)
        case .windowUpdate(let streamID, let delta):
            writeControlHeader(SPDYFrameType.windowUpdate, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(streamID & 0x7fff_ffff)
            buffer.writeInteger(delta & 0x7fff_ffff)
        case .unknown(let type, let flags, let payload):
            writeControlHeader(type, flags: flags, length: payload.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(payload)
        }
    }

    private func writeControlHeader(_ type: UInt16, flags: UInt8, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(0x8000 | 3))
        buffer.writeInteger(type)
        buffer.writeInteger(UInt32(flags) << 24 | UInt32(length & 0x00ff_ffff))
    }
}

/// A connection's incoming bytes, kept until they make whole frames (for the server handlers).
struct SPDYFrameAccumulator {
    private let decoder = SPDYFrameDecoder()
    private var input: ByteBuffer?

    /// Adds `bytes`: the whole frames they complete, in order, and whether a frame after those does
    /// not parse (the connection is unreadable from there). Handlers act on the frames after this
    /// returns, so a handler that reads again meanwhile cannot overlap it.
    mutating func read(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) -> (frames: [SPDYFrame], malformed: Bool) {
        var bytes = bytes
        var buffered = input.take() ?? allocator.buffer(capacity: bytes.readableBytes)
        buffered.writeBuffer(&bytes)
        var frames: [SPDYFrame] = []
        do {
            while let frame = try decoder.decode(&buffered) { frames.append(frame) }
        } catch {
            return (frames, true)
        }
        if buffered.readableBytes > 0 {
            buffered.discardReadBytes()
            input = buffered
        }
        return (frames, false)
    }
}
