import Foundation
import Mustache

/// Renders the Mustache templates of one folder. Without reload the folder is read once, at creation;
/// with reload every render first compares the files' modification times and sizes with the last load
/// and re-reads the folder when anything changed, so an edited template shows on the next request.
public actor TemplateRenderer {
    public nonisolated let directory: String
    public nonisolated let reload: Bool
    private var library: MustacheLibrary
    private var loadedVersion: [String: FileVersion]

    public init(directory: String, reload: Bool) async throws {
        self.directory = directory
        self.reload = reload
        let version = try Self.version(of: directory)
        self.library = try await Self.load(directory)
        self.loadedVersion = version
    }

    /// Renders the template `name` (its file name without `.mustache`) with `context`.
    public func render(_ context: some Sendable, template name: String) async throws -> String {
        if reload {
            let current = try Self.version(of: directory)
            if current != loadedVersion {
                library = try await Self.load(directory)
                loadedVersion = current
            }
        }
        guard let html = library.render(context, withTemplate: name) else {
            throw TemplateError(file: "\(directory)/\(name).mustache", message: "no such template")
        }
        return html
    }

    private static func load(_ directory: String) async throws -> MustacheLibrary {
        do {
            return try await MustacheLibrary(directory: directory)
        } catch let error as MustacheLibrary.ParserError {
            throw TemplateError(
                file: "\(directory)/\(error.filename)",
                message: "line \(error.context.lineNumber), column \(error.context.columnNumber): \(error.error)"
            )
        }
    }

    /// What identifies one state of a file: an edit in place changes mtime or size, a save by rename
    /// (what many editors and rsync do) also changes the inode.
    struct FileVersion: Equatable {
        var modified: Date?
        var size: Int?
        var inode: Int?
    }

    private static func version(of directory: String) throws -> [String: FileVersion] {
        let files = FileManager.default
        guard let names = files.enumerator(atPath: directory) else {
            throw TemplateError(file: directory, message: "cannot read the templates folder")
        }
        var version: [String: FileVersion] = [:]
        for case let name as String in names where name.hasSuffix(".mustache") {
            let attributes = try? files.attributesOfItem(atPath: "\(directory)/\(name)")
            version[name] = FileVersion(
                modified: attributes?[.modificationDate] as? Date,
                size: (attributes?[.size] as? NSNumber)?.intValue,
                inode: (attributes?[.systemFileNumber] as? NSNumber)?.intValue
            )
        }
        return version
    }
}

/// A template that cannot be found or parsed; names the file.
public struct TemplateError: Error, CustomStringConvertible {
    public var file: String
    public var message: String

    public var description: String { "\(file): \(message)" }
}
