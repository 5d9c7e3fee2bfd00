/// `metav1.DeleteOptions`, from the query string or the request body.
struct DeleteOptions: Sendable, Equatable {
    enum Propagation: String, Sendable {
        case orphan = "Orphan"
        case background = "Background"
        case foreground = "Foreground"
    }

    var gracePeriodSeconds: Int?
    var propagationPolicy: Propagation?
    var preconditionUID: String?
    var preconditionResourceVersion: String?
    var dryRun = false

    init() {}

    init(query: [String: [String]], body: JSON?) throws {
        if let text = query["gracePeriodSeconds"]?.first {
            guard let value = Int(text) else { throw APIError.badRequest("invalid gracePeriodSeconds: \(text)") }
            gracePeriodSeconds = value
        }
        if let text = query["propagationPolicy"]?.first {
            guard let value = Propagation(rawValue: text) else {
                throw APIError.badRequest("propagationPolicy: Unsupported value: \"\(text)\"")
            }
            propagationPolicy = value
        }
        dryRun = query["dryRun"]?.first == "All"
        guard let body, body != .null else { return }
        if let value = body["gracePeriodSeconds"]?.intValue { gracePeriodSeconds = value }
        if let text = body["propagationPolicy"]?.stringValue {
            guard let value = Propagation(rawValue: text) else {
                throw APIError.badRequest("propagationPolicy: Unsupported value: \"\(text)\"")
            }
            propagationPolicy = value
        }
        if body["orphanDependents"]?.boolValue == true { propagationPolicy = .orphan }
        preconditionUID = body[path: ["preconditions", "uid"]]?.stringValue
        preconditionResourceVersion = body[path: ["preconditions", "resourceVersion"]]?.stringValue
        if body["dryRun"]?.arrayValue?.contains("All") == true { dryRun = true }
    }
}
