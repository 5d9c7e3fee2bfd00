import Foundation

/// A swagger 2.0 document as gnostic's `openapi_v2.Document` protobuf, the form client-go's
/// `OpenAPISchema()` asks `/openapi/v2` for. Only the parts kubesim's document uses are encoded
/// (field numbers from gnostic's OpenAPIv2.proto); extensions (`x-…`) travel as YAML text, which
/// JSON is, as gnostic's `Any.yaml` does.
enum GnosticEncoder {
    static func document(_ document: JSON) -> Data {
        var writer = ProtobufWriter()
        writer.string(1, document["swagger"]?.stringValue ?? "2.0")
        writer.message(2) { info in
            info.string(1, document["info"]?["title"]?.stringValue ?? "")
            info.string(2, document["info"]?["version"]?.stringValue ?? "")
        }
        writer.message(8) { paths in
            for (name, item) in sorted(document["paths"]) {
                paths.message(2) { named in
                    named.string(1, name)
                    named.message(2) { pathItem(&$0, item) }
                }
            }
        }
        writer.message(9) { definitions in
            for (name, schema) in sorted(document["definitions"]) {
                definitions.message(1) { named in
                    named.string(1, name)
                    named.message(2) { self.schema(&$0, schema) }
                }
            }
        }
        return Data(writer.bytes)
    }

    private static let methods = ["get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8]

    private static func pathItem(_ writer: inout ProtobufWriter, _ item: JSON) {
        for (method, operation) in sorted(item) {
            guard let field = methods[method] else { continue }
            writer.message(field) { self.operation(&$0, operation) }
        }
    }

    private static func operation(_ writer: inout ProtobufWriter, _ operation: JSON) {
        strings(&writer, 3, operation["description"])
        strings(&writer, 5, operation["operationId"])
        strings(&writer, 6, operation["produces"])
        strings(&writer, 7, operation["consumes"])
        for parameter in operation["parameters"]?.arrayValue ?? [] {
            writer.message(8) { item in item.message(1) { self.parameter(&$0, parameter) } }
        }
        writer.message(9) { responses in
            for (code, response) in sorted(operation["responses"]) {
                responses.message(1) { named in
                    named.string(1, code)
                    named.message(2) { value in
                        value.message(1) { body in
                            body.string(1, response["description"]?.stringValue ?? "")
                            if let schema = response["schema"] {
                                body.message(2) { item in item.message(1) { self.schema(&$0, schema) } }
                            }
                        }
                    }
                }
            }
        }
        strings(&writer, 10, operation["schemes"])
        extensions(&writer, 13, operation)
    }

    /// A body parameter, or a query or path one (the only kinds kubesim's document has).
    private static func parameter(_ writer: inout ProtobufWriter, _ parameter: JSON) {
        let location = parameter["in"]?.stringValue ?? "query"
        let name = parameter["name"]?.stringValue ?? ""
        let required = parameter["required"]?.boolValue ?? false
        if location == "body" {
            writer.message(1) { body in
                body.string(2, name)
                body.string(3, location)
                if required { body.bool(4, true) }
                if let schema = parameter["schema"] { body.message(5) { self.schema(&$0, schema) } }
            }
            return
        }
        let path = location == "path"
        writer.message(2) { nonBody in
            nonBody.message(path ? 4 : 3) { sub in
                if required { sub.bool(1, true) }
                sub.string(2, location)
                sub.string(4, name)
                strings(&sub, path ? 5 : 6, parameter["type"])
                if parameter["uniqueItems"]?.boolValue == true { sub.bool(path ? 19 : 20, true) }
            }
        }
    }

    private static func schema(_ writer: inout ProtobufWriter, _ schema: JSON) {
        strings(&writer, 1, schema["$ref"])
        strings(&writer, 2, schema["format"])
        strings(&writer, 3, schema["title"])
        strings(&writer, 4, schema["description"])
        if let value = schema["default"] { writer.message(5) { any(&$0, value) } }
        strings(&writer, 19, schema["required"])
        for value in schema["enum"]?.arrayValue ?? [] { writer.message(20) { any(&$0, value) } }
        if let additional = schema["additionalProperties"] {
            writer.message(21) { item in
                if let flag = additional.boolValue {
                    item.bool(2, flag)
                } else {
                    item.message(1) { self.schema(&$0, additional) }
                }
            }
        }
        if let type = schema["type"] { writer.message(22) { strings(&$0, 1, type) } }
        if let items = schema["items"] { writer.message(23) { list in list.message(1) { self.schema(&$0, items) } } }
        for part in schema["allOf"]?.arrayValue ?? [] { writer.message(24) { self.schema(&$0, part) } }
        if let properties = schema["properties"] {
            writer.message(25) { list in
                for (name, property) in sorted(properties) {
                    list.message(1) { named in
                        named.string(1, name)
                        named.message(2) { self.schema(&$0, property) }
                    }
                }
            }
        }
        extensions(&writer, 31, schema)
    }

    /// The `x-…` fields of an object, as NamedAny messages.
    private static func extensions(_ writer: inout ProtobufWriter, _ field: Int, _ object: JSON) {
        for (name, value) in sorted(object) where name.hasPrefix("x-") {
            writer.message(field) { named in
                named.string(1, name)
                named.message(2) { any(&$0, value) }
            }
        }
    }

    private static func any(_ writer: inout ProtobufWriter, _ value: JSON) {
        writer.string(2, String(decoding: value.encoded(), as: UTF8.self))
    }

    /// A string, or each string of an array, as repeated occurrences of one field.
    private static func strings(_ writer: inout ProtobufWriter, _ field: Int, _ value: JSON?) {
        if let text = value?.stringValue {
            writer.string(field, text)
        } else {
            for item in value?.arrayValue ?? [] { if let text = item.stringValue { writer.string(field, text) } }
        }
    }

    private static func sorted(_ object: JSON?) -> [(String, JSON)] {
        (object?.objectValue ?? [:]).sorted { $0.key < $1.key }
    }
}
