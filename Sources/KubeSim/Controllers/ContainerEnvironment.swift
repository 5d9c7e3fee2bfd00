import Foundation

/// A container's environment as a kubelet builds it when it creates the container: the Service
/// variables of the pod's namespace first, then `envFrom` in order, then `env` in order, each `env`
/// value with `$(VAR)` expanded against what came before.
struct ContainerEnvironment {
    let api: APIService

    /// Why a container cannot be created yet (kubelet: CreateContainerConfigError), in kubelet's words.
    struct ConfigError: Error {
        var message: String
    }

    /// The environment of every container of `pod` by name, or the first container's config error.
    func resolve(_ pod: JSON) async -> Result<[String: [String: String]], ConfigError> {
        let spec = pod["spec"] ?? [:]
        var services: [String: String] = [:]
        if spec["enableServiceLinks"]?.boolValue != false {
            services = await serviceVariables(namespace: pod.namespace)
        }
        var result: [String: [String: String]] = [:]
        let containers = (spec["initContainers"]?.arrayValue ?? []) + (spec["containers"]?.arrayValue ?? [])
        for container in containers {
            do {
                result[container["name"]?.stringValue ?? ""] = try await environment(
                    of: container, pod: pod, base: services)
            } catch let error as ConfigError {
                return .failure(error)
            } catch {
                return .failure(ConfigError(message: "\(error)"))
            }
        }
        return .success(result)
    }

    private func environment(of container: JSON, pod: JSON, base: [String: String]) async throws -> [String: String] {
        var environment = base
        for source in container["envFrom"]?.arrayValue ?? [] {
            let prefix = source["prefix"]?.stringValue ?? ""
            let (reference, resource) =
                source["secretRef"].map { ($0, ResourceType.secrets) } ?? (source["configMapRef"] ?? [:], .configMaps)
            let optional = reference["optional"]?.boolValue ?? false
            guard let data = try await values(resource, name: reference["name"]?.stringValue ?? "", pod: pod) else {
                if optional { continue }
                throw ConfigError(
                    message: "\(kindWord(resource)) \"\(reference["name"]?.stringValue ?? "")\" not found")
            }
            for (key, value) in data { environment[prefix + key] = value }
        }
        for variable in container["env"]?.arrayValue ?? [] {
            guard let name = variable["name"]?.stringValue else { continue }
            if let source = variable["valueFrom"] {
                if let value = try await value(from: source, pod: pod) { environment[name] = value }
                continue
            }
            let text = variable["value"]?.stringValue ?? variable["value"].map { $0.compactString } ?? ""
            environment[name] = expandReferences(text, in: environment)
        }
        return environment
    }

    /// A `valueFrom`'s value; nil when an optional reference is missing.
    private func value(from source: JSON, pod: JSON) async throws -> String? {
        if let field = source[path: ["fieldRef", "fieldPath"]]?.stringValue {
            return try fieldValue(field, pod: pod)
        }
        if let resource = source[path: ["resourceFieldRef", "resource"]]?.stringValue {
            // No limits are enforced: the node's capacity stands in, as for a container without limits.
            return resource.hasPrefix("limits.cpu") ? String(ProcessInfo.processInfo.activeProcessorCount) : "0"
        }
        let (reference, resource) =
            source["secretKeyRef"].map { ($0, ResourceType.secrets) } ?? (source["configMapKeyRef"] ?? [:], .configMaps)
        let name = reference["name"]?.stringValue ?? ""
        let key = reference["key"]?.stringValue ?? ""
        let optional = reference["optional"]?.boolValue ?? false
        guard let data = try await values(resource, name: name, pod: pod) else {
            if optional { return nil }
            throw ConfigError(message: "\(kindWord(resource)) \"\(name)\" not found")
        }
        guard let value = data[key] else {
            if optional { return nil }
            let kind = resource == .secrets ? "Secret" : "ConfigMap"
            throw ConfigError(message: "couldn't find key \(key) in \(kind) \(pod.namespace)/\(name)")
        }
        return value
    }

    private func kindWord(_ resource: ResourceType) -> String { resource == .secrets ? "secret" : "configmap" }

    /// A ConfigMap's data (and binaryData) or a Secret's decoded data; nil when it does not exist.
    private func values(_ resource: ResourceType, name: String, pod: JSON) async throws -> [String: String]? {
        guard let object = try? await api.get(resource, namespace: pod.namespace, name: name) else { return nil }
        var values: [String: String] = [:]
        for (key, value) in object["data"]?.objectValue ?? [:] {
            let text = value.stringValue ?? ""
            if resource == .secrets {
                values[key] = Data(base64Encoded: text).map { String(decoding: $0, as: UTF8.self) } ?? ""
            } else {
                values[key] = text
            }
        }
        if resource == .secrets {
            // A Secret written with stringData before it was folded into data.
            for (key, value) in object["stringData"]?.objectValue ?? [:] { values[key] = value.stringValue ?? "" }
        }
        return values
    }

    /// The downward API's fields (pkg/fieldpath): the pod's name, namespace, uid, labels, annotations,
    /// node, service account and addresses (one node, one loopback address).
    func fieldValue(_ path: String, pod: JSON) throws -> String {
        switch path {
        case "metadata.name": return pod.name
        case "metadata.namespace": return pod.namespace
        case "metadata.uid": return pod.uid
        case "spec.nodeName": return Kubelet.nodeName
        case "spec.serviceAccountName": return pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? "default"
        case "status.podIP", "status.hostIP", "status.podIPs", "status.hostIPs": return "127.0.0.1"
        default:
            for map in ["labels", "annotations"] where path.hasPrefix("metadata.\(map)['") && path.hasSuffix("']") {
                let key = String(path.dropFirst("metadata.\(map)['".count).dropLast(2))
                return pod[path: ["metadata", map, key]]?.stringValue ?? ""
            }
            throw ConfigError(message: "unsupported fieldPath \"\(path)\"")
        }
    }

    /// Docker-link style variables for the Services of the namespace (and `kubernetes` in default).
    private func serviceVariables(namespace: String) async -> [String: String] {
        var services = await api.store.list(.services, namespace: namespace).items
        if namespace != "default",
            let master = await api.store.get(ObjectKey(resource: .services, namespace: "default", name: "kubernetes"))
        {
            services.append(master)
        }
        var variables: [String: String] = [:]
        for service in services {
            guard let ip = service[path: ["spec", "clusterIP"]]?.stringValue, !ip.isEmpty, ip != "None",
                let ports = service[path: ["spec", "ports"]]?.arrayValue, let first = ports.first
            else { continue }
            let prefix = service.name.uppercased().replacingOccurrences(of: "-", with: "_")
            variables["\(prefix)_SERVICE_HOST"] = ip
            variables["\(prefix)_SERVICE_PORT"] = String(first["port"]?.intValue ?? 0)
            variables["\(prefix)_PORT"] =
                "\((first["protocol"]?.stringValue ?? "TCP").lowercased())://\(ip):\(first["port"]?.intValue ?? 0)"
            for port in ports {
                let number = port["port"]?.intValue ?? 0
                let proto = port["protocol"]?.stringValue ?? "TCP"
                if let name = port["name"]?.stringValue, !name.isEmpty {
                    variables["\(prefix)_SERVICE_PORT_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))"] =
                        String(number)
                }
                let link = "\(prefix)_PORT_\(number)_\(proto)"
                variables[link] = "\(proto.lowercased())://\(ip):\(number)"
                variables[link + "_PROTO"] = proto.lowercased()
                variables[link + "_PORT"] = String(number)
                variables[link + "_ADDR"] = ip
            }
        }
        return variables
    }
}
