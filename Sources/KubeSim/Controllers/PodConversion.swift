import Foundation

/// Pod JSON → `RuntimePod`, and `RuntimePodStatus` → `pod.status` as a kubelet writes it.
enum PodConversion {
    static func runtimePod(_ pod: JSON) -> RuntimePod {
        let spec = pod["spec"] ?? [:]
        let convert = { (container: JSON) -> RuntimeContainer in
            var env: [String: String] = [:]
            for variable in container["env"]?.arrayValue ?? [] {
                guard let name = variable["name"]?.stringValue else { continue }
                env[name] = variable["value"]?.stringValue ?? variable["value"].map { $0.compactString } ?? ""
            }
            return RuntimeContainer(
                name: container["name"]?.stringValue ?? "", image: container["image"]?.stringValue ?? "",
                command: strings(container["command"]), args: strings(container["args"]), env: env,
                workingDir: container["workingDir"]?.stringValue,
                volumeMounts: (container["volumeMounts"]?.arrayValue ?? []).map { mount in
                    RuntimeVolumeMount(
                        name: mount["name"]?.stringValue ?? "", mountPath: mount["mountPath"]?.stringValue ?? "",
                        readOnly: mount["readOnly"]?.boolValue ?? false)
                },
                readinessProbe: probe(container["readinessProbe"], in: container),
                livenessProbe: probe(container["livenessProbe"], in: container))
        }
        let identify = { (container: JSON) -> RuntimeContainer in
            var converted = convert(container)
            converted.user = user(of: container, in: spec)
            return converted
        }
        let containers = (spec["containers"]?.arrayValue ?? []).map(identify)
        let initContainers = (spec["initContainers"]?.arrayValue ?? []).map(identify)
        let volumes = (spec["volumes"]?.arrayValue ?? []).compactMap { volume -> RuntimeVolume? in
            guard let name = volume["name"]?.stringValue else { return nil }
            if let path = volume[path: ["hostPath", "path"]]?.stringValue {
                return RuntimeVolume(name: name, source: .hostPath(path))
            }
            return RuntimeVolume(name: name, source: .emptyDir)
        }
        return RuntimePod(
            uid: pod.uid, namespace: pod.namespace, name: pod.name, containers: containers,
            initContainers: initContainers, volumes: volumes,
            restartPolicy: spec["restartPolicy"]?.stringValue ?? "Always",
            terminationGracePeriodSeconds: spec["terminationGracePeriodSeconds"]?.intValue ?? 30)
    }

    /// The container's securityContext over the pod's: runAsUser, runAsGroup, and fsGroup with
    /// supplementalGroups as supplementary groups; nil when nothing asks for another user than root.
    static func user(of container: JSON, in spec: JSON) -> RuntimeUser? {
        func field(_ name: String) -> Int? {
            container[path: ["securityContext", name]]?.intValue ?? spec[path: ["securityContext", name]]?.intValue
        }
        let groups =
            (spec[path: ["securityContext", "fsGroup"]]?.intValue.map { [$0] } ?? [])
            + (spec[path: ["securityContext", "supplementalGroups"]]?.arrayValue ?? []).compactMap(\.intValue)
        guard field("runAsUser") != nil || field("runAsGroup") != nil || !groups.isEmpty else { return nil }
        return RuntimeUser(uid: field("runAsUser") ?? 0, gid: field("runAsGroup") ?? 0, groups: groups)
    }

    private static func strings(_ value: JSON?) -> [String] {
        (value?.arrayValue ?? []).map { $0.stringValue ?? $0.compactString }
    }

    /// A probe's port: a number, or the name of one of the container's ports (an IntOrString, as a
    /// kubelet resolves it); 0 (which no probe reaches) when the name is not a port of the container.
    static func port(_ value: JSON?, in container: JSON) -> Int {
        if let number = value?.intValue { return number }
        guard let text = value?.stringValue else { return 0 }
        if let number = Int(text) { return number }
        let named = (container["ports"]?.arrayValue ?? []).first { $0["name"]?.stringValue == text }
        return named?["containerPort"]?.intValue ?? 0
    }

    private static func probe(_ value: JSON?, in container: JSON) -> RuntimeProbe? {
        guard let value, value.objectValue != nil else { return nil }
        let action: RuntimeProbe.Action
        if let http = value["httpGet"] {
            action = .httpGet(path: http["path"]?.stringValue ?? "/", port: port(http["port"], in: container))
        } else if let exec = value["exec"] {
            action = .exec(strings(exec["command"]))
        } else if let tcp = value["tcpSocket"] {
            action = .tcpSocket(port: port(tcp["port"], in: container))
        } else {
            return nil
        }
        func seconds(_ field: String, _ fallback: Double) -> Double {
            value[field]?.intValue.map(Double.init) ?? fallback
        }
        return RuntimeProbe(
            action: action, initialDelaySeconds: seconds("initialDelaySeconds", 0),
            periodSeconds: seconds("periodSeconds", 10),
            timeoutSeconds: seconds("timeoutSeconds", 1), failureThreshold: value["failureThreshold"]?.intValue ?? 3,
            successThreshold: value["successThreshold"]?.intValue ?? 1)
    }

