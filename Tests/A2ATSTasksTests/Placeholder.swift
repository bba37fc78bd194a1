import XCTest
@testable import A2ATSTasks

final class TasksSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
