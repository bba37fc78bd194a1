import A2ATSReports
import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSHarness

/// Reference: contract.md's `--shard I/N` (sample k in shard k mod N, never split) and the
/// unsharded baseline run: the shards' rows must partition it, and the merged report must
/// render exactly as the baseline's rows do.
final class RunnerShardTests: XCTestCase {
    override class func tearDown() {
        try? FileManager.default.removeItem(at: RunnerFixture.scratch)
        super.tearDown()
    }

    private func runShards(count: Int) throws -> [String] {
        try (0..<count).map { index in
            let directory = RunnerFixture.freshDirectory("shard-\(index)-of-\(count)")
            try RunnerFixture.run(RunnerFixture.configuration(out: directory, shard: try ShardSpec(index: index, count: count)))
            return directory
        }
    }

    func testShardsPartitionTheUnshardedRunAndMerge() throws {
        let baseline = try RunnerFixture.baseline.get()
        let directories = try runShards(count: 2)
        var seen: [ResumeKey: JSONObject] = [:]
        for (index, directory) in directories.enumerated() {
            let rows = try RunnerFixture.rows(directory + "/results.jsonl")
            for row in rows {
                let id = try XCTUnwrap(row["id"]?.stringValue.flatMap { Int($0) })
                XCTAssertEqual(id % 2, index, "sample \(id) belongs to shard \(id % 2)")
                let key = try RunnerFixture.key(row)
                XCTAssertNil(seen[key], "\(key) is in two shards")
                seen[key] = row
            }
            let manifest = try JSONValue.parse(String(contentsOfFile: directory + "/manifest.json", encoding: .utf8))
            XCTAssertEqual(manifest["shard"], .object(["index": .int(index), "count": 2, "origin": "flag"]))
        }
        let expected = try Dictionary(uniqueKeysWithValues: RunnerFixture.withoutTimings(baseline.rows).map { (try RunnerFixture.key($0), $0) })
        XCTAssertEqual(seen.mapValues { RunnerFixture.withoutTimings([$0])[0] }, expected, "union of shards = unsharded run")

        let merged = try loadResults(directories: directories)
        XCTAssertEqual(merged.duplicates, 0)
        XCTAssertEqual(merged.truncatedFiles, [])
        XCTAssertEqual(merged.records.count, baseline.rows.count)
        XCTAssertEqual(Set(merged.records.map(\.resumeKey)).count, baseline.rows.count)

        // Same rows in another order render the same report. Timings differ between runs,
        // so both sides zero them; the markdown, plot and summary must match byte for byte,
        // and results.csv (one line per row, in row order) must hold the same lines.
        let unsharded = try baseline.rows.map { try ResultRecord(object: $0, file: "baseline", line: nil) }
        let reports = try [merged.records, unsharded].map { records -> [String: String] in
            let directory = RunnerFixture.freshDirectory("report")
            let written = try ReportWriter.write(records: records.map(Self.zeroTimings), to: directory, title: "runner test",
                                                 manifestNotes: ["shards"])
            return try Dictionary(uniqueKeysWithValues: written.map {
                (($0 as NSString).lastPathComponent, try String(contentsOfFile: $0, encoding: .utf8))
            })
        }
        XCTAssertEqual(reports[0].keys.sorted(), ["plot-runner_niah.svg", "report.md", "results.csv", "summary.json"])
        for name in ["report.md", "plot-runner_niah.svg"] {
            XCTAssertEqual(reports[0][name], reports[1][name], name)
        }
        // Means are summed in row order, so the last bit of a double may differ.
        let summaries = try reports.map { try JSONValue.parse($0["summary.json"] ?? "") }
        Self.assertClose(summaries[0], summaries[1], path: "summary.json")
        let csvLines = reports.map { ($0["results.csv"] ?? "").split(separator: "\n").sorted() }
        XCTAssertEqual(csvLines[0], csvLines[1])
        XCTAssertTrue(reports[0]["report.md"]?.contains("| oracle | — |") == true, reports[0]["report.md"] ?? "")
    }

    func testMoreShardsThanSamplesLeavesEmptyShardsValid() throws {
        let baseline = try RunnerFixture.baseline.get()
        let directories = try runShards(count: 8)
        var rows: [JSONObject] = []
        for directory in directories {
            rows += try RunnerFixture.rows(directory + "/results.jsonl")
        }
        XCTAssertEqual(rows.count, baseline.rows.count)
        let nonEmpty = try directories.filter { try !RunnerFixture.contents($0 + "/results.jsonl").isEmpty }
        XCTAssertEqual(nonEmpty.count, RunnerFixture.sampleCount, "shards 6 and 7 hold no sample")
        let merged = try loadResults(directories: directories)
        XCTAssertEqual(Set(merged.records.map(\.resumeKey)).count, baseline.rows.count)
    }

    /// Equal JSON, except that doubles may differ by a relative 1e-12.
    private static func assertClose(_ a: JSONValue, _ b: JSONValue, path: String, file: StaticString = #filePath, line: UInt = #line) {
        switch (a, b) {
        case let (.double(x), .double(y)):
            XCTAssertEqual(x, y, accuracy: 1e-12 * max(abs(x), abs(y)), path, file: file, line: line)
        case let (.array(x), .array(y)) where x.count == y.count:
            for (index, pair) in zip(x, y).enumerated() { assertClose(pair.0, pair.1, path: "\(path)[\(index)]", file: file, line: line) }
        case let (.object(x), .object(y)) where x.keys == y.keys:
            for key in x.keys { assertClose(x[key]!, y[key]!, path: "\(path).\(key)", file: file, line: line) }
        default:
            XCTAssertEqual(a, b, path, file: file, line: line)
        }
    }

    private static func zeroTimings(_ record: ResultRecord) -> ResultRecord {
        var copy = record
        copy.seconds = 0
        copy.prefillSeconds = 0
        copy.selectionSeconds = copy.selectionSeconds.map { _ in 0 }
        return copy
    }
}