    static func status(_ status: RuntimePodStatus, pod: JSON) -> JSON {
        var result = pod["status"] ?? [:]
        let previous = result["conditions"]?.arrayValue ?? []
        let containersReady = status.containers.allSatisfy(\.ready) && !status.containers.isEmpty
        let running = status.containers.contains { if case .running = $0.state { return true } else { return false } }
        let incomplete = status.initContainers.filter { container in
            if case .terminated(0, _, _, _, _) = container.state { return false }
            return true
        }.map(\.name)
        let initialized = incomplete.isEmpty
        result["phase"] = .string(status.phase)
        result["conditions"] = .array([
            Conditions.make("PodReadyToStartContainers", true, reason: nil, message: nil, previous: previous),
            Conditions.make(
                "Initialized", initialized, reason: initialized ? nil : "ContainersNotInitialized",
                message: initialized
                    ? nil : "containers with incomplete status: [\(incomplete.joined(separator: " "))]",
                previous: previous),
            Conditions.make(
                "Ready", status.ready, reason: status.ready ? nil : "ContainersNotReady",
                message: status.ready ? nil : "containers with unready status: \(unready(status))", previous: previous),
            Conditions.make(
                "ContainersReady", containersReady, reason: containersReady ? nil : "ContainersNotReady",
                message: containersReady ? nil : "containers with unready status: \(unready(status))",
                previous: previous),
            Conditions.make("PodScheduled", true, reason: nil, message: nil, previous: previous),
        ])
        result["hostIP"] = "127.0.0.1"
        result["hostIPs"] = [["ip": "127.0.0.1"]]
        if running || status.phase == "Running" {
            result["podIP"] = "127.0.0.1"
            result["podIPs"] = [["ip": "127.0.0.1"]]
        }
        if let start = status.startTime { result["startTime"] = .string(Timestamps.format(start)) }
        let images = Dictionary(
            (pod[path: ["spec", "containers"]]?.arrayValue ?? []).map {
                ($0["name"]?.stringValue ?? "", $0["image"]?.stringValue ?? "")
            }, uniquingKeysWith: { first, _ in first })
        let initImages = Dictionary(
            (pod[path: ["spec", "initContainers"]]?.arrayValue ?? []).map {
                ($0["name"]?.stringValue ?? "", $0["image"]?.stringValue ?? "")
            }, uniquingKeysWith: { first, _ in first })
        if !status.initContainers.isEmpty {
            result["initContainerStatuses"] = .array(
                status.initContainers.map { containerStatus($0, image: initImages[$0.name] ?? "") })
        }
        result["containerStatuses"] = .array(
            status.containers.map { containerStatus($0, image: images[$0.name] ?? "") })
        result["qosClass"] = result["qosClass"] ?? "BestEffort"
        return result
    }

    private static func containerStatus(_ container: RuntimeContainerStatus, image: String) -> JSON {
        var json: JSON = [
            "name": .string(container.name), "image": .string(image), "imageID": "",
            "ready": .bool(container.ready), "started": .bool(container.started),
            "restartCount": .int(Int64(container.restartCount)), "state": state(container.state, container),
            "lastState": container.lastState.map { state($0, container) } ?? [:],
        ]
        if !container.containerID.isEmpty { json["containerID"] = .string(container.containerID) }
        return json
    }

    private static func unready(_ status: RuntimePodStatus) -> String {
        "[" + status.containers.filter { !$0.ready }.map(\.name).joined(separator: " ") + "]"
    }

    static func state(_ state: RuntimeContainerStatus.State, _ container: RuntimeContainerStatus) -> JSON {
        switch state {
        case .waiting(let reason, let message):
            var waiting: JSON = ["reason": .string(reason)]
            if let message { waiting["message"] = .string(message) }
            return ["waiting": waiting]
        case .running(let startedAt):
            return ["running": ["startedAt": .string(Timestamps.format(startedAt))]]
        case .terminated(let exitCode, let signal, let reason, let startedAt, let finishedAt):
            var terminated: JSON = [
                "exitCode": .int(Int64(exitCode)), "reason": .string(reason),
                "startedAt": .string(Timestamps.format(startedAt)),
                "finishedAt": .string(Timestamps.format(finishedAt)),
            ]
            if let signal { terminated["signal"] = .int(Int64(signal)) }
            if !container.containerID.isEmpty { terminated["containerID"] = .string(container.containerID) }
            return ["terminated": terminated]
        }
    }
}
