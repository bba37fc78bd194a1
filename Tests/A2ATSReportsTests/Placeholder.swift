import XCTest
@testable import A2ATSReports

final class ReportsSmokeTests: XCTestCase {
    func testModuleLinks() {}
}
