import Foundation
import NIOHTTP1

/// `kubectl get componentstatuses`: v1 ComponentStatus, deprecated since 1.19 and still served by 1.32
/// with a Warning. kubesim's scheduler, controller manager and store are in its own process, so each
/// is healthy while it answers.
extension APIRouter {
    static let componentNames = ["controller-manager", "etcd-0", "scheduler"]

    func componentStatuses(_ path: ResourcePath, _ request: HTTPRequest) throws -> HTTPResponse {
        guard request.method == .GET, path.subresource == nil else { throw APIError.methodNotAllowed() }
        if path.legacyWatch || request.flag("watch") { throw APIError.methodNotAllowed() }
        var items = Self.componentNames.map(Self.componentStatus)
        if let name = path.name {
            guard let item = items.first(where: { $0.name == name }) else {
                throw APIError.notFound(.componentStatuses, name)
            }
            items = [item]
        }
        let body: JSON
        if request.wantsTable {
            body = TableConverter.table(.componentStatuses, objects: items, resourceVersion: nil)
        } else if path.name != nil {
            body = items[0]
        } else {
            body = [
                "kind": "ComponentStatusList", "apiVersion": "v1", "metadata": [:],
                "items": .array(items.map(APIService.listItem)),
            ]
        }
        var response = HTTPResponse.json(body)
        response.headers.add(
            name: "Warning", value: UnhonouredFields.header("v1 ComponentStatus is deprecated in v1.19+"))
        return response
    }

    private static func componentStatus(_ name: String) -> JSON {
        let message = name.hasPrefix("etcd") ? #"{"health":"true","reason":""}"# : "ok"
        return [
            "kind": "ComponentStatus", "apiVersion": "v1", "metadata": ["name": .string(name)],
            "conditions": [["type": "Healthy", "status": "True", "message": .string(message)]],
        ]
    }
}
