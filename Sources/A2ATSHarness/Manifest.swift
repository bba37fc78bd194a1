import A2ATSBuildInfo
import A2ATSReports
import A2ATSSupport
import A2ATSTensor
import Foundation

/// The project's version, recorded in every manifest.
public let a2atsEvalVersion = "0.1.0"

/// An input file of the run and its fingerprint.
public struct FingerprintedFile: Equatable {
    public let path: String
    public let sha256: String

    public init(path: String, sha256: String) {
        self.path = path
        self.sha256 = sha256
    }

    /// Hashes the file now.
    public init(hashing path: String) throws {
        self.init(path: path, sha256: try SHA256.hexDigest(ofFile: path))
    }
}

/// Everything about a run that decides its results, gathered by the runner.
public struct ManifestParts {
    public var commandLine: [String]
    public var model: FingerprintedFile
    /// E.g. `gguf byte-level BPE (smollm), vocab 49152`.
    public var tokenizer: String
    /// `on`, `off` or `auto (base for RULER)`: what was used, not only what was asked.
    public var chatTemplate: String
    public var truncation: String
    public var taskFiles: [FingerprintedFile]
    public var seeds: JSONObject
    /// One object per method: `{"method": canonical spec, "params": every parameter}`.
    public var methods: [JSONValue]
    public var budgets: [Budget]
    public var shard: ShardSpec
    public var shardOrigin: ShardOrigin
    /// Anything else the runner wants on record (lengths, samples, max new tokens…).
    public var extra: JSONObject

    public init(commandLine: [String], model: FingerprintedFile, tokenizer: String, chatTemplate: String,
                truncation: String, taskFiles: [FingerprintedFile], seeds: JSONObject, methods: [JSONValue],
                budgets: [Budget], shard: ShardSpec = .whole, shardOrigin: ShardOrigin = .none, extra: JSONObject = [:]) {
        self.commandLine = commandLine
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.truncation = truncation
        self.taskFiles = taskFiles
        self.seeds = seeds
        self.methods = methods
        self.budgets = budgets
        self.shard = shard
        self.shardOrigin = shardOrigin
        self.extra = extra
    }
}

/// Builds and writes `manifest.json`: what a reader needs to trust, compare or reproduce a
/// run — inputs with checksums, settings, code version, and the machine it ran on.
public enum Manifest {
    public static func build(_ parts: ManifestParts, build: BuildState, machine: MachineInfo) -> JSONValue {
        var manifest = JSONObject()
        manifest["a2ats_eval_version"] = .string(a2atsEvalVersion)
        manifest["build"] = .object(["id": .string(build.id), "commit": .string(build.commit), "dirty": .bool(build.dirty),
                                     "recorded": "when the binary was built"])
        manifest["command_line"] = .array(parts.commandLine.map(JSONValue.string))
        manifest["model"] = .object(["path": .string(parts.model.path), "sha256": .string(parts.model.sha256)])
        manifest["tokenizer"] = .string(parts.tokenizer)
        manifest["chat_template"] = .string(parts.chatTemplate)
        manifest["truncation"] = .string(parts.truncation)
        manifest["task_files"] = .array(parts.taskFiles.map { .object(["path": .string($0.path), "sha256": .string($0.sha256)]) })
        manifest["seeds"] = .object(parts.seeds)
        manifest["methods"] = .array(parts.methods)
        manifest["budgets"] = .array(parts.budgets.map(\.jsonValue))
        manifest["shard"] = .object(["index": .int(parts.shard.index), "count": .int(parts.shard.count),
                                     "origin": .string(parts.shardOrigin.rawValue)])
        for (key, value) in parts.extra { manifest[key] = value }
        manifest["machine"] = machine.jsonValue
        return .object(manifest)
    }

    /// Writes the manifest atomically, so a reader never sees half of one.
    public static func write(_ manifest: JSONValue, toDirectory directory: String) throws {
        try AtomicFile.write(manifest.prettyText, to: (directory as NSString).appendingPathComponent("manifest.json"))
    }
}

/// The build that produced a run's rows, as recorded when the binary was built (`BuildInfo`).
public struct BuildState: Equatable, Sendable {
    public let id: String
    public let commit: String
    public let dirty: Bool

    public init(id: String, commit: String, dirty: Bool) {
        self.id = id
        self.commit = commit
        self.dirty = dirty
    }

    /// This binary's build.
    public static let current = BuildState(id: BuildInfo.id, commit: BuildInfo.commit, dirty: BuildInfo.dirty)
}

/// The machine a run used; timings mean little without it.
public struct MachineInfo: Equatable {
    public var hostname: String
    public var cpuModel: String
    public var cores: Int
    public var memoryBytes: UInt64
    public var operatingSystem: String
    public var swiftCompiler: String
    /// OpenBLAS's kernel family: the same build runs 5× slower on generic kernels (BLASKernelFamily).
    public var blasKernels: String = BLASKernelFamily.current
    /// OpenBLAS threads (OPENBLAS_NUM_THREADS, else the cores): its sums, and so the last bits of
    /// logits, depend on it; runs that must agree bit for bit use the same (docs/reliability.md).
    public var blasThreads: Int = 0
    /// What runs the prefill's matrix products: our AVX-512 kernel or OpenBLAS's sgemm (`BLAS.ownProduct`).
    public var matrixProduct: String = BLAS.productName

    public static func current() -> MachineInfo {
        var name = [CChar](repeating: 0, count: 256)
        let hostname = gethostname(&name, name.count) == 0 ? String(cString: name) : "unknown"
        return MachineInfo(hostname: hostname, cpuModel: cpuModel(cpuinfo: try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)),
                           cores: ProcessInfo.processInfo.activeProcessorCount,
                           memoryBytes: ProcessInfo.processInfo.physicalMemory,
                           operatingSystem: operatingSystemName(), swiftCompiler: compilerVersion,
                           blasThreads: BLAS.threadCount)
    }

    /// The first `model name` in /proc/cpuinfo text.
    static func cpuModel(cpuinfo: String?) -> String {
        for line in (cpuinfo ?? "").split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingWhitespace }
        }
        return "unknown"
    }

    /// PRETTY_NAME from /etc/os-release with the kernel release, else Foundation's string.
    static func operatingSystemName() -> String {
        var system = utsname()
        uname(&system)
        let kernel = withUnsafeBytes(of: &system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        for line in release.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            let name = line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return "\(name), Linux \(kernel)"
        }
        return ProcessInfo.processInfo.operatingSystemVersionString
    }

    /// The compiler that built this binary, known at compile time (no subprocess needed).
    static var compilerVersion: String {
        #if compiler(>=6.4)
        return ">= 6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #elseif compiler(>=6.0)
        return "6.0"
        #else
        return "5.10"
        #endif
    }

    var jsonValue: JSONValue {
        .object(["hostname": .string(hostname), "cpu_model": .string(cpuModel), "cores": .int(cores),
                 "memory_bytes": .int(Int(clamping: memoryBytes)), "os": .string(operatingSystem),
                 "swift_compiler": .string(swiftCompiler), "blas_kernels": .string(blasKernels),
                 "blas_threads": .int(blasThreads), "matrix_product": .string(matrixProduct)])
    }
}
