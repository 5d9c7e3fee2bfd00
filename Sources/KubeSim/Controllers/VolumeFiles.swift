import Foundation

/// The files of a pod's configMap, secret, projected and downwardAPI volumes, as a kubelet writes them
/// before it starts the containers: one file per key (or per `items` entry, key → path), with
/// `defaultMode` or the item's `mode`.
extension ContainerEnvironment {
    func volumeFiles(_ pod: JSON) async -> Result<[String: [RuntimeFile]], ConfigError> {
        var result: [String: [RuntimeFile]] = [:]
        for volume in pod[path: ["spec", "volumes"]]?.arrayValue ?? [] {
            guard let name = volume["name"]?.stringValue else { continue }
            do {
                if let files = try await files(of: volume, pod: pod) { result[name] = files }
            } catch let error as ConfigError {
                return .failure(
                    ConfigError(message: "MountVolume.SetUp failed for volume \"\(name)\" : \(error.message)"))
            } catch {
                return .failure(ConfigError(message: "\(error)"))
            }
        }
        return .success(result)
    }

    /// nil for a volume that is not made of files (emptyDir, hostPath).
    private func files(of volume: JSON, pod: JSON) async throws -> [RuntimeFile]? {
        if let source = volume["configMap"] {
            return try await keyed(source, name: source["name"], resource: .configMaps, pod: pod, mode: nil)
        }
        if let source = volume["secret"] {
            return try await keyed(source, name: source["secretName"], resource: .secrets, pod: pod, mode: nil)
        }
        if let source = volume["downwardAPI"] {
            return try downward(source, pod: pod, mode: source["defaultMode"]?.intValue ?? 0o644)
        }
        guard let projected = volume["projected"] else { return nil }
        let mode = projected["defaultMode"]?.intValue ?? 0o644
        var files: [RuntimeFile] = []
        for source in projected["sources"]?.arrayValue ?? [] {
            if let part = source["configMap"] {
                files += try await keyed(part, name: part["name"], resource: .configMaps, pod: pod, mode: mode)
            } else if let part = source["secret"] {
                files += try await keyed(part, name: part["name"], resource: .secrets, pod: pod, mode: mode)
            } else if let part = source["downwardAPI"] {
                files += try downward(part, pod: pod, mode: mode)
            }
        }
        return files
    }

    private func keyed(_ source: JSON, name: JSON?, resource: ResourceType, pod: JSON, mode: Int?) async throws
        -> [RuntimeFile]
    {
        let name = name?.stringValue ?? ""
        let mode = mode ?? source["defaultMode"]?.intValue ?? 0o644
        let optional = source["optional"]?.boolValue ?? false
        guard let data = try await rawValues(resource, name: name, pod: pod) else {
            if optional { return [] }
            throw ConfigError(message: "\(resource == .secrets ? "secret" : "configmap") \"\(name)\" not found")
        }
        guard let items = source["items"]?.arrayValue else {
            return data.sorted { $0.key < $1.key }.map { RuntimeFile(path: $0.key, contents: $0.value, mode: mode) }
        }
        return try items.compactMap { item in
            let key = item["key"]?.stringValue ?? ""
            guard let contents = data[key] else {
                if optional { return nil }
                let kind = resource == .secrets ? "secret" : "configmap"
                throw ConfigError(message: "\(kind) references non-existent config key: \(key)")
            }
            return RuntimeFile(
                path: item["path"]?.stringValue ?? key, contents: contents, mode: item["mode"]?.intValue ?? mode)
        }
    }

    private func downward(_ source: JSON, pod: JSON, mode: Int) throws -> [RuntimeFile] {
        try (source["items"]?.arrayValue ?? []).map { item in
            var text = ""
            if let field = item[path: ["fieldRef", "fieldPath"]]?.stringValue {
                if field == "metadata.labels" || field == "metadata.annotations" {
                    let map = pod[path: ["metadata", String(field.dropFirst("metadata.".count))]]?.objectValue ?? [:]
                    text = map.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value.stringValue ?? "")\"" }
                        .joined(separator: "\n")
                } else {
                    text = try fieldValue(field, pod: pod)
                }
            }
            return RuntimeFile(
                path: item["path"]?.stringValue ?? "", contents: Data(text.utf8), mode: item["mode"]?.intValue ?? mode)
        }
    }

    /// A ConfigMap's data and binaryData, or a Secret's decoded data, as bytes; nil when it does not exist.
    private func rawValues(_ resource: ResourceType, name: String, pod: JSON) async throws -> [String: Data]? {
        guard let object = try? await api.get(resource, namespace: pod.namespace, name: name) else { return nil }
        var values: [String: Data] = [:]
        for (key, value) in object["data"]?.objectValue ?? [:] {
            let text = value.stringValue ?? ""
            values[key] = resource == .secrets ? Data(base64Encoded: text) ?? Data() : Data(text.utf8)
        }
        for (key, value) in object["binaryData"]?.objectValue ?? [:] {
            values[key] = Data(base64Encoded: value.stringValue ?? "") ?? Data()
        }
        return values
    }
}
