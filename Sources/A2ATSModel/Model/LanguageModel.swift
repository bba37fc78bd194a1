import Foundation

/// A model ready to evaluate: the forward pass, its own tokenizer, and where it came from.
public final class LanguageModel {
    /// Absolute path of the model file or directory the user named.
    public let location: String
    /// The weights file actually read.
    public let weightsFile: String
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public var config: ModelConfig { model.config }

    init(location: String, weightsFile: String, model: LlamaModel, tokenizer: BPETokenizer) {
        self.location = location
        self.weightsFile = weightsFile
        self.model = model
        self.tokenizer = tokenizer
    }

    /// The registry's default model (SmolLM2-135M-Instruct, Q4_1 GGUF) where `scripts/setup`
    /// installs it: `${A2ATS_EVAL_HOME:-$HOME/.cache/a2ats-eval}/models/`.
    public static var defaultModelPath: String {
        ModelRegistry.builtIn.defaultModel.installedPath(cacheHome: cacheHome)
    }

    /// `${A2ATS_EVAL_HOME:-$HOME/.cache/a2ats-eval}`: models, codebooks.
    public static var cacheHome: String {
        ProcessInfo.processInfo.environment["A2ATS_EVAL_HOME"] ?? (NSHomeDirectory() + "/.cache/a2ats-eval")
    }

    /// Loads a GGUF file, a Hugging Face checkpoint directory (`config.json` + safetensors, its
    /// tokenizer from `checkpointTokenizer`), the single GGUF inside a directory, or a known model
    /// by name (`configs/models.json`, installed by `scripts/setup --model NAME`).
    public static func load(path: String, checkpointTokenizer: CheckpointTokenizerLoader = CheckpointTokenizer.load)
        throws -> LanguageModel {
        let (location, weights) = try resolve(path)
        switch weights {
        case .gguf(let file):
            let source = try GGUFModelSource(path: file)
            return LanguageModel(location: location, weightsFile: file, model: try LlamaModel(source: source),
                                 tokenizer: try BPETokenizer(gguf: source.tokenizerFields))
        case .checkpoint(let directory):
            let source = try CheckpointModelSource(directory: directory)
            let tokenizer = try checkpointTokenizer(directory, source.checkpoint)
            return LanguageModel(location: location, weightsFile: source.weightsFile, model: try LlamaModel(source: source),
                                 tokenizer: tokenizer)
        }
    }

    /// Only the model's tokenizer (no weights are read or checked): enough to generate tasks at
    /// lengths beyond what the model can run.
    public static func loadTokenizer(path: String, checkpointTokenizer: CheckpointTokenizerLoader = CheckpointTokenizer.load)
        throws -> BPETokenizer {
        switch try resolve(path).weights {
        case .gguf(let file): return try BPETokenizer(gguf: GGUFTokenizerFields(file: GGUFFile(path: file)))
        case .checkpoint(let directory): return try checkpointTokenizer(directory, CheckpointConfig(directory: directory))
        }
    }

    /// What a `--model` path holds.
    enum Weights { case gguf(String), checkpoint(String) }

    /// The absolute location the user named and the weights in it. An existing path wins over a
    /// model name of the same spelling, as a local directory does in other tools; a directory with
    /// a `config.json` is a Hugging Face checkpoint.
    private static func resolve(_ path: String) throws -> (location: String, weights: Weights) {
        let location = URL(fileURLWithPath: path).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory) else {
            if let installed = try ModelRegistry.builtIn.installedFile(named: path, cacheHome: cacheHome) {
                return (installed, .gguf(installed))
            }
            if location == defaultModelPath {
                throw ModelLoadError.fileNotFound(path: location + " (the default model; run ./scripts/setup to fetch it)")
            }
            throw ModelLoadError.fileNotFound(path: location)
        }
        guard isDirectory.boolValue else { return (location, .gguf(location)) }
        if FileManager.default.fileExists(atPath: location + "/config.json") { return (location, .checkpoint(location)) }
        let ggufs = ((try? FileManager.default.contentsOfDirectory(atPath: location)) ?? [])
            .filter { $0.hasSuffix(".gguf") }.sorted()
        guard ggufs.count == 1 else {
            throw ModelLoadError.malformed(path: location, problem: ggufs.isEmpty
                ? "directory holds no .gguf file and no config.json (a Hugging Face checkpoint)"
                : "directory holds several .gguf files (\(ggufs.joined(separator: ", "))); name one")
        }
        return (location, .gguf(location + "/" + ggufs[0]))
    }
}
