@testable import A2ATSMethods
import A2ATSTensor
import XCTest

/// Partial selection against a full sort by (score descending, index ascending).
final class TopKTests: XCTestCase {
    func testPartitionEqualsSortedPrefixWithTies() {
        var rng = SeededGenerator(seed: 3)
        for trial in 0..<200 {
            let n = Int.random(in: 1...300, using: &rng)
            // Few distinct values force many ties.
            let scores = (0..<n).map { _ in Float(Int.random(in: 0...(trial % 2 == 0 ? 5 : 1000), using: &rng)) }
            let k = Int.random(in: 0...n, using: &rng)
            let expected = (0..<n).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                .prefix(k).sorted().map { Int32($0) }
            let got = scores.withUnsafeBufferPointer { TopK.best(k, of: (0..<n).map { Int32($0) }, scores: $0.baseAddress!) }
            XCTAssertEqual(got, expected, "n \(n) k \(k)")
        }
    }
}
