import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// Registry lookup, spec parsing and parameter errors, against the contract's wording
/// ("Unknown names or parameters are an error that lists the valid ones").
final class RegistryTests: XCTestCase {
    let model = makeModel(layers: 2, heads: 4, kvHeads: 2, headDim: 8)

    func testEveryIssueMethodIsRegisteredOnce() {
        let names = MethodRegistry.names
        for name in ["full", "oracle", "streamingllm", "h2o", "snapkv", "pyramidkv", "knorm", "tova", "corm"] {
            XCTAssertNotNil(MethodRegistry.byName[name], name)
        }
        XCTAssertEqual(Set(names).count, names.count)
    }

    func testUnknownMethodSuggestsTheClosestName() {
        XCTAssertThrowsError(try MethodRegistry.descriptor(named: "snapvk")) { error in
            guard case let MethodError.unknownMethod(name, suggestion, valid) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "snapvk")
            XCTAssertEqual(suggestion, "snapkv")
            XCTAssertEqual(valid, MethodRegistry.names)
            XCTAssertTrue("\(error)".contains("did you mean \"snapkv\"?"))
        }
        XCTAssertThrowsError(try MethodRegistry.descriptor(named: "zzzzzzzz")) { error in
            guard case let MethodError.unknownMethod(_, suggestion, _) = error else { return XCTFail("\(error)") }
            XCTAssertNil(suggestion)
        }
    }

    func testUnknownParameterListsTheValidOnes() {
        let spec = MethodSpec(name: "snapkv", parameters: ["kernal": "5"])
        XCTAssertThrowsError(try MethodRegistry.make(spec, budgetTokens: 64, model: model)) { error in
            guard case let MethodError.unknownParameter(method, name, suggestion, valid) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(method, "snapkv")
            XCTAssertEqual(name, "kernal")
            XCTAssertEqual(suggestion, "kernel")
            XCTAssertEqual(valid, ["window", "kernel", "pooling"])
            XCTAssertTrue("\(error)".contains("valid parameters: window, kernel, pooling"))
        }
    }

    func testBadValuesAndMissingBudgetAreErrors() {
        for (spec, expected) in [("snapkv:kernel=6", "odd"), ("snapkv:pooling=median", "max, avg"),
                                 ("h2o:recent_fraction=1.5", "0.0...1.0"), ("oracle:sinks=-1", "integer")] {
            XCTAssertThrowsError(try MethodRegistry.make(MethodSpec.parse(spec), budgetTokens: 64, model: model)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertThrowsError(try MethodRegistry.make(MethodSpec(name: "snapkv"), budgetTokens: nil, model: model)) {
            XCTAssertEqual($0 as? MethodError, .budgetRequired(method: "snapkv"))
        }
        XCTAssertNoThrow(try MethodRegistry.make(MethodSpec(name: "full"), budgetTokens: nil, model: model))
    }

    func testSpecListsFollowTheContract() throws {
        let specs = try MethodSpec.parseList("full,snapkv:window=32,kernel=7,a2ats")
        XCTAssertEqual(specs, [MethodSpec(name: "full"), MethodSpec(name: "snapkv", parameters: ["window": "32", "kernel": "7"]),
                               MethodSpec(name: "a2ats")])
        XCTAssertThrowsError(try MethodSpec.parseList("window=3,full"))
        XCTAssertThrowsError(try MethodSpec.parse("snapkv:window=1,window=2"))
        XCTAssertThrowsError(try MethodSpec.parse("snapkv:window"))
    }

    func testCanonicalSpecNamesOnlyNonDefaults() throws {
        let snapkv = try MethodRegistry.descriptor(named: "snapkv")
        XCTAssertEqual(try snapkv.canonicalSpec(["kernel": "5", "window": "32"]), "snapkv:kernel=5")
        XCTAssertEqual(try snapkv.canonicalSpec([:]), "snapkv")
        XCTAssertEqual(try snapkv.resolvedParameters(["kernel": "5"]).map { "\($0.name)=\($0.value)" },
                       ["window=32", "kernel=5", "pooling=max"])
    }
}
