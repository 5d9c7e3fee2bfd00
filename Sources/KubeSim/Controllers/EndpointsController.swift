import Foundation

/// A Service's Endpoints and EndpointSlice: the ready pods its selector matches (addresses) and the
/// rest (notReadyAddresses), with the Service's ports resolved against the pods' named ports.
struct EndpointsController {
    let api: APIService

    func reconcile() async {
        let services = await api.store.list(.services, namespace: nil).items
        guard !services.isEmpty else { return }
        let pods = await api.store.list(.pods, namespace: nil).items
        for service in services where !service.isTerminating {
            guard let selector = service[path: ["spec", "selector"]]?.objectValue, !selector.isEmpty else { continue }
            let matching = pods.filter { pod in
                pod.namespace == service.namespace && !pod.isTerminating && PodState.isActive(pod)
                    && selector.allSatisfy { pod[path: ["metadata", "labels", $0.key]] == $0.value }
            }
            await write(service, pods: matching)
        }
    }

    private func write(_ service: JSON, pods: [JSON]) async {
        func address(_ pod: JSON) -> JSON {
            [
                "ip": pod[path: ["status", "podIP"]] ?? "127.0.0.1", "nodeName": "kubesim",
                "targetRef": [
                    "kind": "Pod", "namespace": .string(pod.namespace), "name": .string(pod.name),
                    "uid": .string(pod.uid),
                ],
            ]
        }
        let ports: [JSON] = (service[path: ["spec", "ports"]]?.arrayValue ?? []).map { port in
            var entry: JSON = ["port": Self.targetPort(port, pods: pods), "protocol": port["protocol"] ?? "TCP"]
            if let name = port["name"] { entry["name"] = name }
            return entry
        }
        var subset: JSON = ["ports": .array(ports)]
        let ready = pods.filter(PodState.isReady)
        let notReady = pods.filter { !PodState.isReady($0) }
        if !ready.isEmpty { subset["addresses"] = .array(ready.map(address)) }
        if !notReady.isEmpty { subset["notReadyAddresses"] = .array(notReady.map(address)) }
        let subsets: JSON = pods.isEmpty ? [] : [subset]
        let key = ObjectKey(resource: .endpoints, namespace: service.namespace, name: service.name)
        if await api.store.get(key) == nil {
            _ = try? await api.create(
                .endpoints, namespace: service.namespace,
                body: [
                    "apiVersion": "v1", "kind": "Endpoints",
                    "metadata": [
                        "name": .string(service.name), "labels": service[path: ["metadata", "labels"]] ?? [:],
                    ],
                    "subsets": subsets,
                ])
        } else {
            await api.store.modify(key) { object in object["subsets"] = subsets }
        }
    }

    /// `targetPort` as a number, or a container port's name looked up in the pods.
    static func targetPort(_ port: JSON, pods: [JSON]) -> JSON {
        guard let target = port["targetPort"] ?? port["port"] else { return 0 }
        guard let name = target.stringValue, Int(name) == nil else {
            return target.intValue.map { .int(Int64($0)) } ?? target
        }
        for pod in pods {
            for container in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
                for declared in container["ports"]?.arrayValue ?? [] where declared["name"]?.stringValue == name {
                    if let number = declared["containerPort"] { return number }
                }
            }
        }
        return port["port"] ?? 0
    }
}
