import XCTest
@testable import A2ATSHarness

/// Reference: contract.md `--shard I/N` and the Slurm / Kubernetes variable definitions.
final class ShardingTests: XCTestCase {
    func testShardsPartitionTheSamples() throws {
        for count in 1...7 {
            let shards = try (0..<count).map { try ShardSpec(index: $0, count: count) }
            var owners = [Int](repeating: 0, count: 100)
            for shard in shards {
                for sample in 0..<100 where shard.contains(sampleIndex: sample) { owners[sample] += 1 }
            }
            XCTAssertEqual(owners, [Int](repeating: 1, count: 100), "N=\(count): every sample in exactly one shard")
        }
        let shard = try ShardSpec(parsing: "1/3")
        XCTAssertEqual((0..<10).filter(shard.contains), [1, 4, 7])
        XCTAssertEqual(shard.description, "1/3")
    }

    func testBadFlags() {
        for bad in ["3/3", "-1/3", "0/0", "a/b", "1", "1/2/3", "/4", ""] {
            XCTAssertThrowsError(try ShardSpec(parsing: bad), bad)
        }
        XCTAssertThrowsError(try ShardSpec(parsing: "4/4")) { error in
            XCTAssertTrue("\(error)".contains("outside 0..<4"), "\(error)")
        }
    }

    func testPrecedence() throws {
        let slurm = ["SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "4"]
        let kubernetes = ["JOB_COMPLETION_INDEX": "3", "A2ATS_SHARDS": "5"]
        let both = slurm.merging(kubernetes) { a, _ in a }

        var resolved = try ShardSpec.resolve(flag: "1/2", environment: both)
        XCTAssertEqual(resolved.shard, try ShardSpec(index: 1, count: 2))
        XCTAssertEqual(resolved.origin, .flag)

        resolved = try ShardSpec.resolve(flag: nil, environment: both)
        XCTAssertEqual(resolved.shard, try ShardSpec(index: 2, count: 4))
        XCTAssertEqual(resolved.origin, .slurm)

        resolved = try ShardSpec.resolve(flag: nil, environment: kubernetes)
        XCTAssertEqual(resolved.shard, try ShardSpec(index: 3, count: 5))
        XCTAssertEqual(resolved.origin, .kubernetes)

        // `--shard N` gives the count; the Job gives the index (and beats A2ATS_SHARDS).
        resolved = try ShardSpec.resolve(flag: "8", environment: kubernetes)
        XCTAssertEqual(resolved.shard, try ShardSpec(index: 3, count: 8))

        resolved = try ShardSpec.resolve(flag: nil, environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3"])
        XCTAssertEqual(resolved.shard, try ShardSpec(index: 1, count: 3))  // MIN defaults to 0

        resolved = try ShardSpec.resolve(flag: nil, environment: ["SLURM_JOB_ID": "7", "HOME": "/root"])
        XCTAssertEqual(resolved.shard, .whole)
        XCTAssertEqual(resolved.origin, .none)
    }

    func testEnvironmentErrors() {
        let cases: [(String?, [String: String], String)] = [
            (nil, ["JOB_COMPLETION_INDEX": "2"], "number of shards is unknown"),
            (nil, ["JOB_COMPLETION_INDEX": "5", "A2ATS_SHARDS": "5"], "outside 0..<5"),
            (nil, ["SLURM_ARRAY_TASK_ID": "3"], "SLURM_ARRAY_TASK_COUNT is not"),
            (nil, ["SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_COUNT": "4"], "contiguous array"),  // --array=0-15:4
            (nil, ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"], "SLURM_ARRAY_TASK_ID='x' is not an integer"),
            ("4", ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3"], "disagrees"),
            ("4", [:], "gives only the shard count"),
            ("zero", [:], "--shard expects I/N"),
        ]
        for (flag, environment, fragment) in cases {
            XCTAssertThrowsError(try ShardSpec.resolve(flag: flag, environment: environment)) { error in
                XCTAssertTrue(error is UsageError)
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks '\(fragment)'")
            }
        }
    }
}
