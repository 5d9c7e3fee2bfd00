import Foundation

/// `meta.k8s.io/v1` Table output, the columns `kubectl get` prints, computed on the server as
/// kube-apiserver's printers do.
enum TableConverter {
    struct Column {
        var name: String
        var type: String
        var format: String = ""
        var priority: Int = 0
    }

    static func table(_ served: ResourceType, objects: [JSON], resourceVersion: String?, now: Date = Date()) -> JSON {
        // The printers see the stored version, whichever version the request named.
        let resource = served.storageVersion
        let objects = objects.map { VersionConversion.toStorage($0, served, live: $0) }
        var metadata: JSON = [:]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": .array(
                columns(resource).map { column in
                    [
                        "name": .string(column.name), "type": .string(column.type), "format": .string(column.format),
                        "description": .string(column.name), "priority": .int(Int64(column.priority)),
                    ]
                }),
            "rows": .array(objects.map { row($0, resource: resource, now: now) }),
        ]
    }

    private static func row(_ object: JSON, resource: ResourceType, now: Date) -> JSON {
        var metadata = object["metadata"] ?? [:]
        metadata["managedFields"] = nil
        return [
            "cells": .array(cells(object, resource: resource, now: now)),
            "object": ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata],
        ]
    }

    static func columns(_ resource: ResourceType) -> [Column] {
        let name = Column(name: "Name", type: "string", format: "name")
        let age = Column(name: "Age", type: "string")
        switch resource {
        case .pods:
            return [
                name, Column(name: "Ready", type: "string"), Column(name: "Status", type: "string"),
                Column(name: "Restarts", type: "string"), age, Column(name: "IP", type: "string", priority: 1),
                Column(name: "Node", type: "string", priority: 1),
                Column(name: "Nominated Node", type: "string", priority: 1),
                Column(name: "Readiness Gates", type: "string", priority: 1),
            ]
        case .deployments:
            return [
                name, Column(name: "Ready", type: "string"), Column(name: "Up-to-date", type: "integer"),
                Column(name: "Available", type: "integer"), age,
            ] + templateColumns()
        case .replicaSets:
            return [
                name, Column(name: "Desired", type: "integer"), Column(name: "Current", type: "integer"),
                Column(name: "Ready", type: "integer"), age,
            ] + templateColumns()
        case .services:
            return [
                name, Column(name: "Type", type: "string"), Column(name: "Cluster-IP", type: "string"),
                Column(name: "External-IP", type: "string"), Column(name: "Port(s)", type: "string"), age,
                Column(name: "Selector", type: "string", priority: 1),
            ]
        case .namespaces: return [name, Column(name: "Status", type: "string"), age]
        case .configMaps: return [name, Column(name: "Data", type: "integer"), age]
        case .secrets: return [name, Column(name: "Type", type: "string"), Column(name: "Data", type: "integer"), age]
        case .events:
            return [
                Column(name: "Last Seen", type: "string"), Column(name: "Type", type: "string"),
                Column(name: "Reason", type: "string"), Column(name: "Object", type: "string"),
                Column(name: "Subobject", type: "string", priority: 1),
                Column(name: "Source", type: "string", priority: 1), Column(name: "Message", type: "string"),
                Column(name: "First Seen", type: "string", priority: 1),
                Column(name: "Count", type: "string", priority: 1),
                Column(name: "Name", type: "string", format: "name", priority: 1),
            ]
        default: return kindColumns(resource) ?? [name, age]
        }
    }

    private static func cells(_ object: JSON, resource: ResourceType, now: Date) -> [JSON] {
        let name = JSON.string(object.name)
        let age = JSON.string(Timestamps.age(of: object, now: now))
        func int(_ path: [String]) -> JSON { .int(Int64(object[path: path]?.intValue ?? 0)) }
        switch resource {
        case .pods:
            let statuses = object[path: ["status", "containerStatuses"]]?.arrayValue ?? []
            let total = object[path: ["spec", "containers"]]?.arrayValue?.count ?? 0
            let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
            let restarts = statuses.reduce(0) { $0 + ($1["restartCount"]?.intValue ?? 0) }
            return [
                name, .string("\(ready)/\(total)"), .string(PodStatusText.reason(object)), .string(String(restarts)),
                age,
                .string(object[path: ["status", "podIP"]]?.stringValue ?? "<none>"),
                .string(object[path: ["spec", "nodeName"]]?.stringValue ?? "<none>"),
                .string(object[path: ["status", "nominatedNodeName"]]?.stringValue ?? "<none>"),
                .string(readinessGates(object)),
            ]
        case .deployments:
            let ready = object[path: ["status", "readyReplicas"]]?.intValue ?? 0
            return [
                name, .string("\(ready)/\(object[path: ["spec", "replicas"]]?.intValue ?? 0)"),
                int(["status", "updatedReplicas"]), int(["status", "availableReplicas"]), age,
            ] + templateCells(object, spec: ["spec", "template", "spec"])
                + [.string(selectorText(object[path: ["spec", "selector"]]))]
        case .replicaSets:
            return [
                name, int(["spec", "replicas"]), int(["status", "replicas"]), int(["status", "readyReplicas"]), age,
            ] + templateCells(object, spec: ["spec", "template", "spec"])
                + [.string(selectorText(object[path: ["spec", "selector"]]))]
        case .services:
            let ports = (object[path: ["spec", "ports"]]?.arrayValue ?? []).map { port in
                "\(port["port"]?.intValue ?? 0)/\(port["protocol"]?.stringValue ?? "TCP")"
            }
            let selector = (object[path: ["spec", "selector"]]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.stringValue ?? "")" }
            return [
                name, object[path: ["spec", "type"]] ?? "ClusterIP", object[path: ["spec", "clusterIP"]] ?? "None",
                "<none>", .string(ports.isEmpty ? "<none>" : ports.joined(separator: ",")), age,
                .string(selector.isEmpty ? "<none>" : selector.joined(separator: ",")),
            ]
        case .namespaces:
            return [name, object[path: ["status", "phase"]] ?? "Active", age]
        case .configMaps:
            let count = (object["data"]?.objectValue?.count ?? 0) + (object["binaryData"]?.objectValue?.count ?? 0)
            return [name, .int(Int64(count)), age]
        case .secrets:
            let count = (object["data"]?.objectValue?.count ?? 0) + (object["stringData"]?.objectValue?.count ?? 0)
            return [name, object["type"] ?? "Opaque", .int(Int64(count)), age]
        case .events:
            let involved = object["involvedObject"] ?? [:]
            let kind = involved["kind"]?.stringValue?.lowercased() ?? ""
            func since(_ field: String) -> String? {
                object[field]?.stringValue.flatMap(Timestamps.parse).map {
                    Timestamps.humanDuration(Int(now.timeIntervalSince($0)))
                }
            }
            let first = since("firstTimestamp") ?? since("eventTime") ?? "<unknown>"
            let count = object["count"]?.intValue ?? 0
            let involvedName = involved["name"]?.stringValue ?? ""
            return [
                .string(since("lastTimestamp") ?? first), object["type"] ?? "Normal", object["reason"] ?? "",
                .string(involvedName.isEmpty ? kind : "\(kind)/\(involvedName)"),
                .string(involved["fieldPath"]?.stringValue ?? ""), .string(eventSource(object)),
                .string((object["message"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)),
                .string(first), .int(Int64(count == 0 ? 1 : count)), name,
            ]
        default:
            return kindCells(object, resource: resource, name: name, age: age) ?? [name, age]
        }
    }
}

