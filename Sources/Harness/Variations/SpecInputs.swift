import Foundation

/// The files and folders a spec names by a relative path (`store`, `graph`, `fromImage`),
/// resolved against its folder. The `build_path` variation copies those that lie outside the
/// folder it moves, keeping their relative place, so the copied spec reads the same inputs.
/// Absolute paths are left out: they name the same place whichever folder the spec is in.
public enum SpecInputs {
    static let pathKeys = ["store", "graph", "fromImage"]

    /// Existing inputs named relatively, absolute and normalised, sorted. A spec that cannot be
    /// read gives none: the build reports that spec's error itself.
    public static func relativeReferences(ofSpecAt specPath: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: specPath),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [] }
        let folder = BuildEnvironmentPlanner.directory(of: specPath)
        var found: Set<String> = []
        for key in pathKeys {
            // `store` defaults to the folder `store` beside the spec.
            let value = object[key] as? String ?? (key == "store" && object[key] == nil ? "store" : nil)
            guard let value, !value.isEmpty, !value.hasPrefix("/") else { continue }
            let path = URL(fileURLWithPath: folder + "/" + value).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: path) { found.insert(path) }
        }
        return found.sorted()
    }
}
