import XCTest
import Foundation
@testable import A2ATSTasks
import A2ATSSupport

final class RulerGeneratorTests: XCTestCase {
    let catalog = try! TaskCatalog.builtIn()
    let niahTasks = ["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2",
                     "niah_multikey_3", "niah_multivalue", "niah_multiquery"]

    private func generate(_ name: String, length: Int, samples: Int = 2, seed: UInt64 = 1,
                          tokenizer: TestTokenizer = TestTokenizer()) throws -> [RulerSample] {
        try RulerGenerator(task: catalog.task(named: name), tokenizer: tokenizer)
            .generate(length: length, samples: samples, seed: seed)
    }

    /// Length rule of contract.md, recounted here with the test tokenizer.
    private func checkLength(_ sample: RulerSample, task: String, length: Int, tokenizer: TestTokenizer,
                             file: StaticString = #filePath, line: UInt = #line) {
        let record = sample.record
        let input = record["input"]!.stringValue!, prefix = record["answer_prefix"]!.stringValue!
        let counted = tokenizer.encode(input + prefix).count + (try! catalog.task(named: task)).maxNewTokens
        XCTAssertEqual(record["length"]?.intValue, counted, task, file: file, line: line)
        XCTAssertLessThanOrEqual(counted, length, task, file: file, line: line)
        XCTAssertGreaterThanOrEqual(Double(counted), 0.98 * Double(length), task, file: file, line: line)
    }

    /// Needles are recovered from the text by RULER's needle sentence, independently of the
    /// generator: the queried keys' values must equal `outputs`, each needle exactly once.
    func testNeedlesAppearOnceAtTheirDepthAndAnswerIsRecoverable() throws {
        for name in niahTasks {
            let tokenizer = TestTokenizer()
            for sample in try generate(name, length: 1024, samples: 3, tokenizer: tokenizer) {
                checkLength(sample, task: name, length: 1024, tokenizer: tokenizer)
                let input = sample.record["input"]!.stringValue!
                let outputs = sample.record["outputs"]!.arrayValue!.map { $0.stringValue! }
                let question = input.components(separatedBy: "\n").last!
                let pattern = try NSRegularExpression(pattern: "One of the special magic (\\w+) for (\\S+) is: (\\S+)\\.")
                let matches = pattern.matches(in: input, range: NSRange(input.startIndex..., in: input)).map { match in
                    (1...3).map { String(input[Range(match.range(at: $0), in: input)!]) }
                }
                let queried = matches.filter { question.contains(" \($0[1]) ") || question.contains(" \($0[1]),") }
                XCTAssertEqual(Set(queried.map { $0[2] }), Set(outputs), name)
                for value in outputs {
                    XCTAssertEqual(input.components(separatedBy: "is: \(value).").count - 1, 1, "\(name): \(value)")
                }
                // Depth: where the (first) queried needle sits within the haystack.
                if queried.count == 1, sample.needleDepths.count == 1 {
                    let needle = "One of the special magic \(queried[0][0]) for \(queried[0][1]) is: \(queried[0][2])."
                    let body = input.components(separatedBy: "afterwards.\n")[1]
                    let haystack = body.components(separatedBy: "\nWhat is")[0]
                    let offset = haystack.range(of: needle)!.lowerBound
                    if name == "niah_single_1" {
                        // Noise haystack: depth is the needle's line among the noise lines.
                        let before = haystack[..<offset].components(separatedBy: "\n").count - 1
                        let lines = haystack.components(separatedBy: "\n").count - 1
                        XCTAssertEqual(100.0 * Double(before) / Double(lines), Double(sample.needleDepths[0]), accuracy: 100.0 / Double(lines) + 1, name)
                    } else {
                        // Essay haystack: RULER's depth counts sentences (words ending in . ! ?).
                        func sentences(_ text: Substring) -> Int {
                            text.split(separator: " ").filter { $0.range(of: "[.!?][\"')\\]]*$", options: .regularExpression) != nil }.count
                        }
                        let before = sentences(haystack[..<offset])
                        let total = before + sentences(haystack[offset...].dropFirst(needle.count))
                        XCTAssertLessThanOrEqual(Double(before), Double(total) * Double(sample.needleDepths[0]) / 100 + 1, name)
                        XCTAssertGreaterThanOrEqual(Double(before), Double(total) * Double(sample.needleDepths[0]) / 100 - 1, name)
                    }
                }
                if name == "niah_single_1" {   // RULER's singular wording with one value
                    XCTAssertTrue(input.hasPrefix("A special magic number is hidden within the following text."))
                    XCTAssertTrue(question.hasPrefix("What is the special magic number for "))
                    XCTAssertTrue(sample.record["answer_prefix"]!.stringValue!.hasSuffix("mentioned in the provided text is"))
                    XCTAssertEqual(sample.record["index"]?.intValue,
                                   input.unicodeScalars.distance(from: input.unicodeScalars.startIndex,
                                                                 to: input.range(of: outputs[0])!.lowerBound.samePosition(in: input.unicodeScalars)!))
                }
                if name == "niah_multivalue" { XCTAssertTrue(input.hasPrefix("Some special magic numbers are hidden")) }
            }
        }
    }

    func testLengthsWithinTwoPercentAt1K4K16K() throws {
        for length in [1024, 4096, 16384] {
            for name in ["niah_single_1", "niah_single_2", "niah_multikey_3"] {
                let tokenizer = TestTokenizer()
                let start = Date()
                let samples = try generate(name, length: length, samples: 4, tokenizer: tokenizer)
                let calls = tokenizer.encodeCalls
                for sample in samples { checkLength(sample, task: name, length: length, tokenizer: tokenizer) }
                if length == 16384 {
                    print("generate \(name) 16K ×4: \(String(format: "%.2f", Date().timeIntervalSince(start))) s, \(calls) tokenizations")
                }
            }
        }
    }

