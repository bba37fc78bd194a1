import XCTest
@testable import A2ATSModel

final class ModelSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
