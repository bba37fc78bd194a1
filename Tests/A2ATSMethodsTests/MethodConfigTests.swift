@testable import A2ATSMethods
import Foundation
import XCTest

/// configs/methods.json documents each method's reference defaults; it must say what the registry
/// does, and list every registered method but A²ATS (whose defaults live in its codebook settings).
final class MethodConfigTests: XCTestCase {
    func testConfigMatchesRegistryDefaults() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../configs/methods.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(root["version"] as? Int, 1)
        let methods = try XCTUnwrap(root["methods"] as? [String: [String: Any]])
        for (name, entry) in methods {
            let descriptor = try MethodRegistry.descriptor(named: name)
            let parameters = try XCTUnwrap(entry["parameters"] as? [String: String], name)
            XCTAssertEqual(parameters, Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0.defaultValue) }),
                           name)
        }
        XCTAssertEqual(Set(methods.keys), Set(MethodRegistry.names).subtracting(["a2ats"]))
    }
}
