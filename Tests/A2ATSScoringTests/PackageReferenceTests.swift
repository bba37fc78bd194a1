@testable import A2ATSScoring
import A2ATSSupport
import XCTest

/// Independent reference: Tests/Fixtures/metric-cases.json, written by
/// scripts/make_metric_fixture.py with the PyPI packages LongBench's metrics call
/// (rouge 1.0.1 for rouge-L, fuzzywuzzy 0.18.0 on difflib for code_sim).
final class PackageReferenceTests: XCTestCase {
    func testRougeAndCodeSimMatchThePythonPackages() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/metric-cases.json").standardized.path
        let fixture = try JSONValue.parse(String(contentsOfFile: path, encoding: .utf8))
        let cases = try XCTUnwrap(fixture["cases"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 20)
        for item in cases {
            let metric = try Metric.named(try XCTUnwrap(item["metric"]?.stringValue))
            let prediction = try XCTUnwrap(item["prediction"]?.stringValue)
            let reference = try XCTUnwrap(item["reference"]?.stringValue)
            let expected = try XCTUnwrap(item["expected"]?.doubleValue)
            let actual = metric.score(prediction: prediction, references: [reference])
            XCTAssertEqual(actual, expected, accuracy: max(abs(expected), 1e-12) * 1e-9,
                           "\(metric.name): \(prediction.debugDescription) vs \(reference.debugDescription)")
        }
    }
}
