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
    /// KV-memory budgets (`Budget.kvMemory`): fractions of the full cache's bytes, for eviction
    /// methods and their compositions.
    public var kvBudgets: [Budget] = []
    /// Target attended fractions (`Budget.attended`): each budgeted method's budget is searched per
    /// sample so that its measured attended fraction lands on the target (equal workload).
    public var attendedTargets: [Budget] = []
    public var outputDirectory: String
    public var resume: Bool
    /// Let `--resume` add rows to a file that holds rows of other builds.
    public var allowMixedBuilds: Bool = false
    /// Stop at the first sample whose prompt cannot run (too long for the model or `--max-length`)
    /// instead of reporting it and running the others.
    public var stopOnError: Bool = false
    /// Forks of one prefill decoded together (each step reads the weights once for all of them);
    /// 1 decodes them one at a time, so each row's `seconds` is that decode's own latency.
    public var forkBatch: Int = RunDefaults.forkBatch
    /// Bytes the process may hold while forks decode: a batch takes another fork only while one as
    /// large as the largest so far still fits (`ForkMemoryBudget`); nil: no limit.
    public var memoryLimitBytes: Int? = Int(RunDefaults.memoryLimitGiB * 1_073_741_824)
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
    let method: ResolvedMethod
    let spec: MethodSpec
    /// Canonical spec (`snapkv:kernel=7`, `snapkv+kivi:bits=4`) for the `method` field.
    let canonical: String
    /// Every parameter that applies, with its canonical value, for the `params` field.
    let parameters: [ResolvedParameter]
    /// nil for methods without a budget.
    let budget: Budget?

    /// `params` of results.jsonl: every parameter that applies, numbers and booleans as JSON types.
    var parametersJSON: JSONObject { JSONObject(parameters.map { ($0.name, $0.json) }) }

    /// Tokens per head for a prompt of `promptTokens`: a KV-memory budget buys as many tokens as
    /// fit at the precision of the method's store. An attended-fraction target starts from ⌊f·n⌋;
    /// the row records the budget `AttendedBudgetSearch` settles on.
    func budgetTokens(promptTokens: Int, model: ModelConfig) throws -> Int? {
        guard let budget else { return nil }
        if case .kvMemory(let fraction) = budget {
            return try method.tokenBudget(kvFraction: fraction, promptTokens: promptTokens, model: model)
        }
        return budget.resolve(promptTokens: promptTokens)
    }

    /// The method for one sample, its budget resolved against the sample's prompt.
    func instantiate(promptTokens: Int, model: ModelConfig, resources: MethodResources?) throws -> CacheMethod {
        try method.instantiate(budgetTokens: try budgetTokens(promptTokens: promptTokens, model: model), model: model,
                               resources: resources)
    }

    /// Every method × budget pair; budget-free methods run once whatever the lists hold. KV-memory
    /// budgets apply to eviction methods and their compositions (a retrieval method keeps the whole
    /// cache whatever it reads); attended-fraction targets to every budgeted method. Every parameter is checked here, before anything is loaded. With
    /// `matchingCeilings`, each retrieval method's sinks and window get an `oracle` that reads them
    /// too (the ceiling row of the report), added when the list does not hold one already.
    static func plan(methods: [MethodSpec], budgets: [Budget], kvBudgets: [Budget] = [], attendedTargets: [Budget] = [],
                     matchingCeilings: Bool = false) throws -> [MethodRun] {
        let methods = matchingCeilings ? try withMatchedCeilings(methods) : methods
        var runs: [MethodRun] = []
        var seen = Set<String>()
        for spec in methods {
            let method = try MethodRegistry.resolve(spec)
            let budgeted = method.takesBudget
            let canonical = try method.canonicalSpec(budgeted: budgeted)
            guard seen.insert(canonical).inserted else {
                throw UsageError("method '\(canonical)' is listed twice in --methods")
            }
            let parameters = try method.resolvedParameters(budgeted: budgeted)
            if budgeted {
                let memory = method.tokenKind == .eviction ? kvBudgets : []
                guard !budgets.isEmpty || !memory.isEmpty || !attendedTargets.isEmpty else {
                    throw UsageError("method '\(canonical)' needs --budgets (token counts such as 256 or fractions such as 0.03)"
                                     + (method.tokenKind == .eviction ? ", --kv-budgets (fractions of the KV bytes such as 0.25)" : "")
                                     + " or --attended-fractions (0.01,0.03,0.1)")
                }
                runs += (budgets + memory + attendedTargets).map {
                    MethodRun(method: method, spec: spec, canonical: canonical, parameters: parameters, budget: $0)
                }
            } else {
                runs.append(MethodRun(method: method, spec: spec, canonical: canonical, parameters: parameters, budget: nil))
            }
        }
        return runs
    }

    /// `methods` plus `oracle:sinks=S,window=W` for every (S, W) a retrieval method reads on top of
    /// its budget that no oracle in the list reads (contract: the ceiling reads what the method
    /// reads, through the same store when the method is composed with one).
    static func withMatchedCeilings(_ methods: [MethodSpec]) throws -> [MethodSpec] {
        func protected(_ spec: MethodSpec) throws -> String? {
            let method = try MethodRegistry.resolve(spec)
            guard method.tokenKind == .retrieval, let token = method.tokenPart else { return nil }
            let values = Dictionary(uniqueKeysWithValues: try token.descriptor.resolvedParameters(token.parameters).map { ($0.name, $0.value) })
            let store = try method.storePart.map { try $0.descriptor.canonicalSpec($0.parameters) }
            return [values["sinks"] ?? "0", values["window"] ?? "0", store ?? ""].joined(separator: "/")
        }
        var ceilings = Set<String>()
        for spec in methods where spec.name == "oracle" || spec.composedWith.contains(where: { $0.name == "oracle" }) {
            if let key = try protected(spec) { ceilings.insert(key) }
        }
        var out = methods
        for spec in methods {
            let method = try MethodRegistry.resolve(spec)
            guard method.tokenPart?.descriptor.name != "oracle", let key = try protected(spec), ceilings.insert(key).inserted,
                  let token = method.tokenPart else { continue }
            let values = Dictionary(uniqueKeysWithValues: try token.descriptor.resolvedParameters(token.parameters).map { ($0.name, $0.value) })
            let store = method.storePart.map { MethodSpec(name: $0.descriptor.name, parameters: $0.parameters) }
            out.append(MethodSpec(name: "oracle", parameters: ["sinks": values["sinks"] ?? "0", "window": values["window"] ?? "0"],
                                  composedWith: store.map { [$0] } ?? []))
        }
        return out
    }
}
