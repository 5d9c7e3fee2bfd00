import CZlib
import NIOCore
import SPDYCompression

/// Compresses header blocks for one direction of a SPDY connection: a single zlib stream primed with the
/// SPDY/3 dictionary for the whole connection, each block ending with a sync flush (as Go's
/// `zlib.Writer.Flush` in spdystream), so that the peer can decompress it at once.
final class SPDYHeaderDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let level = Z_BEST_COMPRESSION
        precondition(deflateInit_(stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        let status = SPDYDictionary.bytes.withUnsafeBufferPointer {
            deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
        }
        precondition(status == Z_OK, "deflateSetDictionary failed")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    func compress(_ block: SPDYHeaderBlock) -> [UInt8] {
        var input = encodeHeaderBlock(block)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        input.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = UInt32(input.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { chunk in
                    stream.pointee.next_out = chunk.baseAddress
                    stream.pointee.avail_out = UInt32(chunk.count)
                    _ = deflate(stream, Z_SYNC_FLUSH)
                    output += chunk[0..<(chunk.count - Int(stream.pointee.avail_out))]
                }
            } while stream.pointee.avail_out == 0
        }
        stream.pointee.next_in = nil
        return output
    }
}

/// Decompresses the header blocks of one direction of a SPDY connection (one zlib stream for all).
final class SPDYHeaderInflater {
    private let stream: UnsafeMutablePointer<z_stream>

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        precondition(inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func decompress(_ compressed: [UInt8]) throws -> SPDYHeaderBlock {
        var input = compressed
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        try input.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = UInt32(input.count)
            while true {
                var status: Int32 = Z_OK
                chunk.withUnsafeMutableBufferPointer { chunk in
                    stream.pointee.next_out = chunk.baseAddress
                    stream.pointee.avail_out = UInt32(chunk.count)
                    status = inflate(stream, Z_SYNC_FLUSH)
                    output += chunk[0..<(chunk.count - Int(stream.pointee.avail_out))]
                }
                if status == Z_NEED_DICT {
                    status = SPDYDictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                    }
                    guard status == Z_OK else { throw SPDYProtocolError("the header block needs another dictionary") }
                    continue
                }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw SPDYProtocolError("the header block does not decompress (zlib status \(status))")
                }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { break }
                if status == Z_BUF_ERROR && stream.pointee.avail_out > 0 {
                    throw SPDYProtocolError("the header block does not decompress")
                }
            }
        }
        stream.pointee.next_in = nil
        return try decodeHeaderBlock(output)
    }
}

/// A count, then for each header a length-prefixed lowercase name and value (all lengths 32 bits).
func encodeHeaderBlock(_ block: SPDYHeaderBlock) -> [UInt8] {
    var bytes: [UInt8] = []
    func append(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }
    append(UInt32(block.fields.count))
    for field in block.fields {
        let name = Array(field.name.lowercased().utf8)
        let value = Array(field.value.utf8)
        append(UInt32(name.count))
        bytes += name
        append(UInt32(value.count))
        bytes += value
    }
    return bytes
}

func decodeHeaderBlock(_ bytes: [UInt8]) throws -> SPDYHeaderBlock {
    var buffer = ByteBuffer(bytes: bytes)
    guard let count = buffer.readInteger(as: UInt32.self) else {
        throw SPDYProtocolError("the header block is empty")
    }
    var fields: [(name: String, value: String)] = []
    for _ in 0..<count {
        guard let nameLength = buffer.readInteger(as: UInt32.self),
            let name = buffer.readString(length: Int(min(nameLength, UInt32(Int32.max)))),
            let valueLength = buffer.readInteger(as: UInt32.self),
            let value = buffer.readString(length: Int(min(valueLength, UInt32(Int32.max))))
        else {
            throw SPDYProtocolError("the header block ends inside a header")
        }
        guard !name.isEmpty else { throw SPDYProtocolError("a header has an empty name") }
        fields.append((name: name, value: value))
    }
    return SPDYHeaderBlock(fields)
}
