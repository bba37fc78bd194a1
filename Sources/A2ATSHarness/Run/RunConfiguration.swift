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
    /// Let `--resume` add rows to a file that holds rows of other builds.
    public var allowMixedBuilds: Bool = false
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
    /// Every parameter that applies, with its canonical value, for the `params` field.
    let parameters: [ResolvedParameter]
    /// nil for methods without a budget.
    let budget: Budget?

    /// `params` of results.jsonl: every parameter that applies, numbers and booleans as JSON types.
    var parametersJSON: JSONObject { JSONObject(parameters.map { ($0.name, $0.json) }) }

    /// The method for one sample, its budget resolved against the sample's prompt.
    func instantiate(promptTokens: Int, model: ModelConfig, resources: MethodResources?) throws -> CacheMethod {
        try descriptor.instantiate(parameters: spec.parameters, budgetTokens: budget?.resolve(promptTokens: promptTokens),
                                   model: model, resources: resources)
    }

    /// Every method × budget pair; budget-free methods run once whatever the list holds. Every
    /// parameter is checked here, before anything is loaded. With `matchingCeilings`, each retrieval
    /// method's sinks and window get an `oracle` that reads them too (the ceiling row of the report),
    /// added when the list does not hold one already.
    static func plan(methods: [MethodSpec], budgets: [Budget], matchingCeilings: Bool = false) throws -> [MethodRun] {
        let methods = matchingCeilings ? try withMatchedCeilings(methods) : methods
        var runs: [MethodRun] = []
        var seen = Set<String>()
        for spec in methods {
            let descriptor = try MethodRegistry.descriptor(named: spec.name)
            let budgeted = descriptor.takesBudget
            let canonical = try descriptor.canonicalSpec(spec.parameters, budgeted: budgeted)
            guard seen.insert(canonical).inserted else {
                throw UsageError("method '\(canonical)' is listed twice in --methods")
            }
            let parameters = try descriptor.resolvedParameters(spec.parameters, budgeted: budgeted)
            if budgeted {
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

    /// `methods` plus `oracle:sinks=S,window=W` for every (S, W) a retrieval method reads on top of
    /// its budget that no oracle in the list reads (contract: the ceiling reads what the method reads).
    static func withMatchedCeilings(_ methods: [MethodSpec]) throws -> [MethodSpec] {
        func protected(_ spec: MethodSpec) throws -> (sinks: String, window: String)? {
            let descriptor = try MethodRegistry.descriptor(named: spec.name)
            guard descriptor.kind == .retrieval else { return nil }
            let values = Dictionary(uniqueKeysWithValues: try descriptor.resolvedParameters(spec.parameters).map { ($0.name, $0.value) })
            return (values["sinks"] ?? "0", values["window"] ?? "0")
        }
        var ceilings = Set<String>()
        for spec in methods where spec.name == "oracle" {
            if let p = try protected(spec) { ceilings.insert("\(p.sinks)/\(p.window)") }
        }
        var out = methods
        for spec in methods where spec.name != "oracle" {
            guard let p = try protected(spec), ceilings.insert("\(p.sinks)/\(p.window)").inserted else { continue }
            out.append(MethodSpec(name: "oracle", parameters: ["sinks": p.sinks, "window": p.window]))
        }
        return out
    }
}
