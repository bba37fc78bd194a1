import XCTest
@testable import A2ATSTensor

final class TensorSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
