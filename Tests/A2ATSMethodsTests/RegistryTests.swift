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
                                 ("h2o:recent_fraction=1.5", "a number in 0...1"), ("oracle:sinks=-1", "integer")] {
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

    /// `+` composition (contract, "Command line"): parameters stay with the part they follow; the
    /// canonical spec puts the token method first, re-parses to the same method and is the same
    /// for every way of writing it (one resume key); `params` name each part's parameters.
    func testCompositionsParseToOneCanonicalMethod() throws {
        let list = try MethodSpec.parseList("full,snapkv:window=16,kernel=5+kivi:bits=4,group=32,think+h2o")
        XCTAssertEqual(list, [MethodSpec(name: "full"),
                              MethodSpec(name: "snapkv", parameters: ["window": "16", "kernel": "5"],
                                         composedWith: [MethodSpec(name: "kivi", parameters: ["bits": "4", "group": "32"])]),
                              MethodSpec(name: "think", composedWith: [MethodSpec(name: "h2o")])])
        let composed = try MethodRegistry.resolve(list[1])
        XCTAssertEqual(composed.kind, .composed)
        XCTAssertEqual(composed.tokenKind, .eviction)
        XCTAssertTrue(composed.takesBudget)
        let canonical = try composed.canonicalSpec(budgeted: true)
        XCTAssertEqual(canonical, "snapkv:window=16,kernel=5+kivi:bits=4")
        XCTAssertEqual(try MethodRegistry.resolve(MethodSpec.parse(canonical)).canonicalSpec(budgeted: true), canonical)
        XCTAssertEqual(try MethodRegistry.resolve(MethodSpec.parse("kivi:bits=04+snapkv:kernel=5,window=16"))
                        .canonicalSpec(budgeted: true), canonical)
        XCTAssertEqual(try MethodRegistry.resolve(list[2]).canonicalSpec(budgeted: true), "h2o+think")
        XCTAssertEqual(try composed.resolvedParameters(budgeted: true).map { "\($0.name)=\($0.value)" },
                       ["snapkv.window=16", "snapkv.kernel=5", "snapkv.pooling=max", "kivi.bits=4", "kivi.group=32", "kivi.residual=128"])
        // Alone, a store method reads every token at its own precision: no budget.
        let kivi = try MethodRegistry.resolve(MethodSpec.parse("kivi"))
        XCTAssertEqual(kivi.kind, .precision)
        XCTAssertFalse(kivi.takesBudget)
        XCTAssertNotNil(try MethodRegistry.make(MethodSpec.parse("kivi"), budgetTokens: nil, model: model).kvStore)
        for bad in ["snapkv+h2o", "kivi+kivi", "full+kivi", "kivi+qaq", "snapkv:bits=2+kivi", "snapkv+", "+kivi"] {
            XCTAssertThrowsError(try MethodRegistry.resolve(MethodSpec.parse(bad)), bad)
        }
    }

    /// A KV-memory budget buys the most tokens that fit at the store's precision; worked by hand
    /// for d = 8 (f32 token = 64 bytes per head): KIVI 2-bit, group 8, residual 16 on a 64-token
    /// prompt at 1/4 (1024 bytes): t = 48 → 48 quantized keys (2 B codes each, 6 groups × 32 B of
    /// fp16 scales) + 32 quantized values (2 B + 4 B) + 16 residual values (32 B) = 96 + 192 + 192 + 512
    /// = 992 ≤ 1024, and every t in 49...64 is over. Dense: ⌊64 / 4⌋ = 16 tokens.
    func testKVMemoryBudgetResolvesToTheTokensThatFit() throws {
        let composed = try MethodRegistry.resolve(MethodSpec.parse("snapkv+kivi:bits=2,group=8,residual=16"))
        XCTAssertEqual(try composed.tokenBudget(kvFraction: 0.25, promptTokens: 64, model: model), 48)
        XCTAssertEqual(try MethodRegistry.resolve(MethodSpec.parse("snapkv")).tokenBudget(kvFraction: 0.25, promptTokens: 64,
                                                                                        model: model), 16)
        XCTAssertNil(try MethodRegistry.resolve(MethodSpec.parse("kivi")).tokenBudget(kvFraction: 0.25, promptTokens: 64, model: model))
    }

    func testCanonicalSpecNamesOnlyNonDefaults() throws {
        let snapkv = try MethodRegistry.descriptor(named: "snapkv")
        XCTAssertEqual(try snapkv.canonicalSpec(["kernel": "5", "window": "32"]), "snapkv:kernel=5")
        XCTAssertEqual(try snapkv.canonicalSpec([:]), "snapkv")
        XCTAssertEqual(try snapkv.resolvedParameters(["kernel": "5"]).map { "\($0.name)=\($0.value)" },
                       ["window=32", "kernel=5", "pooling=max"])
    }

    /// Typed parameters: every spelling of one setting gives one canonical spec (one resume key) and
    /// one `params` value; a parameter the budget replaces is not recorded; bad values name the
    /// expected type. Reference: the values worked out by hand below.
    func testParametersAreTypedEndToEnd() throws {
        let a2ats = A2ATSMethod.descriptor
        for spelling in ["1", "true", "yes", "on", "TRUE"] {
            XCTAssertEqual(try a2ats.canonicalSpec(["wrope": spelling], budgeted: true), "a2ats", spelling)
        }
        XCTAssertEqual(try a2ats.canonicalSpec(["wrope": "0", "b": "01024"], budgeted: true), "a2ats:wrope=false,b=1024")
        XCTAssertEqual(try a2ats.canonicalSpec(["topk": "0.050"]), "a2ats:topk=0.05")
        let budgeted = try a2ats.resolvedParameters([:], budgeted: true)
        XCTAssertFalse(budgeted.map(\.name).contains("topk"), "a budget replaces topk: params must not record it")
        XCTAssertEqual(budgeted.first { $0.name == "wrope" }?.json, .bool(true))
        XCTAssertThrowsError(try a2ats.resolvedParameters(["topk": "0.05"], budgeted: true))
        let h2o = try MethodRegistry.descriptor(named: "h2o")
        XCTAssertEqual(try h2o.canonicalSpec(["recent_fraction": "0.50"]), "h2o")
        XCTAssertEqual(try h2o.resolvedParameters(["recent_fraction": ".25"]).first?.json, .double(0.25))
        let knorm = try MethodRegistry.descriptor(named: "knorm")
        XCTAssertEqual(try knorm.canonicalSpec(["skip_layers": "12/1/0/1"]), "knorm:skip_layers=0/1/12")
        XCTAssertEqual(try knorm.resolvedParameters(["skip_layers": "none"]).first?.json, .array([]))
        // Each canonical spec re-parses to the same method.
        for text in ["a2ats:wrope=false,b=1024", "knorm:skip_layers=0/1/12", "snapkv:kernel=5"] {
            let spec = try MethodSpec.parse(text)
            XCTAssertEqual(try MethodRegistry.descriptor(named: spec.name).canonicalSpec(spec.parameters, budgeted: true), text)
        }
        let cases: [(String, [String: String], String)] = [
            ("a2ats", ["wrope": "maybe"], "true or false"), ("snapkv", ["kernel": "4"], "an odd integer"),
            ("oracle", ["scores": "exact"], "one of rope, wrope"), ("knorm", ["skip_layers": "0,1"], "separated by '/'"),
            ("h2o", ["recent_fraction": "2"], "a number in 0...1"), ("corm", ["recent": "0"], "an integer in 1..."),
        ]
        for (name, parameters, expected) in cases {
            XCTAssertThrowsError(try MethodRegistry.descriptor(named: name).resolvedParameters(parameters)) { error in
                guard case let MethodError.invalidParameter(method, _, _, text) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(method, name)
                XCTAssertTrue(text.contains(expected), "\(name): \(text)")
            }
        }
    }
}
