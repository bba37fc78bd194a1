import XCTest
@testable import A2ATSHarness

/// Reference: the `--methods` grammar and canonical form stated in docs/contract.md.
final class MethodSpecTests: XCTestCase {
    func testContractExample() throws {
        let methods = try parseMethodList("full,snapkv:window=32,kernel=7,a2ats")
        XCTAssertEqual(methods, [MethodSpec(name: "full"),
                                 MethodSpec(name: "snapkv", parameters: ["window": "32", "kernel": "7"]),
                                 MethodSpec(name: "a2ats")])
        XCTAssertEqual(methods[1].parameters.keys, ["window", "kernel"])  // order as written
        XCTAssertEqual(methods.map(\.description), ["full", "snapkv:window=32,kernel=7", "a2ats"])
    }

    func testCanonicalKeepsOnlyNonDefaultsSorted() throws {
        let spec = try parseMethodList("snapkv:window=32,kernel=7,sinks=4")[0]
        XCTAssertEqual(spec.canonical(defaults: ["window": "32", "kernel": "5", "sinks": "0"]), "snapkv:kernel=7,sinks=4")
        XCTAssertEqual(spec.canonical(defaults: ["window": "32", "kernel": "7", "sinks": "4"]), "snapkv")
        XCTAssertEqual(try parseMethodList("a2ats:wrope=false")[0].canonical(defaults: ["wrope": "true"]), "a2ats:wrope=false")
        // Order on the command line does not change the canonical spec.
        XCTAssertEqual(try parseMethodList("x:b=1,a=2")[0].canonical(defaults: [:]),
                       try parseMethodList("x:a=2,b=1")[0].canonical(defaults: [:]))
    }

    func testMoreShapes() throws {
        XCTAssertEqual(try parseMethodList("oracle"), [MethodSpec(name: "oracle")])
        XCTAssertEqual(try parseMethodList(" h2o , tova "), [MethodSpec(name: "h2o"), MethodSpec(name: "tova")])
        XCTAssertEqual(try parseMethodList("a:x=1,b:y=2,z=3"),
                       [MethodSpec(name: "a", parameters: ["x": "1"]), MethodSpec(name: "b", parameters: ["y": "2", "z": "3"])])
        // A value may hold a colon: the first `=` decides that the item is a parameter.
        XCTAssertEqual(try parseMethodList("a2ats:codebook=dir/a:b,topk=0.03")[0].parameters["codebook"], "dir/a:b")
        XCTAssertEqual(try parseMethodList("a,path=c:d")[0].parameters["path"], "c:d")
    }

    func testErrors() {
        let cases: [(String, String)] = [
            ("window=32,snapkv", "parameter 'window=32' comes before any method name in 'window=32,snapkv'"),
            ("full,,h2o", "empty item in method list 'full,,h2o'"),
            ("", "empty item in method list ''"),
            ("snapkv:window", "parameter 'window' of method 'snapkv' must be key=value"),
            ("snapkv:", "parameter '' of method 'snapkv' must be key=value"),
            ("snapkv:window=", "parameter 'window' of method 'snapkv' has no value"),
            ("snapkv:=3", "invalid parameter name '' for method 'snapkv'"),
            ("snapkv:window=1,window=2", "parameter 'window' of method 'snapkv' is given twice"),
            ("snap kv", "invalid method name 'snap kv' in 'snap kv'"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parseMethodList(text), text) { error in
                XCTAssertEqual((error as? UsageError)?.message, message, text)
            }
        }
    }
}
