import A2ATSSupport
import XCTest
@testable import A2ATSHarness
import A2ATSReports

/// Reference: the budget rules in docs/contract.md, resolved by hand (⌊f·n⌋, at least 1).
final class BudgetTests: XCTestCase {
    func testParsesTokensAndFractions() throws {
        XCTAssertEqual(try parseBudgetList("64,256,0.03"), [.tokens(64), .tokens(256), .fraction(0.03)])
        XCTAssertEqual(try parseBudgetList("1"), [.tokens(1)])
        XCTAssertEqual(try parseBudgetList(" 0.5 ,1e-2"), [.fraction(0.5), .fraction(0.01)])
    }

    func testJSONValueIsAsAsked() throws {
        let budgets = try parseBudgetList("256,0.03")
        XCTAssertEqual(budgets.map(\.jsonValue), [.int(256), .double(0.03)])
        XCTAssertEqual(budgets.map { $0.jsonValue.compactText }, ["256", "0.03"])
        XCTAssertEqual(budgets.map(\.description), ["256", "0.03"])
    }

    func testResolve() {
        XCTAssertEqual(Budget.tokens(256).resolve(promptTokens: 100), 256)  // methods clamp, not the budget
        XCTAssertEqual(Budget.fraction(0.03).resolve(promptTokens: 4000), 120)
        XCTAssertEqual(Budget.fraction(0.03).resolve(promptTokens: 4099), 122)  // 122.97 → 122
        XCTAssertEqual(Budget.fraction(0.03).resolve(promptTokens: 10), 1)  // 0.3 → at least 1
        XCTAssertEqual(Budget.fraction(0.5).resolve(promptTokens: 0), 1)
    }

    func testErrors() {
        for bad in ["0", "-5", "1.5", "1.0", "1e3", "0.0", "abc", "", "64,", "nan", "inf", "0x10", "-0.5"] {
            XCTAssertThrowsError(try parseBudgetList(bad), "accepted '\(bad)'") { error in
                XCTAssertTrue(error is UsageError)
            }
        }
        XCTAssertThrowsError(try parseBudgetList("64,64")) { error in
            XCTAssertEqual("\(error)", "budget '64' is listed twice in '64,64'")
        }
        XCTAssertThrowsError(try parseBudgetList("1.5")) { error in
            XCTAssertTrue("\(error)".contains("a token count is written as an integer"))
        }
    }
}
