import A2ATSSupport
import Foundation

/// A budget as the user asked for it: a token count (`256`), a fraction of the prompt
/// (`0.03`), a KV-memory budget (`--kv-budgets 0.25`: a fraction of the full cache's bytes), or a
/// target attended fraction (`--attended-fractions 0.03`).
/// Kept as asked so reports label columns the way the run was invoked.
public enum Budget: Hashable, Comparable, Sendable, CustomStringConvertible {
    case tokens(Int)
    case fraction(Double)
    case kvMemory(Double)
    /// A target attended fraction (`--attended-fractions`): the budget is searched per sample so
    /// that the measured `attended_tokens ÷ prompt_tokens` lands within ±10% of it.
    case attended(Double)

    /// The number as asked (a KV-memory budget's fraction of bytes, a target attended fraction).
    public var jsonValue: JSONValue {
        switch self {
        case .tokens(let n): return .int(n)
        case .fraction(let f), .kvMemory(let f), .attended(let f): return .double(f)
        }
    }

    /// Writes `budget` (and, for a KV-memory budget or an attended-fraction target, `kv_budget` or
    /// `attended_target` with `budget` null) into a row.
    public static func write(_ budget: Budget?, into object: inout JSONObject) {
        switch budget {
        case .kvMemory(let f)?:
            object["budget"] = .null
            object["kv_budget"] = .double(f)
        case .attended(let f)?:
            object["budget"] = .null
            object["attended_target"] = .double(f)
        default:
            object["budget"] = budget?.jsonValue ?? .null
        }
    }

    /// Reads what `write` wrote; nil when the row has no budget, an error text when it is malformed.
    public static func read(from object: JSONObject) -> Result<Budget?, BudgetFieldError> {
        if let kv = object["kv_budget"], !kv.isNull {
            guard let f = kv.doubleValue, f > 0, f <= 1 else {
                return .failure(BudgetFieldError(field: "kv_budget", problem: "expected a number in (0, 1], found \(kv.compactText)"))
            }
            return .success(.kvMemory(f))
        }
        if let target = object["attended_target"], !target.isNull {
            guard let f = target.doubleValue, f > 0, f < 1 else {
                return .failure(BudgetFieldError(field: "attended_target", problem: "expected a number in (0, 1), found \(target.compactText)"))
            }
            return .success(.attended(f))
        }
        guard let value = object["budget"] else { return .failure(BudgetFieldError(field: "budget", problem: "missing")) }
        if value.isNull { return .success(nil) }
        guard let parsed = Budget(json: value) else {
            return .failure(BudgetFieldError(field: "budget",
                                             problem: "expected an integer ≥ 1, a number in (0, 1) or null, found \(value.compactText)"))
        }
        return .success(parsed)
    }

    /// `256` or `0.03`, as the command line spells it; `kv=0.25` for a KV-memory budget,
    /// `att=0.03` for an attended-fraction target.
    public var description: String {
        switch self {
        case .kvMemory: return "kv=" + jsonValue.compactText
        case .attended: return "att=" + jsonValue.compactText
        default: return jsonValue.compactText
        }
    }

    public var isKVMemory: Bool { if case .kvMemory = self { return true } else { return false } }
    public var isAttendedTarget: Bool { if case .attended = self { return true } else { return false } }

    /// Reads a JSON number: an integer ≥ 1 is tokens, a number in (0, 1) a fraction.
    public init?(json: JSONValue) {
        if let n = json.intValue, n >= 1 { self = .tokens(n); return }
        if let f = json.doubleValue, f > 0, f < 1 { self = .fraction(f); return }
        return nil
    }

    /// Fractions (ascending), then token counts, KV-memory budgets, attended targets (each ascending):
    /// columns read small to large within each kind, and the kinds are not comparable.
    public static func < (lhs: Budget, rhs: Budget) -> Bool {
        switch (lhs, rhs) {
        case let (.fraction(a), .fraction(b)), let (.kvMemory(a), .kvMemory(b)), let (.attended(a), .attended(b)): return a < b
        case let (.tokens(a), .tokens(b)): return a < b
        default: return lhs.kindOrder < rhs.kindOrder
        }
    }

    private var kindOrder: Int {
        switch self {
        case .fraction: return 0
        case .tokens: return 1
        case .kvMemory: return 2
        case .attended: return 3
        }
    }
}

