import XCTest
@testable import A2ATSScoring

final class ScoringSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
