import XCTest
import A2ATSFuzzTargets

/// Replays the committed fuzz corpora (Fuzz/corpus/<target>/) through the fuzz targets, the
/// short CI counterpart of scripts/fuzz.sh. Compared against the file names: `ok-*` seeds are
/// valid inputs (fixtures, and binary files written by scripts/fuzz/make_seeds.py from the
/// documented layouts with its own code, plus micro models from the official `gguf` writer),
/// which every stage must accept; `bad-*` files (broken fixtures and every crash reproducer the
/// fuzzer found) must be refused with the parser's typed error naming the file.
final class CorpusReplayTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    override class func tearDown() { FuzzScratch.removeAll() }

    func testEveryCorpusFileParsesOrIsRefusedWithATypedError() throws {
        let start = Date()
        var replayed = 0
        for target in FuzzTarget.all {
            let folder = Self.corpus.appendingPathComponent(target.name)
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            XCTAssertTrue(names.contains { $0.hasPrefix("ok-") }, "\(target.name): no valid seed")
            XCTAssertTrue(names.contains { $0.hasPrefix("bad-") }, "\(target.name): no invalid seed")
            for name in names {
                let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
                let outcome: FuzzOutcome
                do {
                    outcome = try target.run(bytes)
                } catch {
                    XCTFail("\(target.name)/\(name): \(error)")
                    continue
                }
                replayed += 1
                switch (name.prefix(while: { $0 != "-" }), outcome) {
                case ("ok", .parsed), ("bad", .refused): break
                case ("ok", .refused(let messages)): XCTFail("\(target.name)/\(name) was refused: \(messages)")
                case ("bad", .parsed): XCTFail("\(target.name)/\(name) was accepted")
                default: XCTFail("\(target.name)/\(name): corpus files are named ok-* or bad-*")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(replayed, 3 * FuzzTarget.all.count)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the replay must stay a short CI check")
    }

    /// Every corpus folder belongs to a target, so a renamed target cannot leave its corpus unreplayed.
    func testEveryCorpusFolderHasATarget() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        XCTAssertEqual(folders, FuzzTarget.all.map(\.name).sorted())
    }
}
