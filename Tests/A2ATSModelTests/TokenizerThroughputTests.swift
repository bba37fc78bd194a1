import A2ATSModel
import Foundation
import XCTest

/// Encode throughput, printed for the record (task generation tokenizes 8K–16K-token
/// prompts many times while fitting lengths). Measure in release:
/// `swift test -c release --filter TokenizerThroughputTests`. No speed is asserted, since
/// shared machines are noisy; the test checks only that encoding is lossless.
final class TokenizerThroughputTests: XCTestCase {
    /// ~`bytes` of English-like prose: words drawn (seeded, Zipf-like) from the vocabulary's
    /// own whole-word tokens, with punctuation, numbers and paragraph breaks.
    private func prose(bytes: Int) -> String {
        let words = TokenizerFixture.vocabulary.tokens.compactMap { token -> String? in
            guard token.hasPrefix("Ġ"), token.count > 2,
                  token.dropFirst().allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
            return String(token.dropFirst())
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        var text = ""
        text.reserveCapacity(bytes + 64)
        var sentence = 0
        while text.utf8.count < bytes {
            // Zipf-like: squaring a uniform draw favours the frequent (low-id) words.
            let u = Double(next() % 1_000_000) / 1_000_000
            text += words[Int(u * u * Double(words.count))]
            sentence += 1
            switch next() % 40 {
            case 0: text += ", "
            case 1: text += " \(next() % 10_000) "
            case 2: text += ". "; if next() % 5 == 0 { text += "\n\n" }
            default: text += " "
            }
        }
        return text
    }

    private func measure(_ label: String, _ text: String) -> Double {
        let tokenizer = TokenizerFixture.smollm
        let start = Date()
        let ids = tokenizer.encode(text)
        let seconds = Date().timeIntervalSince(start)
        let megabytes = Double(text.utf8.count) / 1_000_000
        print(String(format: "tokenizer encode (%@): %.2f MB in %.3f s = %.2f MB/s, %d tokens",
                     label, megabytes, seconds, megabytes / seconds, ids.count))
        XCTAssertEqual(tokenizer.decode(ids), text)
        return megabytes / seconds
    }

    func testEncodeThroughput() {
        #if DEBUG
        let size = 400_000  // keep the debug suite quick; release measures the full 2 MB
        #else
        let size = 2_000_000
        #endif
        let text = prose(bytes: size)
        _ = measure("prose, cold cache", text)
        _ = measure("prose, warm cache", text)
        // Few repeated words: every word misses the cache.
        var state: UInt64 = 7
        var random = ""
        while random.utf8.count < size / 4 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            random += String(state >> 20, radix: 36) + " "
        }
        _ = measure("random base-36 words", random)
    }
}
