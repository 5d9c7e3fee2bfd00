import Foundation

/// Writes ustar archives, with pax extended headers for names and link targets that do not fit.
/// Output is padded to whole 10 KiB records so GNU tar, which reads a pipe record by record, sees
/// the end-of-archive marker without waiting for more input.
struct TarWriter: Sendable {
    static let blockSize = 512
    static let recordSize = 10_240

    private(set) var data = Data()

    var isEmpty: Bool { data.isEmpty }

    mutating func addDirectory(_ path: String, mode: UInt32, mtime: Int64) {
        addHeader(name: path + "/", type: "5", mode: mode, size: 0, mtime: mtime)
    }

    mutating func addSymlink(_ path: String, target: String, mtime: Int64) {
        addHeader(name: path, type: "2", mode: 0o777, size: 0, mtime: mtime, linkName: target)
    }

    mutating func addFile(_ path: String, mode: UInt32, mtime: Int64, content: Data) {
        addHeader(name: path, type: "0", mode: mode, size: content.count, mtime: mtime)
        data.append(content)
        padToBlock()
    }

    /// The archive with its end-of-archive marker, padded to a whole record.
    func finished() -> Data {
        var archive = data
        archive.append(Data(count: 2 * Self.blockSize))
        let remainder = archive.count % Self.recordSize
        if remainder != 0 { archive.append(Data(count: Self.recordSize - remainder)) }
        return archive
    }

    private mutating func padToBlock() {
        let remainder = data.count % Self.blockSize
        if remainder != 0 { data.append(Data(count: Self.blockSize - remainder)) }
    }

    private mutating func addHeader(
        name: String, type: Character, mode: UInt32, size: Int, mtime: Int64, linkName: String = ""
    ) {
        var records: [(String, String)] = []
        if name.utf8.count > 100 { records.append(("path", name)) }
        if linkName.utf8.count > 100 { records.append(("linkpath", linkName)) }
        if !records.isEmpty {
            var body = Data()
            for (key, value) in records { body.append(Self.paxRecord(key, value)) }
            let header = Self.header(
                name: "PaxHeader/" + String(name.suffix(80)).replacingOccurrences(of: "/", with: "_"),
                type: "x", mode: 0o644, size: body.count, mtime: mtime, linkName: "")
            data.append(header)
            data.append(body)
            padToBlock()
        }
        data.append(Self.header(name: name, type: type, mode: mode, size: size, mtime: mtime, linkName: linkName))
    }

    /// "LEN key=value\n", where LEN counts the whole record including its own digits.
    static func paxRecord(_ key: String, _ value: String) -> Data {
        let rest = " \(key)=\(value)\n".utf8.count
        var length = rest + String(rest).count
        if String(length).count != String(rest).count { length = rest + String(length).count }
        return Data("\(length) \(key)=\(value)\n".utf8)
    }

    private static func header(name: String, type: Character, mode: UInt32, size: Int, mtime: Int64, linkName: String)
        -> Data
    {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ string: String, at offset: Int, width: Int) {
            for (i, byte) in string.utf8.prefix(width).enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(Int64(mode & 0o7777), at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(Int64(size), at: 124, width: 12)
        octal(max(0, mtime), at: 136, width: 12)
        put("        ", at: 148, width: 8)
        block[156] = type.asciiValue!
        put(linkName, at: 157, width: 100)
        put("ustar\u{0}00", at: 257, width: 8)
        let checksum = block.reduce(0) { $0 + Int64($1) }
        octal(checksum, at: 148, width: 7)
        block[154] = 0
        block[155] = UInt8(ascii: " ")
        return Data(block)
    }
}
