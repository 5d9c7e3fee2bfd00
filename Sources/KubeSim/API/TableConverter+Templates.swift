import Foundation

/// The cells kube-apiserver's printers share between kinds: a pod template's containers and images, and
/// a label selector as `metav1.FormatLabelSelector` writes it.
extension TableConverter {
    /// The wide columns of every kind with a pod template.
    static func templateColumns(selector: Bool = true) -> [Column] {
        let columns = [
            Column(name: "Containers", type: "string", priority: 1),
            Column(name: "Images", type: "string", priority: 1),
        ]
        return selector ? columns + [Column(name: "Selector", type: "string", priority: 1)] : columns
    }

    /// Container names and images of the pod spec at `path`, comma-separated.
    static func templateCells(_ object: JSON, spec path: [String]) -> [JSON] {
        let containers = object[path: path + ["containers"]]?.arrayValue ?? []
        return [
            .string(containers.compactMap { $0["name"]?.stringValue }.joined(separator: ",")),
            .string(containers.compactMap { $0["image"]?.stringValue }.joined(separator: ",")),
        ]
    }

    /// `app=web,tier in (a,b),!legacy`; `<none>` for an empty or missing selector.
    static func selectorText(_ selector: JSON?) -> String {
        guard let selector, selector.objectValue != nil else { return "<none>" }
        let terms = LabelSelector(object: selector).requirements.map { requirement -> String in
            switch requirement {
            case .equals(let key, let value): return "\(key)=\(value)"
            case .notEquals(let key, let value): return "\(key)!=\(value)"
            case .isIn(let key, let values): return "\(key) in (\(values.sorted().joined(separator: ",")))"
            case .notIn(let key, let values): return "\(key) notin (\(values.sorted().joined(separator: ",")))"
            case .exists(let key): return key
            case .doesNotExist(let key): return "!\(key)"
            }
        }
        return terms.isEmpty ? "<none>" : terms.joined(separator: ",")
    }
}
