import A2ATSSupport
import Foundation

extension ModelRegistry {
    /// What `--model ARGUMENT` names when ARGUMENT is not an existing file or directory: the
    /// installed file of a known model, or nil when ARGUMENT is spelled as a path (then the caller
    /// reports a missing file). A known name whose file is missing or has the wrong size, and an
    /// unknown name, are errors that say what to run or which names exist.
    ///
    /// Only the size is checked here (a stat): hashing a 490 MB file on every load would cost
    /// seconds, and `scripts/setup` checked the sha256 when it installed the file.
    public func installedFile(named argument: String, cacheHome: String) throws -> String? {
        guard let model = model(named: argument) else {
            if Self.looksLikePath(argument) { return nil }
            throw ModelRegistryError.unknownModel(
                name: argument, known: names,
                suggestions: closestMatches(to: argument, among: names, limit: 2, ignoringCase: true, containmentIsOneEdit: true))
        }
        let path = model.installedPath(cacheHome: cacheHome)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw ModelRegistryError.notInstalled(name: model.name, path: path)
        }
        guard size == model.size else {
            throw ModelRegistryError.installedSizeMismatch(name: model.name, path: path, size: size, expected: model.size)
        }
        return path
    }

    /// A slash, a leading dot or tilde, or a `.gguf` ending: the user meant a path, not a name.
    static func looksLikePath(_ argument: String) -> Bool {
        argument.contains("/") || argument.hasPrefix(".") || argument.hasPrefix("~") || argument.lowercased().hasSuffix(".gguf")
    }
}
