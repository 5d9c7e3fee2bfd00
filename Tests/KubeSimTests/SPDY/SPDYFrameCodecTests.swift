import CZlib
import NIOCore
import SPDYCompression
import Testing

@testable import KubeSim

@Suite("SPDY/3.1 frame codec")
struct SPDYFrameCodecTests {
    /// One direction of a connection: what `encoder` writes, `decoder` reads.
    private func roundTrip(_ frames: [SPDYFrame]) throws -> [SPDYFrame] {
        let encoder = SPDYFrameEncoder()
        let decoder = SPDYFrameDecoder()
        var buffer = ByteBuffer()
        for frame in frames { encoder.encode(frame, into: &buffer) }
        var decoded: [SPDYFrame] = []
        while let frame = try decoder.decode(&buffer) { decoded.append(frame) }
        #expect(buffer.readableBytes == 0)
        return decoded
    }

    @Test func dictionaryIsTheSPDY3One() {
        let bytes = SPDYDictionary.bytes
        #expect(bytes.count == 1423)
        let checksum = bytes.withUnsafeBufferPointer { adler32(adler32(0, nil, 0), $0.baseAddress, UInt32($0.count)) }
        #expect(checksum == 0xe3c6_a7c2)
    }

    @Test func everyFrameTypeRoundTrips() throws {
        let headers: SPDYHeaderBlock = ["streamtype": "data", "port": "5000", "requestid": "0"]
        let frames: [SPDYFrame] = [
            .synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headers: headers),
            .synReply(streamID: 1, flags: 0, headers: SPDYHeaderBlock()),
            .headers(streamID: 3, flags: SPDYFrame.finFlag, headers: ["x": "a\0b"]),
            .rstStream(streamID: 5, status: SPDYStreamStatus.cancel),
            .settings(flags: 1, entries: [SPDYSetting(flags: 1, id: 7, value: 65536)]),
            .ping(id: 7),
            .goAway(lastGoodStreamID: 9, status: SPDYSessionStatus.protocolError),
            .windowUpdate(streamID: 1, delta: 4096),
            .data(streamID: 1, fin: false, payload: ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")),
            .data(streamID: 3, fin: true, payload: ByteBuffer()),
            .unknown(type: 42, flags: 0, payload: ByteBuffer(bytes: [1, 2, 3])),
        ]
        #expect(try roundTrip(frames) == frames)
    }

