import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSHarness

/// Reference: the manifest fields listed in the harness issue; digests checked with SHA256Tests' vectors.
final class ManifestTests: XCTestCase {
    func testBuildAndWrite() throws {
        let directory = NSTemporaryDirectory() + "manifest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let taskPath = directory + "/task.jsonl"
        try "abc".write(toFile: taskPath, atomically: false, encoding: .utf8)

        let parts = ManifestParts(
            commandLine: ["a2ats-eval", "run", "--methods", "snapkv:kernel=7"],
            model: FingerprintedFile(path: "/models/m.gguf", sha256: "b179"), tokenizer: "gguf bpe (smollm)",
            chatTemplate: "off", truncation: "middle", taskFiles: [try FingerprintedFile(hashing: taskPath)],
            seeds: ["generation": 7], methods: [.object(["method": "snapkv:kernel=7", "params": .object(["kernel": 7, "window": 32])])],
            budgets: [.tokens(256), .fraction(0.03)], shard: try ShardSpec(index: 1, count: 4), shardOrigin: .slurm,
            extra: ["samples": 20])
        let machine = MachineInfo(hostname: "h", cpuModel: "cpu", cores: 2, memoryBytes: 1 << 30,
                                  operatingSystem: "Debian", swiftCompiler: "6.3")
        let manifest = Manifest.build(parts, build: BuildState(id: "0123456789ab+dirty.cafe0001", commit: String(repeating: "0123456789ab", count: 3) + "0123", dirty: true), machine: machine)
        XCTAssertEqual(manifest["a2ats_eval_version"], .string(a2atsEvalVersion))
        XCTAssertEqual(manifest["task_files"]?.arrayValue?.first?["sha256"],
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(manifest["budgets"], [256, 0.03])
        XCTAssertEqual(manifest["shard"], .object(["index": 1, "count": 4, "origin": "slurm"]))
        XCTAssertEqual(manifest["command_line"]?.arrayValue?.count, 4)
        XCTAssertEqual(manifest["build"]?["id"], "0123456789ab+dirty.cafe0001")
        XCTAssertEqual(manifest["build"]?["dirty"], true)
        XCTAssertEqual(manifest["samples"], 20)
        XCTAssertEqual(manifest["machine"]?["memory_bytes"], .int(1 << 30))

        try Manifest.write(manifest, toDirectory: directory)
        XCTAssertEqual(try JSONValue.parse(String(contentsOfFile: directory + "/manifest.json", encoding: .utf8)), manifest)
    }

    func testMachineAndBuild() {
        let machine = MachineInfo.current()
        XCTAssertGreaterThan(machine.cores, 0)
        XCTAssertGreaterThan(machine.memoryBytes, 0)
        XCTAssertFalse(machine.hostname.isEmpty)
        XCTAssertEqual(MachineInfo.cpuModel(cpuinfo: "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags: x\n"), "AMD EPYC 7B13")
        XCTAssertEqual(MachineInfo.cpuModel(cpuinfo: nil), "unknown")
        // Reference: `git rev-parse HEAD` of this checkout, asked now; the binary recorded its commit
        // when it was built, which is HEAD or (after a commit without rebuilding) an ancestor of it.
        let build = BuildState.current
        if build.commit != "unknown" {
            XCTAssertEqual(build.commit.count, 40)
            XCTAssertTrue(build.id.hasPrefix(String(build.commit.prefix(12))))
            XCTAssertEqual(build.id.contains("+dirty."), build.dirty)
        }
    }
}
