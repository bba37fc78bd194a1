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
            // The index covers a random prefix (none, part, all, or more than the ranked range),
            // so both the indexed path and the scanned tail are exercised.
            let index = CodeIndex(centroidCount: c)
            index.rebuild(codes: codes, count: Int(g.next() % UInt64(n + 1)))
            let selection = CodeSelection(centroidCount: c, groupSize: group)
            var got: [Int32] = []
            selection.select(codes: codes, index: index, range: start ..< end, tables: tables, k: k, into: &got)
            var expected = Set<Int>()
            for head in 0 ..< group {
                let score = { (j: Int) -> Float in tables[head * c + Int(codes[j])] }
                let order = (start ..< end).sorted { (a: Int, b: Int) -> Bool in score(a) != score(b) ? score(a) > score(b) : a < b }
                expected.formUnion(order.prefix(k))
            }
            XCTAssertEqual(got, expected.sorted().map(Int32.init), "trial \(trial)")
            // The same selector again (scratch reused) gives the same answer.
            var again: [Int32] = []
            selection.select(codes: codes, index: index, range: start ..< end, tables: tables, k: k, into: &again)
            XCTAssertEqual(again, got, "trial \(trial), second call")
            // Appended after what the output already holds (the method's sinks come first).
            var afterSinks: [Int32] = [0, 1, 2]
            selection.select(codes: codes, index: index, range: start ..< end, tables: tables, k: k, into: &afterSinks)
            XCTAssertEqual(afterSinks, [0, 1, 2] + got, "trial \(trial), appended")
        }
    }

    // Reference: a counting sort written out differently (group token ids by stable sort on code).
    func testIndexGroupsTokensByCodeInAscendingOrder() {
        var g = SeededGenerator(seed: 7)
        let c = 37, n = 1000
        let codes = (0 ..< n).map { _ in UInt16(g.next() % UInt64(c)) }
        let index = CodeIndex(centroidCount: c)
        index.rebuild(codes: codes, count: n)
        let expected = (0 ..< n).sorted { (codes[$0], $0) < (codes[$1], $1) }
        XCTAssertEqual(Array(index.tokens.prefix(n)), expected.map(Int32.init))
        for code in 0 ..< c {
            XCTAssertEqual(Int(index.offsets[code + 1] - index.offsets[code]), codes.filter { Int($0) == code }.count)
        }
    }
}