extension TableConverter {
    /// `READY/TOTAL` of the pod's readiness gates whose condition is True; `<none>` without gates.
    static func readinessGates(_ pod: JSON) -> String {
        let gates = (pod[path: ["spec", "readinessGates"]]?.arrayValue ?? []).compactMap {
            $0["conditionType"]?.stringValue
        }
        guard !gates.isEmpty else { return "<none>" }
        let conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
        let ready = gates.filter { gate in
            conditions.contains { $0["type"]?.stringValue == gate && $0["status"] == "True" }
        }
        return "\(ready.count)/\(gates.count)"
    }

    /// `component, host` as formatEventSource writes it, each falling back to the reporting field.
    static func eventSource(_ event: JSON) -> String {
        func first(_ paths: [String]...) -> String {
            paths.lazy.compactMap { event[path: $0]?.stringValue }.first { !$0.isEmpty } ?? ""
        }
        let component = first(["source", "component"], ["reportingComponent"])
        let host = first(["source", "host"], ["reportingInstance"])
        return host.isEmpty ? component : "\(component), \(host)"
    }
}

/// The STATUS column of `kubectl get pods` (printPod in kubernetes/pkg/printers/internalversion).
enum PodStatusText {
    static func reason(_ pod: JSON) -> String {
        var reason =
            pod[path: ["status", "reason"]]?.stringValue ?? pod[path: ["status", "phase"]]?.stringValue ?? "Pending"
        if let initializing = initReason(pod) {
            return pod.isTerminating ? "Terminating" : initializing
        }
        for status in pod[path: ["status", "containerStatuses"]]?.arrayValue ?? [] {
            if let waiting = status[path: ["state", "waiting", "reason"]]?.stringValue, !waiting.isEmpty {
                reason = waiting
            } else if let terminated = status[path: ["state", "terminated"]] {
                reason =
                    terminated["reason"]?.stringValue
                    ?? "ExitCode:\(terminated["exitCode"]?.intValue ?? 0)"
            }
        }
        if pod.isTerminating { reason = "Terminating" }
        return reason
    }

    /// While init containers have not all completed: Init:N/M, Init:<reason>, Init:Error, Init:ExitCode:N.
    private static func initReason(_ pod: JSON) -> String? {
        let statuses = pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []
        let total = pod[path: ["spec", "initContainers"]]?.arrayValue?.count ?? statuses.count
        for (index, status) in statuses.enumerated() {
            if let terminated = status[path: ["state", "terminated"]] {
                let code = terminated["exitCode"]?.intValue ?? 0
                if code == 0 { continue }
                if let signal = terminated["signal"]?.intValue, signal != 0 { return "Init:Signal:\(signal)" }
                let why = terminated["reason"]?.stringValue ?? ""
                return why.isEmpty ? "Init:ExitCode:\(code)" : "Init:\(why)"
            }
            if let waiting = status[path: ["state", "waiting", "reason"]]?.stringValue, !waiting.isEmpty,
                waiting != "PodInitializing"
            {
                return "Init:\(waiting)"
            }
            return "Init:\(index)/\(total)"
        }
        return nil
    }
}