    func testEveryTaskGeneratesAt1KAnd4K() throws {
        for task in catalog.tasks where task.source == .ruler {
          for length in [1024, 4096] {
            let tokenizer = TestTokenizer()
            for sample in try generate(task.name, length: length, samples: 2, tokenizer: tokenizer) {
                checkLength(sample, task: task.name, length: length, tokenizer: tokenizer)
                let input = sample.record["input"]!.stringValue!
                let outputs = sample.record["outputs"]!.arrayValue!.map { $0.stringValue! }
                XCTAssertFalse(outputs.isEmpty, task.name)
                switch task.name {
                case "vt":
                    XCTAssertEqual(outputs.count, 5)
                    for variable in outputs { XCTAssertTrue(input.contains("VAR \(variable) ="), variable) }
                    XCTAssertTrue(sample.record["answer_prefix"]!.stringValue!.contains("5 variables are assigned the value"))
                case "cwe":
                    XCTAssertEqual(outputs.count, 10)
                    let list = input.components(separatedBy: "\n").last(where: { $0.contains("1. ") })!
                    let repeats = length < 4096 ? 6 : 30   // RULER: fewer repeats below 4K
                    for word in outputs { XCTAssertGreaterThanOrEqual(list.components(separatedBy: ". \(word) ").count, repeats - 1, word) }
                case "fwe":
                    XCTAssertEqual(outputs.count, 3)
                    let words = input.split(separator: " ").map(String.init)
                    let counts = outputs.map { word in words.filter { $0 == word }.count }
                    XCTAssertTrue(counts[0] >= counts[1] && counts[1] >= counts[2] && counts[2] > 1, "\(counts)")
                case "qa_1", "qa_2":
                    XCTAssertTrue(input.lowercased().contains(outputs[0].lowercased()), outputs[0])
                    XCTAssertTrue(input.hasPrefix("Answer the question based on the given documents."))
                    XCTAssertEqual(sample.record["answer_prefix"]?.stringValue, " Answer:")
                default:
                    break
                }
            }
          }
        }
    }

    func testSameSeedSameBytesOtherSeedOtherNeedles() throws {
        let directory = NSTemporaryDirectory() + "ruler-gen-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var files: [Data] = []
        var outputs: [[JSONValue]] = []
        for (i, seed) in [7, 7, 8].enumerated() {
            let samples = try generate("niah_multikey_1", length: 2048, samples: 3, seed: UInt64(seed))
            let path = "\(directory)/\(i).jsonl"
            try RulerGenerator.write(samples, to: path)
            files.append(FileManager.default.contents(atPath: path)!)
            outputs.append(samples.map { $0.record["outputs"]! })
        }
        XCTAssertEqual(files[0], files[1])
        XCTAssertNotEqual(outputs[0], outputs[2])
        // The written file is RULER format and reads back through the RULER loader.
        var reader = try SampleReader(path: "\(directory)/0.jsonl", task: "niah_multikey_1")
        XCTAssertEqual(reader.format, .ruler)
        XCTAssertEqual(try reader.readAll().count, 3)
    }

    func testLengthTheTaskCannotHold() throws {
        XCTAssertThrowsError(try generate("niah_single_2", length: 150)) { error in
            guard case TaskError.lengthTooShort(let task, 150, let minimum)? = error as? TaskError else { return XCTFail("\(error)") }
            XCTAssertEqual(task, "niah_single_2")
            XCTAssertGreaterThan(minimum, 150)
        }
        XCTAssertThrowsError(try RulerGenerator.requireContext(length: 16384, task: "vt", contextLength: 8192)) { error in
            XCTAssertEqual("\(error)", "task vt: length 16384 exceeds the model's context of 8192 tokens")
        }
        XCTAssertThrowsError(try RulerGenerator(task: catalog.task(named: "hotpotqa"), tokenizer: TestTokenizer()))
    }

    /// Generator settings out of range are refused naming file and field (found by fuzzing:
    /// `num_needle_q: 0` indexed an empty query list, a 1-letter coded word could never make
    /// enough distinct words, `num_cw` above 20 indexed past the few-shot word list).
    func testGeneratorSettingsOutOfRangeAreRefused() throws {
        func refused(_ name: String, _ key: String, _ value: JSONValue, file: StaticString = #filePath, line: UInt = #line) throws {
            var task = try catalog.task(named: name)
            var args = task.generator?["args"]?.objectValue ?? [:]
            args[key] = value
            task.generator?["args"] = .object(args)
            XCTAssertThrowsError(try RulerGenerator(task: task, tokenizer: TestTokenizer()), file: file, line: line) { error in
                guard case TaskError.dataFile(let problem)? = error as? TaskError else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertEqual(problem.file, task.file, file: file, line: line)
                XCTAssertEqual(problem.field, "generator.args.\(key)", file: file, line: line)
            }
        }
        try refused("niah_multiquery", "num_needle_q", 0)
        try refused("niah_single_1", "num_needle_k", -3)
        try refused("vt", "num_hops", 0)
        try refused("cwe", "num_cw", 21)
        try refused("fwe", "coded_wordlen", 1)
        try refused("fwe", "alpha", 1.0)
        try refused("fwe", "vocab_size", 2)
        XCTAssertNoThrow(try generate("niah_multiquery", length: 1024, samples: 1))
    }
}
