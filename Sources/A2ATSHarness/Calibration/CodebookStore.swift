import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation

/// Where A²ATS codebooks of one model live, and how they are made when missing:
/// `${A2ATS_EVAL_HOME}/codebooks/<first 16 hex of the model's sha256>/<configuration>.a2cb`,
/// each with its manifest. Calibration is resumable per layer (`<file>.layers/`), and a second
/// call reuses the saved file.
public final class CodebookStore: MethodResources {
    public let model: LanguageModel
    public let modelSHA256: String
    /// Calibration size (tokens, sequence length, iterations) used when a codebook is missing.
    public var options: CalibrationOptions
    private let log: (String) -> Void
    private var loaded: [String: CodebookSet] = [:]

    public init(model: LanguageModel, modelSHA256: String, options: CalibrationOptions = CalibrationOptions(),
                log: @escaping (String) -> Void) {
        self.model = model
        self.modelSHA256 = modelSHA256
        self.options = options
        self.log = log
    }

    public var directory: String {
        LanguageModel.cacheHome + "/codebooks/" + String(modelSHA256.prefix(16))
    }

    /// Every codebook file this store handed out: its sha256, configuration and calibration facts
    /// (text, tokens, iterations, seeds), for the manifest of the run that used it.
    public var manifestEntries: [JSONValue] {
        loaded.keys.sorted().map { file in
            let set = loaded[file]!
            let c = set.configuration
            return .object([
                "file": .string(file),
                "sha256": (try? SHA256.hexDigest(ofFile: file)).map(JSONValue.string) ?? .null,
                "configuration": .object(["centroids": .int(c.centroids), "wrope": .bool(c.wrope), "b": .int(c.wropeOffset),
                                          "query_aware": .bool(c.queryAware)]),
                "calibration": .object(set.metadata),
            ])
        }
    }

    public func path(for configuration: CodebookConfiguration) -> String {
        directory + "/" + configuration.fileName
    }

    public func codebooks(_ configuration: CodebookConfiguration) throws -> CodebookSet {
        let file = path(for: configuration)
        if let set = loaded[file] { return set }
        let set: CodebookSet
        let saved = FileManager.default.fileExists(atPath: file)
            ? try CodebookFile.read(from: file, expecting: expectation(configuration)) : nil
        if let saved, saved.metadata["calibration_text"]?.stringValue == CalibrationCorpus.description {
            set = saved
        } else if saved != nil {
            log("the codebooks in \(file) were fitted on another calibration text; recalibrating on \(CalibrationCorpus.description)")
            set = try calibrate(configuration)
        } else {
            log("calibrating A²ATS codebooks (\(configuration.fileName)) for this model; saved to \(file) for later runs")
            set = try calibrate(configuration)
        }
        loaded[file] = set
        return set
    }

    /// Runs the calibration for `configuration` and writes the codebook file and its manifest.
    @discardableResult
    public func calibrate(_ configuration: CodebookConfiguration) throws -> CodebookSet {
        try calibrate([configuration])[0]
    }

    /// Calibrates several configurations (e.g. A²ATS and its ablations) from one forward pass
    /// over the calibration text; writes each codebook file and its manifest.
    @discardableResult
    public func calibrate(_ configurations: [CodebookConfiguration]) throws -> [CodebookSet] {
        let config = model.config
        let sequenceCount = max(1, options.tokens / options.sequenceLength)
        let sequenceLength = min(options.sequenceLength, config.maxPositions)
        let sequences = try CalibrationCorpus.sequences(count: sequenceCount, length: sequenceLength,
                                                        tokenizer: model.tokenizer, seed: options.seed)
        let textChecksum = SHA256.hexDigest(of: Data(sequences.flatMap { $0 }.map { String($0) }.joined(separator: ",").utf8))
        var collected: [CalibrationCollector.Variant: [[CalibrationSamples]]]?
        return try configurations.map { configuration in
            var options = self.options
            options.configuration = configuration
            let file = path(for: configuration)
            let started = Date()
            let calibrator = Calibrator(options: options, modelFingerprint: String(modelSHA256.prefix(16)),
                                        layerCount: config.layerCount, kvHeadCount: config.kvHeadCount, headDim: config.headDim)
            let set = try calibrator.run(workDirectory: file + ".layers", samples: { [self] layer in
                if collected == nil {
                    log("calibration: running \(sequenceCount) × \(sequenceLength) tokens through the model")
                    collected = try CalibrationCollector(model: model.model, queryStride: 4)
                        .collect(sequences: sequences, for: configurations) { self.log("calibration: sequence \($0)/\(sequenceCount)") }
                }
                return collected![CalibrationCollector.Variant(configuration)]![layer]
            }, progress: { [self] event in
                switch event {
                case .layerReused(let layer): log("calibration: \(configuration.fileName) layer \(layer) reused from an earlier run")
                case .layerFinished(let layer, let seconds):
                    log(String(format: "calibration: %@ layer %d/%d done in %.1f s", configuration.fileName, layer + 1,
                               config.layerCount, seconds))
                case .iteration: break
                }
            })
            set.metadata["calibration_text"] = .string(CalibrationCorpus.description)
            set.metadata["calibration_tokens_sha256"] = .string(textChecksum)
            set.metadata["model_sha256"] = .string(modelSHA256)
            set.metadata["seconds"] = .double(Date().timeIntervalSince(started))
            try CodebookFile.write(set, to: file)
            try? FileManager.default.removeItem(atPath: file + ".layers")
            loaded[file] = set
            return set
        }
    }

    private func expectation(_ configuration: CodebookConfiguration) -> CodebookExpectation {
        let config = model.config
        return CodebookExpectation(modelFingerprint: String(modelSHA256.prefix(16)), layerCount: config.layerCount,
                                   kvHeadCount: config.kvHeadCount, headDim: config.headDim, configuration: configuration)
    }
}
