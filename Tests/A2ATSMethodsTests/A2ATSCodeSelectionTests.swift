import XCTest
import A2ATSTensor
@testable import A2ATSMethods

final class A2ATSCodeSelectionTests: XCTestCase {
    // Reference: per head, sort all scores (descending, lower index first), take k, unite.
    func testEqualsSortedPerHeadTopKUnion() {
        var g = SeededGenerator(seed: 42)
        for trial in 0 ..< 80 {
            let c = 1 + Int(g.next() % (trial % 2 == 1 ? 40 : 3000)), group = 1 + Int(g.next() % 4)
            let n = 2 + Int(g.next() % 3000)
            let start = Int(g.next() % UInt64(n / 2 + 1)), end = n - Int(g.next() % UInt64(n - start))
            guard end - start >= 2 else { continue }
            let k = 1 + Int(g.next() % UInt64(end - start - 1))
            let codes = (0 ..< n).map { _ in UInt16(g.next() % UInt64(c)) }
            // Odd trials: few distinct table values, so equal scores across different codes happen too;
            // even trials: continuous values, many per bucket.
            let tables = (0 ..< group * c).map { _ in trial % 2 == 1 ? Float(Int(g.next() % 7)) : g.nextGaussian() * 1e-3 }
            let selection = CodeSelection(centroidCount: c, groupSize: group)
            var got: [Int32] = []
            selection.select(codes: codes, range: start ..< end, tables: tables, k: k, into: &got)
            var expected = Set<Int>()
            for head in 0 ..< group {
                let score = { (j: Int) -> Float in tables[head * c + Int(codes[j])] }
                let order = (start ..< end).sorted { (a: Int, b: Int) -> Bool in score(a) != score(b) ? score(a) > score(b) : a < b }
                expected.formUnion(order.prefix(k))
            }
            XCTAssertEqual(got, expected.sorted().map(Int32.init), "trial \(trial)")
        }
    }
}
