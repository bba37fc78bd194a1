import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation
@testable import A2ATSHarness
import XCTest

/// Calibration of a real (tiny, random-weight) model end to end, the codebook cache, and the
/// fidelity probe's metrics against values worked out from their definitions.
final class CalibrationAndFidelityTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/tiny-llama-q4_1.gguf").standardizedFileURL.path
    private var home = ""

    override func setUpWithError() throws {
        home = NSTemporaryDirectory() + "a2ats-calibration-\(UUID().uuidString)"
        setenv("A2ATS_EVAL_HOME", home, 1)
    }

    override func tearDown() {
        unsetenv("A2ATS_EVAL_HOME")
        try? FileManager.default.removeItem(atPath: home)
    }

    private func smallOptions(_ configuration: CodebookConfiguration) -> CalibrationOptions {
        var options = CalibrationOptions(configuration: configuration)
        options.tokens = 512
        options.sequenceLength = 128
        options.maxIterations = 10
        return options
    }

    /// The codebooks `a2ats:centroids=16,b=64` reads, fitted on the small calibration, in `home`.
    private func calibratedRunCodebooks() throws -> (model: LanguageModel, configuration: CodebookConfiguration, file: String) {
        let model = try LanguageModel.load(path: fixture)
        let configuration = CodebookConfiguration(centroids: 16, wrope: true, wropeOffset: 64, queryAware: true)
        let store = CodebookStore(model: model, modelSHA256: try SHA256.hexDigest(ofFile: fixture),
                                  options: smallOptions(configuration)) { _ in }
        try store.calibrate(configuration)
        return (model, configuration, store.path(for: configuration))
    }

    func testCalibrationWritesCodebooksThatTheNextStoreReuses() throws {
        let model = try LanguageModel.load(path: fixture)
        let configuration = CodebookConfiguration(centroids: 16, wrope: true, wropeOffset: 64, queryAware: true)
        var messages: [String] = []
        let store = CodebookStore(model: model, modelSHA256: try SHA256.hexDigest(ofFile: fixture),
                                  options: smallOptions(configuration)) { messages.append($0) }
        let set = try store.codebooks(configuration)
        XCTAssertEqual(set.layerCount, model.config.layerCount)
        XCTAssertEqual(set.kvHeadCount, model.config.kvHeadCount)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.path(for: configuration)))
        XCTAssertTrue(store.path(for: configuration).hasPrefix(home + "/codebooks/"))
        XCTAssertTrue(messages.contains { $0.hasPrefix("calibrating") })

        messages.removeAll()
        let again = CodebookStore(model: model, modelSHA256: try SHA256.hexDigest(ofFile: fixture),
                                  options: smallOptions(configuration)) { messages.append($0) }
        let reloaded = try again.codebooks(configuration)
        XCTAssertFalse(messages.contains { $0.hasPrefix("calibrating") }, "a second store must reuse the saved file")
        XCTAssertEqual(reloaded.codebook(layer: 1, kvHead: 1).centroids, set.codebook(layer: 1, kvHead: 1).centroids)
    }

    /// Other methods' offline artifacts go through the same store: calibrated once from the
    /// post-RoPE collection into `<codebooks dir>/<kind>-<settings>.a2oa`, then reloaded as they were.
    func testOfflineArtifactIsCalibratedOnceThenReloaded() throws {
        let model = try LanguageModel.load(path: fixture)
        let sha = try SHA256.hexDigest(ofFile: fixture), options = smallOptions(CodebookConfiguration())
        var messages: [String] = []
        let store = CodebookStore(model: model, modelSHA256: sha, options: options) { messages.append($0) }
        let request = InfiniGen.artifactRequest(partial: 0.25)
        let artifact = try store.artifact(request)
        let c = model.config
        XCTAssertEqual(artifact.tensors["skew"]?.count, c.layerCount * c.headCount * c.headDim * c.headDim)
        XCTAssertEqual(store.artifactPath(for: request), home + "/codebooks/" + String(sha.prefix(16)) + "/" + request.fileName)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.artifactPath(for: request)))
        XCTAssertTrue(messages.contains { $0.hasPrefix("calibrating infinigen") })

        messages.removeAll()
        let again = CodebookStore(model: model, modelSHA256: sha, options: options) { messages.append($0) }
        XCTAssertEqual(try again.artifact(request), artifact)
        XCTAssertFalse(messages.contains { $0.hasPrefix("calibrating") }, "a second store must reuse the saved file")
        XCTAssertEqual(again.manifestEntries.count, 1)
        _ = try MethodRegistry.make(MethodSpec.parse("infinigen:partial=0.25"), budgetTokens: 8, model: c, resources: again)
    }

    /// A²ATS with a budget covering every ranked token reads everything, so it must decode
    /// exactly as full attention does.
    func testA2ATSAtFullBudgetDecodesAsFullAttention() throws {
        let model = try LanguageModel.load(path: fixture)
        let configuration = CodebookConfiguration(centroids: 16, wrope: true, wropeOffset: 64, queryAware: true)
        let store = CodebookStore(model: model, modelSHA256: try SHA256.hexDigest(ofFile: fixture),
                                  options: smallOptions(configuration)) { _ in }
        let tokens = model.tokenizer.encodeForModel("the quick brown fox jumps over the lazy dog, again and again")
        let prefill = try model.model.prefill(tokens, extraCapacity: 12)
        let full = try model.model.generate(from: prefill, method: nil, maxNewTokens: 12, stopTokens: [])
        let method = try MethodRegistry.descriptor(named: "a2ats").instantiate(
            parameters: ["centroids": "16", "b": "64"], budgetTokens: 10_000, model: model.config, resources: store)
        let sparse = try model.model.generate(from: prefill, method: method, maxNewTokens: 12, stopTokens: [])
        XCTAssertEqual(sparse.tokens, full.tokens)
    }

    /// The oracle reads the exact top-k, so its recall is 1 by definition; `full` reads every
    /// token, so its attention mass is 1 and its output error 0.
    func testFidelityProbeOnOracleAndFull() throws {
        let model = try LanguageModel.load(path: fixture)
        let c = model.config
        let tokens = model.tokenizer.encodeForModel("one two three four five six seven eight nine ten eleven twelve")
        let oracle = try MethodRegistry.descriptor(named: "oracle").instantiate(parameters: [:], budgetTokens: 5, model: c)
        let full = try MethodRegistry.descriptor(named: "full").instantiate(parameters: [:], budgetTokens: nil, model: c)
        let probe = FidelityProbe(probes: [.init(label: "oracle@5", method: oracle, k: 5),
                                           .init(label: "full", method: full, k: tokens.count)], config: c)
        let prefill = try model.model.prefill(tokens, extraCapacity: 4)
        _ = try model.model.generate(from: prefill, method: probe, maxNewTokens: 4, stopTokens: [])
        for layer in 0..<c.layerCount {
            for head in 0..<c.headCount {
                let oracleSums = probe.sums[0][layer][head], fullSums = probe.sums[1][layer][head]
                XCTAssertEqual(oracleSums.steps, 3)
                XCTAssertEqual(oracleSums.recall / Double(oracleSums.steps), 1, accuracy: 1e-12)
                XCTAssertEqual(fullSums.mass / Double(fullSums.steps), 1, accuracy: 1e-9)
                XCTAssertEqual(fullSums.outputError, 0, accuracy: 1e-9)
            }
        }
    }

    /// A fidelity directory gets a manifest like a run's, naming the codebooks A²ATS read by file
    /// sha256 and calibration settings; codebooks fitted on another calibration text are refitted.
    func testFidelityManifestNamesTheCodebooks() throws {
        let (model, configuration, file) = try calibratedRunCodebooks()

        let out = home + "/fidelity"
        var run = try RunnerFixture.configuration(out: out, methods: "a2ats:centroids=16,b=64", budgets: "0.5")
        run.samples = 1
        try FidelityRunner(configuration: run, steps: 2, log: { _ in }).run()
        let manifest = try JSONValue.parse(String(contentsOfFile: out + "/manifest.json", encoding: .utf8))
        XCTAssertEqual(manifest["build"]?["id"]?.stringValue, BuildState.current.id)
        let entry = try XCTUnwrap(manifest["codebooks"]?.arrayValue?.first)
        XCTAssertEqual(entry["file"]?.stringValue, file)
        XCTAssertEqual(entry["sha256"]?.stringValue, try SHA256.hexDigest(ofFile: file))
        XCTAssertEqual(entry["configuration"]?["centroids"], 16)
        XCTAssertEqual(entry["calibration"]?["calibration_text"]?.stringValue, CalibrationCorpus.description)
        XCTAssertEqual(entry["calibration"]?["tokens"], 512)

        // A codebook of the same configuration fitted on another text is not reused.
        let set = try CodebookFile.read(from: file)
        set.metadata["calibration_text"] = "RULER essay haystack (Data/essay.txt) mixed with random UUIDs, tokenized"
        try CodebookFile.write(set, to: file)
        var messages: [String] = []
        let fresh = CodebookStore(model: model, modelSHA256: try SHA256.hexDigest(ofFile: fixture),
                                  options: smallOptions(configuration)) { messages.append($0) }
        _ = try fresh.codebooks(configuration)
        XCTAssertTrue(messages.contains { $0.contains("fitted on another calibration text") }, "\(messages)")
    }

    /// A resumed run refuses to read a codebook file other than the one its rows were written with
    /// (reference: the sha256 the first round's manifest recorded, against the file's own);
    /// `--allow-mixed-builds` lets it go on.
    func testResumeRefusesRecalibratedCodebooks() throws {
        let file = try calibratedRunCodebooks().file
        let out = home + "/resumed"
        var first = try RunnerFixture.configuration(out: out, methods: "a2ats:centroids=16,b=64", budgets: "0.5")
        first.samples = 1
        try RunnerFixture.run(first)
        // Resuming with the file unchanged goes on.
        var resumed = try RunnerFixture.configuration(out: out, methods: "a2ats:centroids=16,b=64", budgets: "0.5", resume: true)
        resumed.samples = 1
        try RunnerFixture.run(resumed)

        // The same configuration fitted again: one centroid moved, under the same name.
        let set = try CodebookFile.read(from: file)
        let moved = set.codebooks.map { layer in
            layer.map { book in
                var centroids = book.centroids
                centroids[0] += 1e-3
                return Codebook(centroids: centroids, cholesky: book.cholesky, centroidCount: book.centroidCount,
                                headDim: book.headDim)
            }
        }
        try CodebookFile.write(CodebookSet(modelFingerprint: set.modelFingerprint, configuration: set.configuration,
                                           headDim: set.headDim, codebooks: moved, statistics: set.statistics,
                                           metadata: set.metadata), to: file)
        resumed.samples = 2
        XCTAssertThrowsError(try RunnerFixture.run(resumed)) { error in
            guard case let RunError.codebooksChanged(_, name, recorded, current) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, (file as NSString).lastPathComponent)
            XCTAssertNotEqual(recorded, current)
            XCTAssertEqual(current, try? SHA256.hexDigest(ofFile: file))
        }
        // One sample's rows: a2ats and its matched oracle.
        XCTAssertEqual(try RunnerFixture.rows(out + "/results.jsonl").count, 2, "a refused resume writes no row")
        resumed.allowMixedBuilds = true
        try RunnerFixture.run(resumed)
        XCTAssertEqual(try RunnerFixture.rows(out + "/results.jsonl").count, 4)
    }
}