/// What is wrong with a row's budget fields.
public struct BudgetFieldError: Error, Sendable {
    public let field: String
    public let problem: String
}

/// One line of `results.jsonl`: one sample × method × budget, with the exact field names of
/// docs/contract.md. Encoding writes the fields in one fixed order (then any extra fields
/// kept from decoding), so files diff cleanly and resumed runs reproduce them byte for byte.
public struct ResultRecord: Equatable, Sendable {
    public typealias Budget = A2ATSReports.Budget

    /// Identifies a row for `--resume` and for merging shards: (task, length, id, method
    /// spec, budget), per docs/contract.md.
    public struct ResumeKey: Hashable, Sendable {
        public let task: String
        public let length: Int?
        public let id: String
        public let method: String
        public let budget: Budget?
    }

    public var id: String
    public var task: String
    /// Canonical method spec with its non-default parameters (`snapkv:kernel=7`).
    public var method: String
    /// Every parameter of the method with its value, defaults included.
    public var params: JSONObject
    public var budget: Budget?
    public var budgetTokens: Int?
    /// Target length for generated tasks, else nil.
    public var length: Int?
    public var prediction: String
    public var references: [String]
    /// 0–100: the metric × 100.
    public var score: Double
    public var promptTokens: Int
    /// Mean over decode steps, layers and KV heads of distinct cached tokens read.
    public var attendedTokens: Double
    public var kvBytes: Int
    public var sideBytes: Int
    /// This row's decode time.
    public var seconds: Double
    /// The prefill this row used; shared between the rows forked from one prefill.
    public var prefillSeconds: Double
    /// Decode steps this row ran (nil in rows written before it was recorded).
    public var decodeSteps: Int?
    /// Of `seconds`, the time the method spent choosing tokens (`select`), apart from attention.
    public var selectionSeconds: Double?
    /// RULER's own `index` field, kept beside our 0-based line id.
    public var sourceIndex: Int?
    /// Id of the build that wrote the row (commit, and a hash of the changes for a modified
    /// tree); nil for rows written before builds were recorded.
    public var build: String?
    /// Fields this type does not know, kept so that decoding then encoding loses nothing.
    public var extra: JSONObject

    public init(id: String, task: String, method: String, params: JSONObject = [:], budget: Budget?,
                budgetTokens: Int?, length: Int?, prediction: String, references: [String], score: Double,
                promptTokens: Int, attendedTokens: Double, kvBytes: Int, sideBytes: Int, seconds: Double,
                prefillSeconds: Double, decodeSteps: Int? = nil, selectionSeconds: Double? = nil, sourceIndex: Int? = nil,
                build: String? = nil, extra: JSONObject = [:]) {
        self.id = id
        self.task = task
        self.method = method
        self.params = params
        self.budget = budget
        self.budgetTokens = budgetTokens
        self.length = length
        self.prediction = prediction
        self.references = references
        self.score = score
        self.promptTokens = promptTokens
        self.attendedTokens = attendedTokens
        self.kvBytes = kvBytes
        self.sideBytes = sideBytes
        self.seconds = seconds
        self.prefillSeconds = prefillSeconds
        self.decodeSteps = decodeSteps
        self.selectionSeconds = selectionSeconds
        self.sourceIndex = sourceIndex
        self.build = build
        self.extra = extra
    }

    public var resumeKey: ResumeKey {
        ResumeKey(task: task, length: length, id: id, method: method, budget: budget)
    }

    /// Field names in the order they are written.
    public static let fieldNames = [
        "id", "task", "method", "params", "budget", "kv_budget", "attended_target", "budget_tokens", "length", "prediction", "references",
        "score", "prompt_tokens", "attended_tokens", "kv_bytes", "side_bytes", "seconds", "prefill_seconds",
        "decode_steps", "selection_seconds", "source_index", "build",
    ]

