import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation

/// Where A²ATS codebooks of one model live, and how they are made when missing:
/// `${A2ATS_EVAL_HOME}/codebooks/<first 16 hex of the model's sha256>/<configuration>.a2cb`,
/// each with its manifest. Calibration is resumable per layer (`<file>.layers/`), and a second
/// call reuses the saved file. Other methods' offline artifacts (`ArtifactRequest`) live in the
/// same directory as `<kind>-<settings>.a2oa`, built from the same calibration collection.
public final class CodebookStore: MethodResources {
    public let model: LanguageModel
    public let modelSHA256: String
    /// Calibration size (tokens, sequence length, iterations) used when a codebook is missing.
    public var options: CalibrationOptions
    private let log: (String) -> Void
    private var loaded: [String: CodebookSet] = [:]
    private var loadedArtifacts: [String: OfflineArtifact] = [:]

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
        codebookEntries + loadedArtifacts.keys.sorted().map { file in
            let artifact = loadedArtifacts[file]!
            return .object([
                "file": .string(file), "kind": .string(artifact.kind),
                "sha256": (try? SHA256.hexDigest(ofFile: file)).map(JSONValue.string) ?? .null,
                "settings": .object(JSONObject(artifact.settings.keys.sorted().map { ($0, .int(artifact.settings[$0]!)) })),
                "calibration": .object(artifact.metadata),
            ])
        }
    }

    private var codebookEntries: [JSONValue] {
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
        let (sequences, textChecksum) = try calibrationSequences(tokens: options.tokens)
        let sequenceCount = sequences.count, sequenceLength = sequences[0].count
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

    /// The calibration text as token sequences (about `tokens` in all) and a checksum of them.
    private func calibrationSequences(tokens: Int) throws -> (sequences: [[Int]], checksum: String) {
        let sequenceCount = max(1, tokens / options.sequenceLength)
        let sequenceLength = min(options.sequenceLength, model.config.maxPositions)
        let sequences = try CalibrationCorpus.sequences(count: sequenceCount, length: sequenceLength,
                                                        tokenizer: model.tokenizer, seed: options.seed)
        return (sequences, SHA256.hexDigest(of: Data(sequences.flatMap { $0 }.map { String($0) }.joined(separator: ",").utf8)))
    }

    public func artifactPath(for request: ArtifactRequest) -> String { directory + "/" + request.fileName }

    /// The saved artifact for `request`, checked against this model; when absent, one forward pass
    /// over `request.calibrationTokens` of calibration text collects post-RoPE queries and keys
    /// (the collector A²ATS's naive variant uses), `request.build` turns them into tensors, and the
    /// file and its manifest are written for later runs.
    public func artifact(_ request: ArtifactRequest) throws -> OfflineArtifact {
        let file = artifactPath(for: request)
        if let artifact = loadedArtifacts[file] { return artifact }
        var artifact = OfflineArtifact(kind: request.kind, modelFingerprint: String(modelSHA256.prefix(16)),
                                       shape: ArtifactShape(model.config), settings: request.settings, tensors: [:])
        if FileManager.default.fileExists(atPath: file) {
            artifact = try OfflineArtifactFile.read(from: file, expecting: artifact)
        } else {
            log("calibrating \(request.kind) (\(request.fileName)) for this model; saved to \(file) for later runs")
            let started = Date()
            let (sequences, textChecksum) = try calibrationSequences(tokens: request.calibrationTokens)
            let postRoPE = CodebookConfiguration(wrope: false, queryAware: false)
            let collected = try CalibrationCollector(model: model.model, queryStride: 4)
                .collect(sequences: sequences, for: [postRoPE]) { self.log("calibration: sequence \($0)/\(sequences.count)") }
            let samples = collected[CalibrationCollector.Variant(postRoPE)]!
            artifact.tensors = try request.build(artifact.shape) { samples[$0] }
            artifact.metadata = ["calibration_text": .string(CalibrationCorpus.description),
                                 "calibration_tokens_sha256": .string(textChecksum), "tokens": .int(sequences.count * sequences[0].count),
                                 "sequence_length": .int(sequences[0].count), "seed": .int(Int(options.seed)), "query_stride": .int(4),
                                 "model_sha256": .string(modelSHA256), "seconds": .double(Date().timeIntervalSince(started))]
            try OfflineArtifactFile.write(artifact, to: file)
        }
        loadedArtifacts[file] = artifact
        return artifact
    }

    private func expectation(_ configuration: CodebookConfiguration) -> CodebookExpectation {
        let config = model.config
        return CodebookExpectation(modelFingerprint: String(modelSHA256.prefix(16)), layerCount: config.layerCount,
                                   kvHeadCount: config.kvHeadCount, headDim: config.headDim, configuration: configuration)
    }
}
