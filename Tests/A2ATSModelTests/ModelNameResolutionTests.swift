import Foundation
import XCTest
@testable import A2ATSModel

/// `--model NAME`: a known name resolves to its installed file in the model cache, a known name
/// not installed (or installed at the wrong size) says which `scripts/setup` command installs it,
/// and an unknown name lists the known names with a did-you-mean. Compared with the contract's
/// wording of `--model` and the registry entries written out in the test.
final class ModelNameResolutionTests: XCTestCase {
    private var cacheHome = ""
    private let registry = try! ModelRegistry(
        text: ModelRegistryTests.registryText([ModelRegistryTests.entry(name: "tiny-model"),
                                               ModelRegistryTests.entry(name: "qwen2.5-coder-0.5b")], default: "tiny-model"),
        file: "reg.json")

    override func setUpWithError() throws {
        cacheHome = NSTemporaryDirectory() + "a2ats-resolve-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: cacheHome + "/models", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: cacheHome)
    }

    private func install(_ name: String, bytes: Int) throws -> String {
        let path = cacheHome + "/models/\(name).gguf"
        try Data(repeating: 7, count: bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testInstalledKnownNameResolvesToTheCachedFile() throws {
        let path = try install("qwen2.5-coder-0.5b", bytes: 30)
        XCTAssertEqual(try registry.installedFile(named: "qwen2.5-coder-0.5b", cacheHome: cacheHome), path)
    }

    func testKnownNameNotInstalledSaysWhatToRun() {
        XCTAssertThrowsError(try registry.installedFile(named: "qwen2.5-coder-0.5b", cacheHome: cacheHome)) { error in
            let path = cacheHome + "/models/qwen2.5-coder-0.5b.gguf"
            XCTAssertEqual(error as? ModelRegistryError, .notInstalled(name: "qwen2.5-coder-0.5b", path: path))
            XCTAssertTrue("\(error)".contains("run scripts/setup --model qwen2.5-coder-0.5b"), "\(error)")
        }
    }

    /// A copy cut short (or another file under the name) is caught by its size before the GGUF
    /// parser reads a lying header.
    func testInstalledFileOfTheWrongSizeIsRefused() throws {
        let path = try install("tiny-model", bytes: 29)
        XCTAssertThrowsError(try registry.installedFile(named: "tiny-model", cacheHome: cacheHome)) { error in
            XCTAssertEqual(error as? ModelRegistryError, .installedSizeMismatch(name: "tiny-model", path: path, size: 29, expected: 30))
        }
    }

    func testUnknownNameListsKnownNamesWithSuggestion() {
        for (typed, suggestion) in [("qwen2.5-coder", "qwen2.5-coder-0.5b"), ("tiny-modle", "tiny-model"), ("Qwen2.5-Coder-0.5B", "qwen2.5-coder-0.5b")] {
            XCTAssertThrowsError(try registry.installedFile(named: typed, cacheHome: cacheHome)) { error in
                XCTAssertEqual(error as? ModelRegistryError,
                               .unknownModel(name: typed, known: ["tiny-model", "qwen2.5-coder-0.5b"], suggestions: [suggestion]))
                XCTAssertTrue("\(error)".contains("known: tiny-model, qwen2.5-coder-0.5b"), "\(error)")
                XCTAssertTrue("\(error)".contains("did you mean \(suggestion)?"), "\(error)")
            }
        }
        XCTAssertThrowsError(try registry.installedFile(named: "llama-70b", cacheHome: cacheHome)) { error in
            guard case .unknownModel(_, _, let suggestions)? = error as? ModelRegistryError else { return XCTFail("\(error)") }
            XCTAssertEqual(suggestions, [])
        }
    }

    /// Spelled as a path, a missing argument is a missing file, not an unknown model name.
    func testPathSpellingsAreLeftToTheFileCheck() throws {
        for path in ["./tiny-model", "models/x", "/abs/path", "missing.gguf", "~/m"] {
            XCTAssertNil(try registry.installedFile(named: path, cacheHome: cacheHome), path)
        }
    }

    /// Through `LanguageModel.load`, as every subcommand reaches it: an unknown name is the
    /// registry's error (listing the built-in names), a missing path stays `fileNotFound`.
    func testLoadReportsUnknownNamesAndMissingPaths() {
        XCTAssertThrowsError(try LanguageModel.load(path: "qwen")) { error in
            guard case .unknownModel(_, let known, let suggestions)? = error as? ModelRegistryError else { return XCTFail("\(error)") }
            XCTAssertEqual(known, ModelRegistry.builtIn.names)
            XCTAssertEqual(suggestions, ["qwen2.5-coder-0.5b"])
        }
        let missing = NSTemporaryDirectory() + "no-such-model-\(UUID().uuidString).gguf"
        XCTAssertThrowsError(try LanguageModel.load(path: missing)) { error in
            XCTAssertEqual(error as? ModelLoadError, .fileNotFound(path: URL(fileURLWithPath: missing).standardizedFileURL.path))
        }
    }
}
