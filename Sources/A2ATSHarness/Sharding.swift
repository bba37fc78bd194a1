/// Which samples this process runs when a run is split across machines (contract.md,
/// `--shard I/N`): sample k (0-based, in file or generation order) belongs to shard k mod N,
/// so one sample's prefill — shared by all its methods and budgets — is never split.
public struct ShardSpec: Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The unsharded run.
    public static let whole = ShardSpec(checkedIndex: 0, count: 1)

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw UsageError("shard count must be at least 1, got \(count)") }
        guard (0..<count).contains(index) else {
            throw UsageError("shard index \(index) is outside 0..<\(count) (shards are 0-based: --shard 0/\(count) … \(count - 1)/\(count))")
        }
        self.index = index
        self.count = count
    }

    private init(checkedIndex: Int, count: Int) {
        self.index = checkedIndex
        self.count = count
    }

    /// Parses `I/N` as given to `--shard`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw UsageError("--shard expects I/N with 0 ≤ I < N (e.g. 0/4), got '\(text)'")
        }
        try self.init(index: index, count: count)
    }

    public func contains(sampleIndex: Int) -> Bool { sampleIndex % count == index }

    /// `I/N`, as written on the command line and in the manifest.
    public var description: String { "\(index)/\(count)" }
}

/// Where a shard assignment came from, recorded in the manifest.
public enum ShardOrigin: String, Equatable {
    case none, flag, slurm, kubernetes
}

extension ShardSpec {
    /// Resolves the shard from `--shard` and the environment (passed in, so tests need not
    /// touch the process environment). Precedence: an explicit `--shard I/N`, then a Slurm
    /// array job (I = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT),
    /// then a Kubernetes Indexed Job (I = JOB_COMPLETION_INDEX, N from `--shard N` or
    /// A2ATS_SHARDS). `--shard N` alone gives only the count, for schedulers that supply I.
    public static func resolve(flag: String?, environment: [String: String]) throws -> (shard: ShardSpec, origin: ShardOrigin) {
        var countFromFlag: Int?
        if let flag {
            if flag.contains("/") { return (try ShardSpec(parsing: flag), .flag) }
            guard let count = Int(flag), count >= 1 else {
                throw UsageError("--shard expects I/N (e.g. 0/4), or N alone when the scheduler supplies I; got '\(flag)'")
            }
            countFromFlag = count
        }
        if let taskID = environment["SLURM_ARRAY_TASK_ID"] {
            let id = try integer(taskID, variable: "SLURM_ARRAY_TASK_ID")
            let minimum = try environment["SLURM_ARRAY_TASK_MIN"].map { try integer($0, variable: "SLURM_ARRAY_TASK_MIN") } ?? 0
            guard let countText = environment["SLURM_ARRAY_TASK_COUNT"] else {
                throw UsageError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard I/N")
            }
            let count = try integer(countText, variable: "SLURM_ARRAY_TASK_COUNT")
            if let countFromFlag, countFromFlag != count {
                throw UsageError("--shard \(countFromFlag) disagrees with SLURM_ARRAY_TASK_COUNT=\(count)")
            }
            guard (0..<max(count, 1)).contains(id - minimum) else {
                throw UsageError("Slurm array task \(id) − min \(minimum) = \(id - minimum) is outside 0..<\(count); "
                                 + "use a contiguous array (--array=0-\(count - 1)) or pass --shard I/N")
            }
            return (try ShardSpec(index: id - minimum, count: count), .slurm)
        }
        if let completionIndex = environment["JOB_COMPLETION_INDEX"] {
            let index = try integer(completionIndex, variable: "JOB_COMPLETION_INDEX")
            let count: Int
            if let countFromFlag {
                count = countFromFlag
            } else if let shards = environment["A2ATS_SHARDS"] {
                count = try integer(shards, variable: "A2ATS_SHARDS")
            } else {
                throw UsageError("JOB_COMPLETION_INDEX is set but the number of shards is unknown; pass --shard N "
                                 + "(the Job's completions) or set A2ATS_SHARDS")
            }
            return (try ShardSpec(index: index, count: count), .kubernetes)
        }
        if let countFromFlag {
            throw UsageError("--shard \(countFromFlag) gives only the shard count; write --shard I/\(countFromFlag), "
                             + "or run under a Slurm array or a Kubernetes Indexed Job")
        }
        return (.whole, .none)
    }

    private static func integer(_ text: String, variable: String) throws -> Int {
        guard let value = Int(text.trimmingWhitespace) else {
            throw UsageError("environment variable \(variable)='\(text)' is not an integer")
        }
        return value
    }
}
