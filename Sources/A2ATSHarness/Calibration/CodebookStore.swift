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
    /// Sees each calibration sequence before it runs through the model (tests count forward passes).
    var willPrefill: (([Int]) -> Void)?

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
        try prepare(codebooks: [configuration])
        return loaded[path(for: configuration)]!
    }

    /// The saved artifact for `request`, checked against this model; when absent, one forward pass
    /// over `request.calibrationTokens` of calibration text collects post-RoPE queries and keys
    /// (the collector A²ATS's naive variant uses), `request.build` turns them into tensors, and the
    /// file and its manifest are written for later runs.
    public func artifact(_ request: ArtifactRequest) throws -> OfflineArtifact {
        try prepare(artifacts: [request])
        return loadedArtifacts[artifactPath(for: request)]!
    }

    /// Loads every saved codebook set and artifact asked for and makes the missing ones together,
    /// from ONE forward pass over the calibration text: a run of `a2ats` with both ablations and
    /// `doublesparsity` runs the text through the model once, not four times.
    public func prepare(codebooks configurations: [CodebookConfiguration] = [], artifacts requests: [ArtifactRequest] = []) throws {
        var missing: [CodebookConfiguration] = []
        for configuration in configurations where loaded[path(for: configuration)] == nil && !missing.contains(configuration) {
            let file = path(for: configuration)
            let saved = FileManager.default.fileExists(atPath: file)
                ? try CodebookFile.read(from: file, expecting: expectation(configuration)) : nil
            if let saved, saved.metadata["calibration_text"]?.stringValue == CalibrationCorpus.description {
                loaded[file] = saved
            } else if saved != nil {
                log("the codebooks in \(file) were fitted on another calibration text; recalibrating on \(CalibrationCorpus.description)")
                missing.append(configuration)
            } else {
                log("calibrating A²ATS codebooks (\(configuration.fileName)) for this model; saved to \(file) for later runs")
                missing.append(configuration)
            }
        }
        var missingArtifacts: [ArtifactRequest] = []
        for request in requests where loadedArtifacts[artifactPath(for: request)] == nil
                                      && !missingArtifacts.contains(where: { $0.fileName == request.fileName }) {
            let file = artifactPath(for: request)
            if FileManager.default.fileExists(atPath: file) {
                loadedArtifacts[file] = try OfflineArtifactFile.read(from: file, expecting: emptyArtifact(request))
            } else {
                log("calibrating \(request.kind) (\(request.fileName)) for this model; saved to \(file) for later runs")
                missingArtifacts.append(request)
            }
        }
        try make(missing, artifacts: missingArtifacts)
    }

    /// Runs the calibration for `configuration` and writes the codebook file and its manifest.
    @discardableResult
    public func calibrate(_ configuration: CodebookConfiguration) throws -> CodebookSet {
        try calibrate([configuration])[0]
    }

    /// Calibrates several configurations (e.g. A²ATS and its ablations) from one forward pass
    /// over the calibration text, saved or not; writes each codebook file and its manifest.
    @discardableResult
    public func calibrate(_ configurations: [CodebookConfiguration]) throws -> [CodebookSet] {
        try make(configurations, artifacts: [])
        return configurations.map { loaded[path(for: $0)]! }
    }

    /// One forward pass over as many calibration sequences as the largest request needs (each
    /// variant collected over its own prefix), then k-means per configuration and layer and each
    /// artifact's builder; every file and manifest is written as it is finished.
    private func make(_ configurations: [CodebookConfiguration], artifacts requests: [ArtifactRequest]) throws {
        guard !configurations.isEmpty || !requests.isEmpty else { return }
        typealias Variant = CalibrationCollector.Variant
        let config = model.config
        let codebookSequences = sequenceCount(tokens: options.tokens)
        var counts: [Variant: Int] = [:]
        for configuration in configurations { counts[Variant(configuration)] = codebookSequences }
        for request in requests { counts[.postRoPE] = max(counts[.postRoPE] ?? 0, sequenceCount(tokens: request.calibrationTokens)) }
        let sequences = try CalibrationCorpus.sequences(count: counts.values.max()!, length: min(options.sequenceLength, config.maxPositions),
                                                        tokenizer: model.tokenizer, seed: options.seed)
        let length = sequences[0].count
        let users = [configurations.count, requests.count].enumerated().filter { $0.element > 0 }
            .map { $0.offset == 0 ? "\($0.element) codebook set\($0.element == 1 ? "" : "s")" : "\($0.element) artifact\($0.element == 1 ? "" : "s")" }
        log("calibration: running \(sequences.count) × \(length) tokens through the model once for " + users.joined(separator: " and "))
        let forwardStarted = Date()
        let forward = ProgressReporter(total: sequences.count, unit: "sequences", interval: 0, showsElapsed: true, output: log)
        var collector = CalibrationCollector(model: model.model, queryStride: 4)
        collector.willPrefill = willPrefill
        let collection = try collector.collect(sequences: sequences, sequenceCounts: counts) {
            forward.advance(context: ["calibration forward pass, sequence \($0)/\(sequences.count)"])
        }
        let forwardSeconds = Date().timeIntervalSince(forwardStarted)

        for request in requests {
            let started = Date(), n = sequenceCount(tokens: request.calibrationTokens)
            var artifact = emptyArtifact(request)
            artifact.tensors = try request.build(artifact.shape) { collection.samples(.postRoPE, layer: $0, sequences: n) }
            artifact.metadata = ["calibration_text": .string(CalibrationCorpus.description),
                                 "calibration_tokens_sha256": .string(Self.checksum(sequences.prefix(n))), "tokens": .int(n * length),
                                 "sequence_length": .int(length), "seed": .int(Int(options.seed)), "query_stride": .int(4),
                                 "model_sha256": .string(modelSHA256), "seconds": .double(Date().timeIntervalSince(started)),
                                 "forward_pass_seconds": .double(forwardSeconds)]
            let file = artifactPath(for: request)
            try OfflineArtifactFile.write(artifact, to: file)
            loadedArtifacts[file] = artifact
        }
        if !configurations.contains(where: { Variant($0) == .postRoPE }) { collection.release(.postRoPE) }

        // Grouped by variant, so each variant's samples are freed once its last configuration is done.
        let ordered = configurations.enumerated().sorted { (Variant($0.element).wrope ? 0 : 1, $0.offset) < (Variant($1.element).wrope ? 0 : 1, $1.offset) }
            .map(\.element)
        let kmeans = ProgressReporter(total: ordered.count * config.layerCount, unit: "layers", interval: 0, showsElapsed: true,
                                      output: log)
        for (index, configuration) in ordered.enumerated() {
            var options = self.options
            options.configuration = configuration
            let file = path(for: configuration), started = Date()
            let calibrator = Calibrator(options: options, modelFingerprint: String(modelSHA256.prefix(16)),
                                        layerCount: config.layerCount, kvHeadCount: config.kvHeadCount, headDim: config.headDim)
            let set = try calibrator.run(workDirectory: file + ".layers", samples: { layer in
                collection.samples(Variant(configuration), layer: layer, sequences: codebookSequences)
            }, progress: { event in
                switch event {
                case .layerReused: kmeans.skip()
                case .layerFinished(let layer, _):
                    kmeans.advance(context: ["k-means \(configuration.fileName) layer \(layer + 1)/\(config.layerCount)"])
                case .iteration: break
                }
            })
            let seconds = Date().timeIntervalSince(started)
            log(String(format: "calibration: %@: forward pass %.0f s (shared by %d), k-means %.0f s (%.1f s per layer)",
                       configuration.fileName, forwardSeconds, configurations.count + requests.count, seconds,
                       seconds / Double(config.layerCount)))
            set.metadata["calibration_text"] = .string(CalibrationCorpus.description)
            set.metadata["calibration_tokens_sha256"] = .string(Self.checksum(sequences.prefix(codebookSequences)))
            set.metadata["model_sha256"] = .string(modelSHA256)
            set.metadata["seconds"] = .double(seconds)
            set.metadata["forward_pass_seconds"] = .double(forwardSeconds)
            try CodebookFile.write(set, to: file)
            try? FileManager.default.removeItem(atPath: file + ".layers")
            loaded[file] = set
            if !ordered[(index + 1)...].contains(where: { Variant($0) == Variant(configuration) }) { collection.release(Variant(configuration)) }
        }
    }

    /// Calibration sequences for about `tokens` tokens; fewer tokens read a prefix of the same sequences.
    private func sequenceCount(tokens: Int) -> Int { max(1, tokens / options.sequenceLength) }

    /// The calibration text's identity in manifests: sha256 of the token ids, comma-separated.
    private static func checksum(_ sequences: ArraySlice<[Int]>) -> String {
        SHA256.hexDigest(of: Data(sequences.flatMap { $0 }.map { String($0) }.joined(separator: ",").utf8))
    }

    public func artifactPath(for request: ArtifactRequest) -> String { directory + "/" + request.fileName }

    private func emptyArtifact(_ request: ArtifactRequest) -> OfflineArtifact {
        OfflineArtifact(kind: request.kind, modelFingerprint: String(modelSHA256.prefix(16)), shape: ArtifactShape(model.config),
                        settings: request.settings, tensors: [:])
    }

    private func expectation(_ configuration: CodebookConfiguration) -> CodebookExpectation {
        let config = model.config
        return CodebookExpectation(modelFingerprint: String(modelSHA256.prefix(16)), layerCount: config.layerCount,
                                   kvHeadCount: config.kvHeadCount, headDim: config.headDim, configuration: configuration)
    }
}
