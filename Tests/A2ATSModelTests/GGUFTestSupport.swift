import Foundation
import XCTest
@testable import A2ATSModel

/// Fixture access shared by the GGUF tests. Fixtures are written by scripts/make_tiny_fixtures.py.
enum GGUFFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures").standardized.path

    static func path(_ name: String) -> String { directory + "/" + name }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name) is not a JSON object")
    }

    /// `${A2ATS_EVAL_HOME:-$HOME/.cache/a2ats-eval}/models/SmolLM2-135M-Instruct.Q4_1.gguf`, as scripts/setup installs it.
    static var defaultModelPath: String {
        let env = ProcessInfo.processInfo.environment
        let home = env["A2ATS_EVAL_HOME"] ?? (NSHomeDirectory() + "/.cache/a2ats-eval")
        return home + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    /// The default model's path; fails under CI (env `CI` set) and skips elsewhere when it is absent.
    static func requireDefaultModel() throws -> String {
        let path = defaultModelPath
        if FileManager.default.fileExists(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["CI"] != nil { throw DefaultModelMissing(path: path) }
        throw XCTSkip("default model not installed at \(path); run ./scripts/setup")
    }

    /// Asserts `actual` equals `expected` elementwise within relative tolerance `rtol` (floor 1 on the scale).
    static func assertClose(_ actual: [Float], _ expected: [Double], rtol: Double = 1e-5, _ label: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
        var worst = 0.0, worstIndex = -1
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let err = abs(Double(a) - e) / max(abs(e), 1)
            if err > worst { worst = err; worstIndex = i }
        }
        XCTAssertLessThanOrEqual(worst, rtol, "\(label): worst relative error \(worst) at index \(worstIndex)",
                                 file: file, line: line)
    }
}

/// Thrown (a test failure, not a skip) when CI lacks the default model.
struct DefaultModelMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "default model missing at \(path): CI must install it (./scripts/setup)" }
}
