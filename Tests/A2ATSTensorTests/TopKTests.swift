import A2ATSTensor
import XCTest

/// Partial selection against a full sort by (score descending, index ascending).
final class TopKTests: XCTestCase {
    // Reference: a full sort of all indices by (score descending, index ascending), first k, ascending.
    func testPartitionEqualsSortedPrefixWithTies() {
        var rng = SeededGenerator(seed: 3)
        let selector = TopKSelector()
        for trial in 0..<200 {
            let n = Int.random(in: 1...300, using: &rng)
            // Few distinct values force many ties.
            let scores = (0..<n).map { _ in Float(Int.random(in: 0...(trial % 2 == 0 ? 5 : 1000), using: &rng)) }
            let k = Int.random(in: 0...n, using: &rng)
            let expected = (0..<n).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                .prefix(k).sorted().map { Int32($0) }
            var out = [Int32](repeating: -1, count: n)
            let found = selector.select(scores, count: n, k: k, into: &out)
            XCTAssertEqual(Array(out.prefix(found)), expected, "n \(n) k \(k)")
        }
    }
}