    /// The record as a JSON object, fields in `fieldNames` order (`source_index` and `build` only when set).
    public var jsonObject: JSONObject {
        var object = JSONObject()
        object["id"] = .string(id)
        object["task"] = .string(task)
        object["method"] = .string(method)
        object["params"] = .object(params)
        Budget.write(budget, into: &object)
        object["budget_tokens"] = budgetTokens.map(JSONValue.int) ?? .null
        object["length"] = length.map(JSONValue.int) ?? .null
        object["prediction"] = .string(prediction)
        object["references"] = .array(references.map(JSONValue.string))
        object["score"] = .double(score)
        object["prompt_tokens"] = .int(promptTokens)
        object["attended_tokens"] = .double(attendedTokens)
        object["kv_bytes"] = .int(kvBytes)
        object["side_bytes"] = .int(sideBytes)
        object["seconds"] = .double(seconds)
        object["prefill_seconds"] = .double(prefillSeconds)
        if let decodeSteps { object["decode_steps"] = .int(decodeSteps) }
        if let selectionSeconds { object["selection_seconds"] = .double(selectionSeconds) }
        if let sourceIndex { object["source_index"] = .int(sourceIndex) }
        if let build { object["build"] = .string(build) }
        for (key, value) in extra where object[key] == nil { object[key] = value }
        return object
    }

    /// One line of results.jsonl, without the newline.
    public var jsonLine: String { JSONValue.object(jsonObject).compactText }

    /// Reads a record from a parsed line; errors name the file, line and field.
    public init(object: JSONObject, file: String, line: Int?) throws {
        func fail(_ field: String, _ problem: String) -> DataFileError {
            DataFileError(file: file, line: line, field: field, problem: problem)
        }
        func value(_ field: String) throws -> JSONValue {
            guard let value = object[field] else { throw fail(field, "missing") }
            return value
        }
        func required<T>(_ field: String, _ type: String, _ extract: (JSONValue) -> T?) throws -> T {
            let found = try value(field)
            guard let result = extract(found) else { throw fail(field, "expected \(type), found \(found.typeName)") }
            return result
        }
        func optional<T>(_ field: String, _ type: String, _ extract: (JSONValue) -> T?) throws -> T? {
            guard let found = object[field], !found.isNull else { return nil }
            guard let result = extract(found) else { throw fail(field, "expected \(type) or null, found \(found.typeName)") }
            return result
        }

        // RULER ids are line numbers; accept an integer id and keep it as its decimal text.
        id = try required("id", "string") { $0.stringValue ?? $0.intValue.map(String.init) }
        task = try required("task", "string") { $0.stringValue }
        method = try required("method", "string") { $0.stringValue }
        params = try optional("params", "object") { $0.objectValue } ?? [:]
        switch Budget.read(from: object) {
        case .success(let read): budget = read
        case .failure(let error): throw fail(error.field, error.problem)
        }
        budgetTokens = try optional("budget_tokens", "integer") { $0.intValue }
        length = try optional("length", "integer") { $0.intValue }
        prediction = try required("prediction", "string") { $0.stringValue }
        references = try required("references", "array of strings") { value in
            guard let items = value.arrayValue else { return nil }
            let strings = items.compactMap(\.stringValue)
            return strings.count == items.count ? strings : nil
        }
        score = try required("score", "number") { $0.doubleValue }
        promptTokens = try required("prompt_tokens", "integer") { $0.intValue }
        attendedTokens = try required("attended_tokens", "number") { $0.doubleValue }
        kvBytes = try required("kv_bytes", "integer") { $0.intValue }
        sideBytes = try optional("side_bytes", "integer") { $0.intValue } ?? 0
        seconds = try required("seconds", "number") { $0.doubleValue }
        prefillSeconds = try optional("prefill_seconds", "number") { $0.doubleValue } ?? 0
        decodeSteps = try optional("decode_steps", "integer") { $0.intValue }
        selectionSeconds = try optional("selection_seconds", "number") { $0.doubleValue }
        sourceIndex = try optional("source_index", "integer") { $0.intValue }
        build = try optional("build", "string") { $0.stringValue }
        var extra = JSONObject()
        let known = Set(Self.fieldNames)
        for (key, value) in object where !known.contains(key) { extra[key] = value }
        self.extra = extra
    }

    /// Parses one results.jsonl line.
    public init(line text: String, file: String, line: Int?) throws {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch let error as JSONParseError {
            throw DataFileError(file: file, line: line, problem: "invalid JSON: \(error.message)")
        }
        guard let object = value.objectValue else {
            throw DataFileError(file: file, line: line, problem: "expected a JSON object, found \(value.typeName)")
        }
        try self.init(object: object, file: file, line: line)
    }
}