    @Test func fixedFramesHaveTheSpecLayout() throws {
        let encoder = SPDYFrameEncoder()
        func bytes(_ frame: SPDYFrame) -> [UInt8] {
            var buffer = ByteBuffer()
            encoder.encode(frame, into: &buffer)
            return Array(buffer.readableBytesView)
        }
        // Control bit + version 3, type, flags, 24-bit length, then the fields (big-endian).
        #expect(bytes(.ping(id: 1)) == [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1])
        #expect(
            bytes(.rstStream(streamID: 3, status: 5)) == [
                0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 3, 0, 0, 0, 5,
            ])
        #expect(
            bytes(.goAway(lastGoodStreamID: 7, status: 0)) == [
                0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 7, 0, 0, 0, 0,
            ]
        )
        #expect(
            bytes(.windowUpdate(streamID: 1, delta: 0x10000))
                == [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 1, 0, 0])
        // Data: stream id without the control bit, FIN in the flags byte, length, payload.
        #expect(
            bytes(.data(streamID: 1, fin: true, payload: ByteBuffer(string: "abc")))
                == [0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x03, 0x61, 0x62, 0x63])
        // SETTINGS: count, then flags(8) + id(24) and value per entry.
        #expect(
            bytes(.settings(flags: 0, entries: [SPDYSetting(flags: 1, id: 4, value: 100)]))
                == [0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0c, 0, 0, 0, 1, 0x01, 0, 0, 4, 0, 0, 0, 100])
    }

    @Test func framesSplitAcrossReadsWaitForTheirLastByte() throws {
        let encoder = SPDYFrameEncoder()
        let decoder = SPDYFrameDecoder()
        var whole = ByteBuffer()
        encoder.encode(
            .synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headers: ["port": "80"]), into: &whole)
        encoder.encode(.data(streamID: 1, fin: false, payload: ByteBuffer(string: "hello")), into: &whole)
        var partial = ByteBuffer()
        var frames: [SPDYFrame] = []
        for byte in whole.readableBytesView {
            partial.writeInteger(byte)
            while let frame = try decoder.decode(&partial) { frames.append(frame) }
        }
        #expect(frames.count == 2)
        #expect(frames.last == .data(streamID: 1, fin: false, payload: ByteBuffer(string: "hello")))
    }

    @Test func headerBlocksShareOneZlibStreamPerDirection() throws {
        let encoder = SPDYFrameEncoder()
        var blocks: [ByteBuffer] = []
        for id in [1, 3, 5] as [UInt32] {
            var buffer = ByteBuffer()
            let headers: SPDYHeaderBlock = [
                "streamtype": id == 3 ? "data" : "error", "port": "5000", "requestid": "\(id / 4)",
            ]
            encoder.encode(
                .synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0, headers: headers), into: &buffer)
            blocks.append(buffer)
        }
        // Later blocks refer back to earlier ones, so they are smaller than the first...
        #expect(blocks[1].readableBytes < blocks[0].readableBytes)
        #expect(blocks[2].readableBytes < blocks[0].readableBytes)
        // ...and decode in order on one stream,
        let decoder = SPDYFrameDecoder()
        for (index, var block) in blocks.enumerated() {
            guard case .synStream(_, _, _, _, let headers) = try decoder.decode(&block) else {
                Issue.record("block \(index) is not a SYN_STREAM")
                continue
            }
            #expect(headers["port"] == "5000")
        }
        // ...but not on a fresh one: the second block alone lacks the first's history.
        var second = blocks[1]
        #expect(throws: SPDYProtocolError.self) { _ = try SPDYFrameDecoder().decode(&second) }
    }

    /// The first two frames kubectl 1.32.4 sent for a forwarded connection, captured from its SPDY
    /// tunnel: the error then the data stream's SYN_STREAM, the second compressed on the first's stream.
    @Test func decodesKubectlsSynStreams() throws {
        func hex(_ text: String) -> [UInt8] {
            stride(from: 0, to: text.count, by: 2).map {
                let start = text.index(text.startIndex, offsetBy: $0)
                return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
            }
        }
        var captured = ByteBuffer(
            bytes: hex(
                "80030001" + "0000003e" + "00000001" + "00000000" + "0000"
                    + "78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c606a6060c0c0c0c0590489c64c50f2663400000000ffff"
                    + "0000000101000000"
                    + "80030001" + "00000018" + "00000003" + "00000000" + "0000" + "c2aa19540e2512d60b000000ffff"))
        let decoder = SPDYFrameDecoder()
        var frames: [SPDYFrame] = []
        while let frame = try decoder.decode(&captured) { frames.append(frame) }
        let expected: [SPDYFrame] = [
            .synStream(
                streamID: 1, associatedTo: 0, priority: 0, flags: 0,
                headers: ["streamtype": "error", "port": "5000", "requestid": "0"]),
            .data(streamID: 1, fin: true, payload: ByteBuffer()),
            .synStream(
                streamID: 3, associatedTo: 0, priority: 0, flags: 0,
                headers: ["streamtype": "data", "port": "5000", "requestid": "0"]),
        ]
        #expect(frames == expected)
    }

    @Test func headerBlockLayoutAndLookup() throws {
        let block: SPDYHeaderBlock = ["StreamType": "error", "port": "5000"]
        let encoded = encodeHeaderBlock(block)
        #expect(Array(encoded.prefix(4)) == [0, 0, 0, 2])
        #expect(Array(encoded[4..<8]) == [0, 0, 0, 10])
        #expect(String(decoding: encoded[8..<18], as: UTF8.self) == "streamtype", "names go out lowercase")
        let decoded = try decodeHeaderBlock(encoded)
        #expect(decoded["streamType"] == "error" && decoded["PORT"] == "5000" && decoded["requestid"] == nil)
        let several: SPDYHeaderBlock = ["a": "x\0y"]
        #expect(several["a"] == "x", "the first of several values")
        #expect(throws: SPDYProtocolError.self) { try decodeHeaderBlock([0, 0, 0, 1, 0, 0, 0, 9, 1]) }
    }

    @Test func malformedFramesAreRejected() {
        let decoder = SPDYFrameDecoder()
        var version2 = ByteBuffer(bytes: [0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1])
        #expect(throws: SPDYProtocolError.self) { _ = try decoder.decode(&version2) }
        var dataOnStreamZero = ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1, 0x61])
        #expect(throws: SPDYProtocolError.self) { _ = try decoder.decode(&dataOnStreamZero) }
        var shortPing = ByteBuffer(bytes: [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x02, 0, 1])
        #expect(throws: SPDYProtocolError.self) { _ = try decoder.decode(&shortPing) }
        var garbageHeaders = ByteBuffer(bytes: [0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 1, 2, 3, 4])
        #expect(throws: SPDYProtocolError.self) { _ = try decoder.decode(&garbageHeaders) }
    }
}
