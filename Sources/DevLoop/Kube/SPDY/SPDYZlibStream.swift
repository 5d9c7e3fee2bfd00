import CZlib
import Foundation
import SPDYCompression

/// One direction's zlib stream for SPDY/3 header blocks, primed with the SPDY dictionary and kept for
/// the whole connection; each block ends with a sync flush so the peer can read it at once.
final class SPDYZlibStream {
    private let stream: UnsafeMutablePointer<z_stream>
    private let compressing: Bool

    init(compressing: Bool) {
        self.compressing = compressing
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        if compressing {
            precondition(
                deflateInit_(stream, Z_BEST_COMPRESSION, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
            let status = SPDYDictionary.bytes.withUnsafeBufferPointer {
                deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
            }
            precondition(status == Z_OK, "deflateSetDictionary failed")
        } else {
            precondition(inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        }
    }

    deinit {
        if compressing { deflateEnd(stream) } else { inflateEnd(stream) }
        stream.deallocate()
    }

    /// Header blocks of port-forward are tiny; 64 KB of output is far more than any legitimate one.
    func process(_ input: Data) throws -> Data {
        var bytes = [UInt8](input)
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        try bytes.withUnsafeMutableBufferPointer { bytes in
            stream.pointee.next_in = bytes.baseAddress
            stream.pointee.avail_in = UInt32(bytes.count)
            while true {
                var status: Int32 = Z_OK
                chunk.withUnsafeMutableBufferPointer { chunk in
                    stream.pointee.next_out = chunk.baseAddress
                    stream.pointee.avail_out = UInt32(chunk.count)
                    status = compressing ? deflate(stream, Z_SYNC_FLUSH) : inflate(stream, Z_SYNC_FLUSH)
                    output.append(chunk.baseAddress!, count: chunk.count - Int(stream.pointee.avail_out))
                }
                if !compressing, status == Z_NEED_DICT {
                    status = SPDYDictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                    }
                    guard status == Z_OK else { throw SPDYClientError("the header block needs another dictionary") }
                    continue
                }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw SPDYClientError("a header block does not decompress (zlib status \(status))")
                }
                guard output.count <= 1 << 16 else { throw SPDYClientError("a header block is too large") }
                if stream.pointee.avail_out > 0 && (stream.pointee.avail_in == 0 || status == Z_BUF_ERROR) { break }
            }
        }
        stream.pointee.next_in = nil
        return output
    }
}
