import Foundation

/// The defaults kube-apiserver fills in, for the fields clients read back (kubectl, devloop).
enum Defaults {
    static func apply(_ object: inout JSON, resource: ResourceType) {
        switch resource {
        case .pods:
            var spec = object["spec"] ?? [:]
            podSpec(&spec)
            object["spec"] = spec
            if object[path: ["status", "phase"]] == nil {
                object["status"] = ["phase": "Pending", "qosClass": "BestEffort"]
            }
        case .deployments, .replicaSets:
            setIfAbsent(&object, ["spec", "replicas"], 1)
            setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
            if resource == .deployments {
                setIfAbsent(&object, ["spec", "progressDeadlineSeconds"], 600)
                setIfAbsent(
                    &object, ["spec", "strategy"],
                    ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": "25%", "maxUnavailable": "25%"]])
            }
            if var template = object[path: ["spec", "template", "spec"]] {
                podSpec(&template)
                object[path: ["spec", "template", "spec"]] = template
            }
            setIfAbsent(&object, ["status"], [:])
        case .services:
            setIfAbsent(&object, ["spec", "type"], "ClusterIP")
            setIfAbsent(&object, ["spec", "sessionAffinity"], "None")
            setIfAbsent(&object, ["spec", "ipFamilies"], ["IPv4"])
            setIfAbsent(&object, ["spec", "ipFamilyPolicy"], "SingleStack")
            setIfAbsent(&object, ["spec", "internalTrafficPolicy"], "Cluster")
            if let ports = object[path: ["spec", "ports"]]?.arrayValue {
                object[path: ["spec", "ports"]] = .array(
                    ports.map { port in
                        var port = port
                        setIfAbsent(&port, ["protocol"], "TCP")
                        setIfAbsent(&port, ["targetPort"], port["port"] ?? 0)
                        return port
                    })
            }
            setIfAbsent(&object, ["status"], ["loadBalancer": [:]])
        case .secrets:
            setIfAbsent(&object, ["type"], "Opaque")
            // stringData is write-only: kube-apiserver folds it into data (base64), where it wins.
            if let strings = object["stringData"]?.objectValue {
                var data = object["data"]?.objectValue ?? [:]
                for (key, value) in strings {
                    data[key] = .string(Data((value.stringValue ?? "").utf8).base64EncodedString())
                }
                object["data"] = .object(data)
                object["stringData"] = nil
            }
        case .namespaces:
            setIfAbsent(&object, ["spec", "finalizers"], ["kubernetes"])
            setIfAbsent(&object, ["status", "phase"], "Active")
            object[path: ["metadata", "labels", "kubernetes.io/metadata.name"]] = .string(object.name)
        default:
            kindDefaults(&object, resource: resource)
        }
    }

    static func podSpec(_ spec: inout JSON) {
        setIfAbsent(&spec, ["restartPolicy"], "Always")
        setIfAbsent(&spec, ["terminationGracePeriodSeconds"], 30)
        setIfAbsent(&spec, ["dnsPolicy"], "ClusterFirst")
        setIfAbsent(&spec, ["schedulerName"], "default-scheduler")
        setIfAbsent(&spec, ["securityContext"], [:])
        for field in ["containers", "initContainers"] {
            guard let containers = spec[field]?.arrayValue else { continue }
            spec[field] = .array(
                containers.map { container in
                    var container = container
                    setIfAbsent(&container, ["terminationMessagePath"], "/dev/termination-log")
                    setIfAbsent(&container, ["terminationMessagePolicy"], "File")
                    let image = container["image"]?.stringValue ?? ""
                    let latest = !image.contains(":") || image.hasSuffix(":latest")
                    setIfAbsent(&container, ["imagePullPolicy"], .string(latest ? "Always" : "IfNotPresent"))
                    setIfAbsent(&container, ["resources"], [:])
                    if let ports = container["ports"]?.arrayValue {
                        container["ports"] = .array(
                            ports.map { port in
                                var port = port
                                setIfAbsent(&port, ["protocol"], "TCP")
                                return port
                            })
                    }
                    return container
                })
        }
    }

    static func setIfAbsent(_ object: inout JSON, _ path: [String], _ value: JSON) {
        if object[path: path] == nil || object[path: path] == .null { object[path: path] = value }
    }
}

/// The validation kube-apiserver does that clients are likely to trip over, with the field named.
enum Validation {
    static func validate(_ object: JSON, resource: ResourceType) throws {
        var causes: [APIError.Cause] = []
        func require(_ condition: Bool, _ field: String, _ reason: String, _ message: String) {
            if !condition { causes.append(APIError.Cause(reason: reason, message: message, field: field)) }
        }
        let name = object.name
        require(
            !name.isEmpty, "metadata.name", "FieldValueRequired", "Required value: name or generateName is required")
        if !name.isEmpty {
            require(
                isDNSSubdomain(name, label: resource == .namespaces || resource == .services), "metadata.name",
                "FieldValueInvalid",
                "Invalid value: \"\(name)\": a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            )
        }
        switch resource {
        case .pods:
            validatePodSpec(object["spec"], prefix: "spec", require)
        case .deployments, .replicaSets:
            let selector = object[path: ["spec", "selector"]]
            require(selector != nil, "spec.selector", "FieldValueRequired", "Required value")
            let labels =
                object[path: ["spec", "template", "metadata", "labels"]]?.objectValue?.compactMapValues(
                    \.stringValue) ?? [:]
            if selector != nil {
                require(
                    LabelSelector(object: selector).matches(labels) && !labels.isEmpty,
                    "spec.template.metadata.labels", "FieldValueInvalid",
                    "Invalid value: \(JSON.object(labels.mapValues { .string($0) }).compactString): `selector` does not match template `labels`"
                )
            }
            if let replicas = object[path: ["spec", "replicas"]]?.intValue {
                require(
                    replicas >= 0, "spec.replicas", "FieldValueInvalid",
                    "Invalid value: \(replicas): must be greater than or equal to 0")
            }
            validatePodSpec(object[path: ["spec", "template", "spec"]], prefix: "spec.template.spec", require)
        case .services:
            for (index, port) in (object[path: ["spec", "ports"]]?.arrayValue ?? []).enumerated() {
                let number = port["port"]?.intValue ?? 0
                require(
                    (1...65535).contains(number), "spec.ports[\(index)].port", "FieldValueInvalid",
                    "Invalid value: \(number): must be between 1 and 65535, inclusive")
            }
        default:
            break
        }
        if !causes.isEmpty { throw APIError.invalid(resource, name, causes) }
    }

    private static func validatePodSpec(
        _ spec: JSON?, prefix: String, _ require: (Bool, String, String, String) -> Void
    ) {
        let containers = spec?["containers"]?.arrayValue ?? []
        require(!containers.isEmpty, "\(prefix).containers", "FieldValueRequired", "Required value")
        for (index, container) in containers.enumerated() {
            let name = container["name"]?.stringValue ?? ""
            require(!name.isEmpty, "\(prefix).containers[\(index)].name", "FieldValueRequired", "Required value")
            require(
                container["image"]?.stringValue?.isEmpty == false, "\(prefix).containers[\(index)].image",
                "FieldValueRequired", "Required value")
        }
    }

    static func isDNSSubdomain(_ name: String, label: Bool) -> Bool {
        guard name.count <= (label ? 63 : 253), let first = name.first, let last = name.last else { return false }
        let alphanumeric = { (character: Character) in
            character.isASCII && (character.isLowercase || character.isNumber)
        }
        return name.allSatisfy { alphanumeric($0) || $0 == "-" || (!label && $0 == ".") } && alphanumeric(first)
            && alphanumeric(last)
    }
}
