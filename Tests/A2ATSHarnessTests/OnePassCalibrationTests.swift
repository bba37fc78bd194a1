import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation
@testable import A2ATSHarness
import XCTest

/// Every codebook set and artifact a run needs comes from ONE forward pass over the calibration
/// text (tiny random-weight model), and is the same file that a pass made for it alone writes.
final class OnePassCalibrationTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/tiny-llama-q4_1.gguf").standardizedFileURL.path
    private var homes: [String] = []

    override func tearDown() {
        unsetenv("A2ATS_EVAL_HOME")
        for home in homes { try? FileManager.default.removeItem(atPath: home) }
    }

    private func useNewHome() -> String {
        let home = NSTemporaryDirectory() + "a2ats-one-pass-\(UUID().uuidString)"
        homes.append(home)
        setenv("A2ATS_EVAL_HOME", home, 1)
        return home
    }

    private func store(_ model: LanguageModel, prefills: @escaping ([Int]) -> Void) throws -> CodebookStore {
        var options = CalibrationOptions()
        options.tokens = 512
        options.sequenceLength = 128
        options.maxIterations = 10
        let store = CodebookStore(model: model, modelSHA256: try SHA256.hexDigest(ofFile: fixture), options: options) { _ in }
        store.willPrefill = prefills
        return store
    }

    /// Reference: the same store asked one thing at a time (the run's path before this change),
    /// counted the same way. A²ATS, both ablations and InfiniGen's artifact (4,096 tokens, more
    /// than the codebooks' 512) together prefill each of the 32 calibration sequences once; one
    /// at a time they prefill 4 + 4 + 4 + 32. The files are byte-identical either way: the
    /// codebooks read a prefix of the longer collection.
    func testOneForwardPassServesAblationsAndArtifactsWithIdenticalFiles() throws {
        let model = try LanguageModel.load(path: fixture)
        let qa = CodebookConfiguration(centroids: 16, wrope: true, wropeOffset: 64, queryAware: true)
        var naive = qa, plain = qa
        naive.wrope = false
        plain.queryAware = false
        let request = InfiniGen.artifactRequest(partial: 0.25)

        _ = useNewHome()
        var together: [[Int]] = []
        let shared = try store(model) { together.append($0) }
        try shared.prepare(codebooks: [qa, naive, plain, qa], artifacts: [request])
        XCTAssertEqual(together.count, 32)
        XCTAssertEqual(Set(together).count, 32, "each sequence once")
        let files = [qa, naive, plain].map { shared.path(for: $0) } + [shared.artifactPath(for: request)]

        _ = useNewHome()
        var alone: [[Int]] = []
        let separate = try store(model) { alone.append($0) }
        for configuration in [qa, naive, plain] { _ = try separate.codebooks(configuration) }
        _ = try separate.artifact(request)
        XCTAssertEqual(alone.count, 4 + 4 + 4 + 32)
        XCTAssertEqual(Array(alone.prefix(4)), Array(together.prefix(4)), "codebooks read the first sequences")
        let separateFiles = [qa, naive, plain].map { separate.path(for: $0) } + [separate.artifactPath(for: request)]
        for (a, b) in zip(files, separateFiles) {
            XCTAssertNotEqual(a, b)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)),
                           (a as NSString).lastPathComponent)
        }

        // Saved now: asking again loads them without a forward pass.
        var again: [[Int]] = []
        let reloaded = try store(model) { again.append($0) }
        try reloaded.prepare(codebooks: [qa, naive, plain], artifacts: [request])
        XCTAssertTrue(again.isEmpty)
        XCTAssertEqual(reloaded.manifestEntries.count, 4)
    }

    /// Reference: the methods' own parameters (methods.md). A run's plan is surveyed for what its
    /// methods ask for — A²ATS's three codebook sets (also when composed with a store method),
    /// Double Sparsity's and InfiniGen's artifacts — and asks nothing for methods without offline data.
    func testSurveyFindsEveryCodebookAndArtifactOfAPlan() throws {
        let model = try LanguageModel.load(path: fixture)
        let specs = "a2ats:centroids=16,a2ats:centroids=16,wrope=false,a2ats:centroids=16,query_aware=false,"
            + "a2ats:centroids=16+kivi:bits=4,doublesparsity,infinigen:partial=0.25,snapkv,full"
        let runs = try MethodRun.plan(methods: try MethodSpec.parseList(specs), budgets: [.fraction(0.25)])
        let survey = ResourceSurvey.survey(runs, promptTokens: 100, model: model.config)
        XCTAssertEqual(survey.codebookConfigurations.map(\.fileName),
                       ["a2ats-c16-wrope2048-qa.a2cb", "a2ats-c16-postrope-qa.a2cb", "a2ats-c16-wrope2048-plain.a2cb",
                        "a2ats-c16-wrope2048-qa.a2cb"])
        XCTAssertEqual(survey.artifactRequests.map(\.fileName),
                       ["doublesparsity-tokens16384.a2oa", "infinigen-partial_permille250-tokens4096.a2oa"])
    }
}
