import A2ATSSupport

/// One evaluation item, whatever file format it came from.
public struct EvalSample: Equatable, Sendable {
    /// Stable id: RULER rows use their 0-based line number (RULER's `index` is not a sample
    /// number), LongBench rows their `_id`, custom rows their `id`.
    public var id: String
    /// RULER's own `index` field, kept for reference.
    public var sourceIndex: Int?
    public var task: String
    /// RULER: the whole raw prompt (`input`). LongBench and custom: the question.
    public var input: String
    /// LongBench and custom: the long document; nil for RULER rows.
    public var context: String?
    public var answerPrefix: String
    public var references: [String]
    /// Classification label set (LongBench trec, lsht), else nil.
    public var allClasses: [String]?
    /// RULER: the target length (`length`); LongBench: its `length` (words or characters).
    public var length: Int?
    /// Fields of the record not mapped above, kept for manifests and scorers.
    public var extra: JSONObject

    public init(id: String, sourceIndex: Int? = nil, task: String, input: String, context: String? = nil,
                answerPrefix: String = "", references: [String], allClasses: [String]? = nil,
                length: Int? = nil, extra: JSONObject = JSONObject()) {
        self.id = id; self.sourceIndex = sourceIndex; self.task = task; self.input = input
        self.context = context; self.answerPrefix = answerPrefix; self.references = references
        self.allClasses = allClasses; self.length = length; self.extra = extra
    }
}
