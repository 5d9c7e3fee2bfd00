import Foundation
import Hummingbird

/// `POST /lists` and the add-list form.
struct NewList: Decodable {
    var name: String
}

/// `POST /lists/{id}/items` and the add-item form.
struct NewItem: Decodable {
    var title: String
}

/// `PATCH /lists/{id}/items/{item}` and the done checkbox form.
struct ItemPatch: Decodable {
    var done: Bool
}

enum Validate {
    static let maxNameLength = 200
    static let maxTitleLength = 500

    /// A trimmed, non-empty text of at most `maxLength` characters, or a 422 naming `field`.
    static func text(_ value: String, field: String, maxLength: Int) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw APIError(.unprocessableContent, "\(field): must not be empty", field: field)
        }
        guard trimmed.count <= maxLength else {
            throw APIError(
                .unprocessableContent, "\(field): must be at most \(maxLength) characters", field: field)
        }
        return trimmed
    }

    /// The positive integer path parameter `name`, or a 400 naming it.
    static func id(_ name: String, in context: some RequestContext) throws -> Int {
        guard let raw = context.parameters.get(name), let id = Int(raw), id > 0 else {
            throw APIError(.badRequest, "\(name): must be a positive integer", field: name)
        }
        return id
    }
}
