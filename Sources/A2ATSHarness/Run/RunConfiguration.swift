import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import A2ATSReports
import A2ATSTasks

/// Everything `a2ats-eval run` was asked to do, after parsing and validation.
public struct RunConfiguration {
    public var modelPath: String
    /// Task names (built-in or from `tasks/`) or paths of JSONL files.
    public var tasks: [String]
    /// RULER `max_seq_length` for generated tasks.
    public var length: Int
    /// Samples per task: generated count, or the first N of a file (nil = the whole file).
    public var samples: Int?
    public var seed: UInt64
    public var methods: [MethodSpec]
    public var budgets: [Budget]
    public var outputDirectory: String
    public var resume: Bool
    public var shard: ShardSpec
    public var shardOrigin: ShardOrigin
    public var chatTemplate: ChatTemplateMode
    /// Cap on prompt tokens for any task (LongBench truncates in the middle to it).
    public var maxLength: Int?
    /// Extra directory of task definitions (`tasks/` of the repo by default when present).
    public var taskDirectory: String?
    public var commandLine: [String]

    public init(modelPath: String, tasks: [String], length: Int, samples: Int?, seed: UInt64, methods: [MethodSpec],
                budgets: [Budget], outputDirectory: String, resume: Bool, shard: ShardSpec, shardOrigin: ShardOrigin,
                chatTemplate: ChatTemplateMode, maxLength: Int?, taskDirectory: String?, commandLine: [String]) {
        self.modelPath = modelPath
        self.tasks = tasks
        self.length = length
        self.samples = samples
        self.seed = seed
        self.methods = methods
        self.budgets = budgets
        self.outputDirectory = outputDirectory
        self.resume = resume
        self.shard = shard
        self.shardOrigin = shardOrigin
        self.chatTemplate = chatTemplate
        self.maxLength = maxLength
        self.taskDirectory = taskDirectory
        self.commandLine = commandLine
    }
}

/// One method at one budget: a column of the report, a fork of every sample's prefill.
struct MethodRun {
    let descriptor: MethodDescriptor
    let spec: MethodSpec
    /// Canonical spec (`snapkv:kernel=7`) for the `method` field.
    let canonical: String
    /// Every parameter with its value, for the `params` field.
    let parameters: [(name: String, value: String)]
    /// nil for methods without a budget.
    let budget: Budget?

    /// `params` of results.jsonl: every parameter, numbers and booleans as JSON types.
    var parametersJSON: JSONObject {
        JSONObject(parameters.map { parameter in
            let value = parameter.value
            if let int = Int(value) { return (parameter.name, .int(int)) }
            if let double = Double(value) { return (parameter.name, .double(double)) }
            if value == "true" || value == "false" { return (parameter.name, .bool(value == "true")) }
            return (parameter.name, .string(value))
        })
    }

    /// The method for one sample, its budget resolved against the sample's prompt.
    func instantiate(promptTokens: Int, model: ModelConfig, resources: MethodResources?) throws -> CacheMethod {
        try descriptor.instantiate(parameters: spec.parameters, budgetTokens: budget?.resolve(promptTokens: promptTokens),
                                   model: model, resources: resources)
    }

    /// Every method × budget pair; budget-free methods run once whatever the list holds.
    static func plan(methods: [MethodSpec], budgets: [Budget]) throws -> [MethodRun] {
        var runs: [MethodRun] = []
        var seen = Set<String>()
        for spec in methods {
            let descriptor = try MethodRegistry.descriptor(named: spec.name)
            let canonical = try descriptor.canonicalSpec(spec.parameters)
            guard seen.insert(canonical).inserted else {
                throw UsageError("method '\(canonical)' is listed twice in --methods")
            }
            let parameters = try descriptor.resolvedParameters(spec.parameters)
            if descriptor.takesBudget {
                guard !budgets.isEmpty else {
                    throw UsageError("method '\(canonical)' needs --budgets (token counts such as 256 or fractions such as 0.03)")
                }
                runs += budgets.map { MethodRun(descriptor: descriptor, spec: spec, canonical: canonical, parameters: parameters, budget: $0) }
            } else {
                runs.append(MethodRun(descriptor: descriptor, spec: spec, canonical: canonical, parameters: parameters, budget: nil))
            }
        }
        return runs
    }
}
