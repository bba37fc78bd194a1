import XCTest
@testable import A2ATSSupport

final class SupportSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
