import Foundation

/// Reads the protobuf bodies kubectl's typed clients send (`kubectl create namespace|configmap|secret|
/// deployment`, `expose`): the `k8s\0` envelope (runtime.Unknown), then the object by a field-number
/// schema of the kinds kubesim serves. Unknown fields are skipped; answers are always JSON.
enum Protobuf {
    indirect enum Kind: Sendable {
        case string, int, bool, bytes
        case message(Schema)
        case map(Kind)
        case repeated(Kind)
        case intOrString
    }

    typealias Schema = [Int: (String, Kind)]

    static func decodeObject(_ data: Data) throws -> JSON {
        let bytes = [UInt8](data)
        guard bytes.count > 4, bytes[0..<4] == [0x6b, 0x38, 0x73, 0x00] else {
            throw APIError.badRequest("the protobuf body does not start with the k8s envelope")
        }
        var reader = Reader(bytes: Array(bytes[4...]))
        var apiVersion = "", kind = ""
        var raw: [UInt8] = []
        while let (field, value) = try reader.next() {
            if field == 1, case .bytes(let typeBytes) = value {
                var meta = Reader(bytes: typeBytes)
                while let (metaField, metaValue) = try meta.next() {
                    if case .bytes(let text) = metaValue {
                        if metaField == 1 { apiVersion = String(decoding: text, as: UTF8.self) }
                        if metaField == 2 { kind = String(decoding: text, as: UTF8.self) }
                    }
                }
            } else if field == 2, case .bytes(let body) = value {
                raw = body
            }
        }
        guard let schema = Schemas.byVersionAndKind[apiVersion + " " + kind] ?? Schemas.byKind[kind] else {
            throw APIError.unsupportedMediaType("application/vnd.kubernetes.protobuf (kind \(kind))")
        }
        var object = try decode(raw, schema)
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return object
    }

    /// Pointer fields, whose zero is a value.
    private static let keptZeros: Set<String> = ["replicas", "terminationGracePeriodSeconds", "revisionHistoryLimit"]

    static func decode(_ bytes: [UInt8], _ schema: Schema) throws -> JSON {
        var reader = Reader(bytes: bytes)
        var fields: [String: JSON] = [:]
        while let (number, value) = try reader.next() {
            guard let (name, kind) = schema[number] else { continue }
            switch kind {
            case .repeated(let element):
                var items = fields[name]?.arrayValue ?? []
                items.append(try convert(value, element))
                fields[name] = .array(items)
            case .map(let element):
                guard case .bytes(let entry) = value else { continue }
                var entryReader = Reader(bytes: entry)
                var key = "", item: JSON = .null
                while let (entryField, entryValue) = try entryReader.next() {
                    if entryField == 1, case .bytes(let text) = entryValue {
                        key = String(decoding: text, as: UTF8.self)
                    }
                    if entryField == 2 { item = try convert(entryValue, element) }
                }
                var map = fields[name]?.objectValue ?? [:]
                map[key] = item == .null ? .string("") : item
                fields[name] = .object(map)
            default:
                let converted = try convert(value, kind)
                // Go writes every non-pointer field; JSON's omitempty would leave the zero values out.
                if converted == "" || converted == false || (converted == 0 && !keptZeros.contains(name)) { continue }
                fields[name] = converted
            }
        }
        return .object(fields)
    }

    private static func convert(_ value: Reader.Value, _ kind: Kind) throws -> JSON {
        switch (kind, value) {
        case (.string, .bytes(let text)): return .string(String(decoding: text, as: UTF8.self))
        case (.bytes, .bytes(let data)): return .string(Data(data).base64EncodedString())
        case (.int, .varint(let number)): return .int(Int64(bitPattern: number))
        case (.bool, .varint(let number)): return .bool(number != 0)
        case (.message(let schema), .bytes(let data)): return try decode(data, schema)
        case (.intOrString, .bytes(let data)):
            let parts = try decode(data, [1: ("type", .int), 2: ("intVal", .int), 3: ("strVal", .string)])
            return parts["type"]?.intValue == 1 ? parts["strVal"] ?? "" : parts["intVal"] ?? 0
        default: throw APIError.badRequest("protobuf body: unexpected wire type")
        }
    }

    struct Reader {
        enum Value {
            case varint(UInt64)
            case bytes([UInt8])
            case fixed
        }

        let bytes: [UInt8]
        var offset = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() throws -> (Int, Value)? {
            guard offset < bytes.count else { return nil }
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: return (number, .varint(try varint()))
            case 2:
                let length = Int(try varint())
                guard length >= 0, offset + length <= bytes.count else {
                    throw APIError.badRequest("protobuf body truncated")
                }
                defer { offset += length }
                return (number, .bytes(Array(bytes[offset..<offset + length])))
            case 1:
                offset += 8
                return (number, .fixed)
            case 5:
                offset += 4
                return (number, .fixed)
            default: throw APIError.badRequest("protobuf body: unsupported wire type \(key & 7)")
            }
        }

        private mutating func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count {
                let byte = bytes[offset]
                offset += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { break }
            }
            throw APIError.badRequest("protobuf body: bad varint")
        }
    }
}
