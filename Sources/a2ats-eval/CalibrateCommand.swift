import A2ATSHarness
import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation

/// `calibrate`: builds A²ATS codebooks for a model once; runs reuse them.
enum CalibrateCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval calibrate",
        abstract: "Fit A²ATS codebooks (query-aware k-means on WRoPE keys) for a model and save them in the cache.",
        usage: "[--model PATH] [--tokens 65536] [--centroids 512]",
        options: [
            CommonOptions.model,
            OptionSpec("tokens", valueName: "n", help: "calibration tokens (the paper: 200000)", defaultValue: "65536"),
            OptionSpec("sequence-length", valueName: "n", help: "tokens per calibration sequence", defaultValue: "4096"),
            OptionSpec("centroids", valueName: "n", help: "codebook entries C (the paper: 4096)", defaultValue: "512"),
            OptionSpec("iterations", valueName: "n", help: "most Lloyd iterations (the paper: 300); stops earlier when the objective changes < 1e-4",
                       defaultValue: "50"),
            OptionSpec("wrope", valueName: "true|false", help: "codes of pre-RoPE keys for windowed RoPE (false: post-RoPE keys, the naive way)",
                       defaultValue: "true"),
            OptionSpec("query-aware", valueName: "true|false", help: "weight k-means by the query covariance H (false: plain k-means)",
                       defaultValue: "true"),
            OptionSpec("b", valueName: "n", help: "WRoPE relative position b", defaultValue: "2048"),
            OptionSpec("force", kind: .flag, help: "calibrate again even if the codebook file exists"),
            OptionSpec("ablations", kind: .flag,
                       help: "also calibrate the two ablations (wrope=false, query-aware=false) from the same forward pass"),
        ])

    static func execute(_ arguments: ParsedArguments) throws {
        func positive(_ name: String) throws -> Int {
            guard let value = try arguments.intValue(name), value > 0 else { throw UsageError("--\(name) must be a positive integer") }
            return value
        }
        func bool(_ name: String) throws -> Bool {
            switch arguments.value(name)! {
            case "true": return true
            case "false": return false
            default: throw UsageError("--\(name) takes true or false")
            }
        }
        let configuration = CodebookConfiguration(centroids: try positive("centroids"), wrope: try bool("wrope"),
                                                  wropeOffset: try positive("b"), queryAware: try bool("query-aware"))
        var options = CalibrationOptions(configuration: configuration)
        options.tokens = try positive("tokens")
        options.sequenceLength = try positive("sequence-length")
        options.maxIterations = try positive("iterations")
        let loaded = try LanguageModel.load(path: arguments.value("model") ?? LanguageModel.defaultModelPath)
        let store = CodebookStore(model: loaded, modelSHA256: try SHA256.hexDigest(ofFile: loaded.weightsFile), options: options,
                                  log: ProgressReporter.standardError)
        var configurations = [configuration]
        if arguments.flag("ablations") {
            var naive = configuration, plain = configuration
            naive.wrope = false
            plain.queryAware = false
            configurations += [naive, plain]
        }
        // Saved sets fitted on this text are reused; the others share one forward pass.
        if arguments.flag("force") { try store.calibrate(configurations) } else { try store.prepare(codebooks: configurations) }
        for configuration in configurations {
            let file = store.path(for: configuration)
            print("codebooks: \(file)")
            print("manifest:  \(CodebookFile.manifestPath(for: file))")
        }
    }
}
