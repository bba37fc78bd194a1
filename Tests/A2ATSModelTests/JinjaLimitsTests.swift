import A2ATSModel
import XCTest

/// Integer and size corners of the Jinja interpreter that the chat-template fuzz target hit or
/// guards (docs/reliability.md, "Fuzzing"). In-range results are compared with jinja2's
/// `ImmutableSandboxedEnvironment` (transformers' renderer; strings printed by
/// scripts/fuzz/jinja_limits_reference.py with jinja2 3.1.6). Where Python's unbounded ints
/// leave 64 bits, or the sandbox, a size limit or the iteration budget refuses, the interpreter must throw
/// `JinjaError.runtime` at the operator's position instead of trapping or allocating without bound.
final class JinjaLimitsTests: XCTestCase {
    private func render(_ source: String) throws -> String { try JinjaTemplate(source).render([:]) }

    func testIntegerArithmeticFloorsAndPowersAsPython() throws {
        XCTAssertEqual(try render("{{ -7 // 2 }} {{ -7 % 2 }} {{ 7 // -2 }} {{ 7 % -2 }} {{ -8 // 2 }} {{ 6 % 3 }}"),
                       "-4 1 -4 -1 -4 0")
        XCTAssertEqual(try render("{{ 2 ** 10 }} {{ 0 ** 0 }} {{ (-1) ** 65 }} {{ (-2) ** 3 }} {{ 1 ** 1000 }}"),
                       "1024 1 -1 -8 1")
        XCTAssertEqual(try render("{{ range(3) | list }} {{ range(5, 0, -2) | list }} {{ range(100000) | length }}"),
                       "[0, 1, 2] [5, 3, 1] 100000")
        XCTAssertEqual(try render("{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ 'x' * -1 }}|{{ -3.7 | int }}"), "ababab xxx |-3")
    }

    func testResultsBeyond64BitsAndHugeRangesAreRuntimeErrors() {
        let refused = [
            "{{ 9223372036854775807 + 1 }}": "integer overflow",
            "{{ -9223372036854775807 - 2 }}": "integer overflow",
            "{{ 4611686018427387904 * 2 }}": "integer overflow",
            "{{ (-9223372036854775807 - 1) // -1 }}": "integer overflow",
            "{{ (-9223372036854775807 - 1) % -1 }}": "integer overflow",
            "{{ -(-9223372036854775807 - 1) }}": "integer overflow",
            "{{ (-9223372036854775807 - 1) | abs }}": "integer overflow",
            "{{ 2 ** 64 }}": "integer overflow",
            "{{ (10.0 ** 300) | int }}": "does not fit 64 bits",
            "{{ range(100001) | length }}": "larger than 100000",
            "{{ range(-9223372036854775807, 9223372036854775807) | length }}": "larger than 100000",
            "{{ 'ab' * 9000000000000000000 }}": "longer than",
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}": "longer than",
            "{% set ns = namespace(s=[1]) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}": "more than",
            "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}": "loop iterations",
            "{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}": "output longer than",
        ]
        for (source, message) in refused {
            XCTAssertThrowsError(try render(source), source) { error in
                guard case JinjaError.runtime(let line, _, let text) = error else { return XCTFail("\(source): \(error)") }
                XCTAssertEqual(line, 1, source)
                XCTAssertTrue(text.contains(message), "\(source): \(text)")
            }
        }
    }
}
