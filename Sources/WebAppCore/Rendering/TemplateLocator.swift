import Foundation

/// Finds the templates folder when `TEMPLATES_DIR` is not set.
///
/// Without reload the app uses the copy SwiftPM bundles next to the executable (`.copy("Templates")`),
/// which is what a container image ships. With reload it prefers the source folder, because that is where
/// edits happen: a dev pod runs the app from a synced source tree, so `./Sources/WebAppCore/Templates`
/// below the working directory, or the folder this file was compiled from, is the live copy; the bundled
/// copy only changes on the next build.
public enum TemplateLocator {
    static let sourceRelativePath = "Sources/WebAppCore/Templates"

    public static func directory(configured: String?, reload: Bool) -> String {
        if let configured { return configured }
        if reload, let source = sourceDirectories().first(where: isDirectory) { return source }
        return bundledDirectory
    }

    static func sourceDirectories() -> [String] {
        let workingDirectory = FileManager.default.currentDirectoryPath + "/" + sourceRelativePath
        let compiledFrom = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Templates").path
        return [workingDirectory, compiledFrom]
    }

    static var bundledDirectory: String {
        Bundle.module.resourceURL!.appendingPathComponent("Templates").path
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
