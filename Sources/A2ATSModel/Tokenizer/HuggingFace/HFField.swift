import A2ATSSupport

/// A JSON value together with the file and dotted path it came from, so every accessor can
/// throw an error that names exactly where a tokenizer file is wrong.
struct HFField {
    let file: String
    let path: String
    let value: JSONValue?

    init(file: String, path: String, value: JSONValue?) {
        self.file = file
        self.path = path
        self.value = value
    }

    /// Missing or JSON null.
    var isAbsent: Bool { value == nil || value == .null }

    func child(_ key: String) -> HFField {
        HFField(file: file, path: path.isEmpty ? key : "\(path).\(key)", value: value?[key])
    }

    func bad(_ problem: String) -> HuggingFaceTokenizerError {
        .badField(file: file, field: path, problem: problem)
    }

    private func found() -> String { value.map { "found \($0.typeName)" } ?? "missing" }

    func string() throws -> String {
        guard let text = value?.stringValue else { throw bad("expected a string, \(found())") }
        return text
    }

    func optionalString() throws -> String? { try isAbsent ? nil : string() }

    func bool(default fallback: Bool) throws -> Bool {
        if isAbsent { return fallback }
        guard let flag = value?.boolValue else { throw bad("expected true or false, \(found())") }
        return flag
    }

    func int() throws -> Int {
        guard let number = value?.intValue else { throw bad("expected an integer, \(found())") }
        return number
    }

    func object() throws -> JSONObject {
        guard let object = value?.objectValue else { throw bad("expected an object, \(found())") }
        return object
    }

    func array() throws -> [HFField] {
        guard let items = value?.arrayValue else { throw bad("expected an array, \(found())") }
        return items.enumerated().map { HFField(file: file, path: "\(path)[\($0.offset)]", value: $0.element) }
    }

    /// The component's `type` string.
    func type() throws -> String { try child("type").string() }

    func unsupported(_ value: String, supported: [String]) -> HuggingFaceTokenizerError {
        .unsupported(file: file, field: path, value: value, supported: supported)
    }
}
