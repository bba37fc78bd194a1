import XCTest
@testable import A2ATSMethods

final class MethodsSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
