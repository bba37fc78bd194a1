import A2ATSSupport

/// Where a task's data comes from, which decides how files are read and prompts built.
public enum TaskSource: String, CaseIterable, Sendable {
    case ruler, longbench, custom
}

/// How a prompt longer than the budget is shortened.
public enum TruncationRule: String, CaseIterable, Sendable {
    /// LongBench's rule: keep the first and last half of the allowed tokens.
    case middle
    /// Never shorten: an over-long prompt is an error.
    case none
}

/// The metrics a task may name; the scoring module implements them under these names.
public let knownMetrics: [String] = [
    "string_match_all", "string_match_part", "qa_f1", "qa_f1_zh", "rouge", "rouge_zh",
    "classification", "retrieval", "retrieval_zh", "count", "code_sim",
]

/// One task as data (lm-evaluation-harness style): prompt template, generation limit,
/// metric and prompt rules. Defined in `tasks/*.json` so that users add tasks without code.
public struct TaskDefinition: Equatable, Sendable {
    public var name: String
    public var source: TaskSource
    /// Version of the file that defined the task; recorded in run manifests.
    public var version: Int
    /// Prompt template. LongBench/custom: `{context}` and `{input}`. RULER: the task
    /// template of RULER's `constants.py` (`{context}`, `{query}`, …) used by the generator.
    public var template: String
    /// Text that opens the answer (RULER's `answer_prefix`), appended after the prompt.
    public var answerPrefix: String
    /// Whether chat models get the prompt wrapped in their chat template by default.
    public var chatTemplate: Bool
    public var maxNewTokens: Int
    public var metric: String
    public var truncation: TruncationRule
    /// RULER generator settings (`task` and `args` of RULER's `synthetic.yaml`), nil if none.
    public var generator: JSONObject?
    /// The file the definition came from (for messages and manifests).
    public var file: String

    public init(name: String, source: TaskSource, version: Int, template: String, answerPrefix: String,
                chatTemplate: Bool, maxNewTokens: Int, metric: String, truncation: TruncationRule,
                generator: JSONObject?, file: String) {
        self.name = name; self.source = source; self.version = version; self.template = template
        self.answerPrefix = answerPrefix; self.chatTemplate = chatTemplate; self.maxNewTokens = maxNewTokens
        self.metric = metric; self.truncation = truncation; self.generator = generator; self.file = file
    }

    /// Parses one task object of a task file; `field` paths in errors look like `tasks[3].metric`.
    public static func parse(_ object: JSONObject, version: Int, file: String, at path: String) throws -> TaskDefinition {
        func fail(_ field: String, _ problem: String) -> TaskError {
            .dataFile(DataFileError(file: file, field: path.isEmpty ? field : "\(path).\(field)", problem: problem))
        }
        func string(_ key: String, default fallback: String? = nil) throws -> String {
            guard let value = object[key] else {
                if let fallback { return fallback }
                throw fail(key, "missing")
            }
            guard let text = value.stringValue else { throw fail(key, "expected string, found \(value.typeName)") }
            return text
        }
        let name = try string("name")
        let sourceText = try string("source")
        guard let source = TaskSource(rawValue: sourceText) else {
            throw fail("source", "\"\(sourceText)\" is not one of \(TaskSource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let metric = try string("metric")
        guard knownMetrics.contains(metric) else {
            throw fail("metric", "\"\(metric)\" is not one of \(knownMetrics.joined(separator: ", "))")
        }
        guard let maxValue = object["max_new_tokens"] else { throw fail("max_new_tokens", "missing") }
        guard let maxNewTokens = maxValue.intValue, maxNewTokens > 0 else {
            throw fail("max_new_tokens", "expected a positive integer, found \(maxValue.compactText)")
        }
        var chat = false
        if let value = object["chat_template"] {
            guard let flag = value.boolValue else { throw fail("chat_template", "expected bool, found \(value.typeName)") }
            chat = flag
        }
        let truncationText = try string("truncation", default: "middle")
        guard let truncation = TruncationRule(rawValue: truncationText) else {
            throw fail("truncation", "\"\(truncationText)\" is not one of middle, none")
        }
        var generator: JSONObject? = nil
        if let value = object["generator"], !value.isNull {
            guard let settings = value.objectValue else { throw fail("generator", "expected object, found \(value.typeName)") }
            // Checked here so that a broken generator is a file error on load, not "not synthetic" later.
            guard let family = settings["task"] else { throw fail("generator.task", "missing") }
            guard family.stringValue != nil else { throw fail("generator.task", "expected string, found \(family.typeName)") }
            if let args = settings["args"], args.objectValue == nil {
                throw fail("generator.args", "expected object, found \(args.typeName)")
            }
            generator = settings
        }
        let template = try string("template")
        if source != .ruler {
            guard template.contains("{context}") || template.contains("{input}") || template.contains("{question}") else {
                throw fail("template", "needs a {context} or {input} placeholder")
            }
        } else if generator != nil, !template.contains("{context}") {
            // The generator grows the haystack until the prompt reaches the length; without
            // {context} it never does (found by fuzzing: the search doubled the size forever).
            throw fail("template", "a generated RULER task needs a {context} placeholder for the haystack")
        }
        return TaskDefinition(name: name, source: source, version: version, template: template,
                              answerPrefix: try string("answer_prefix", default: ""), chatTemplate: chat,
                              maxNewTokens: maxNewTokens, metric: metric, truncation: truncation,
                              generator: generator, file: file)
    }

    /// The definition as JSON, in the field names of the task files.
    public var json: JSONValue {
        var object: JSONObject = ["name": .string(name), "source": .string(source.rawValue),
                                  "template": .string(template), "answer_prefix": .string(answerPrefix),
                                  "chat_template": .bool(chatTemplate), "max_new_tokens": .int(maxNewTokens),
                                  "metric": .string(metric), "truncation": .string(truncation.rawValue)]
        if let generator { object["generator"] = .object(generator) }
        object["version"] = .int(version)
        return .object(object)
    }
}
