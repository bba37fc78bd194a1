import XCTest
@testable import A2ATSHarness

final class HarnessSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
