import Foundation

/// Finds special tokens (GGUF token types 3 "control" and 4 "user-defined") written in the
/// input, so `"<|im_start|>"` becomes one id instead of seven byte-level pieces. Matching is
/// leftmost-longest over UTF-8 bytes, like Hugging Face's added-vocabulary split, and runs
/// before pre-tokenization so the text between two specials is tokenized on its own.
struct SpecialTokenMatcher {
    /// Candidates by first byte, longest first.
    private var byFirstByte: [[(bytes: [UInt8], id: Int)]] = Array(repeating: [], count: 256)

    init(tokens: [String], tokenTypes: [Int]) {
        self.init(entries: tokens.enumerated().filter { tokenTypes[$0.offset] == 3 || tokenTypes[$0.offset] == 4 }
            .map { (text: $0.element, id: $0.offset) })
    }

    /// Matches each `(text, id)` (tokenizer.json `added_tokens`).
    init(entries: [(text: String, id: Int)]) {
        for (token, id) in entries {
            let bytes = Array(token.utf8)
            guard let first = bytes.first else { continue }
            byFirstByte[Int(first)].append((bytes, id))
        }
        for k in 0..<256 { byFirstByte[k].sort { $0.bytes.count > $1.bytes.count } }
    }

    /// One piece of input: a byte range of ordinary text, or a special token's id.
    enum Piece: Equatable {
        case text(Range<Int>)
        case special(Int)
    }

    /// Cuts `bytes` into ordinary stretches and special tokens, in order.
    func pieces(of bytes: [UInt8]) -> [Piece] {
        var out: [Piece] = []
        var textStart = 0
        var i = 0
        bytes.withUnsafeBufferPointer { buffer in
            let n = buffer.count
            while i < n {
                let candidates = byFirstByte[Int(buffer[i])]
                var matched: (length: Int, id: Int)?
                for candidate in candidates where candidate.bytes.count <= n - i {
                    if candidate.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, buffer.baseAddress! + i, $0.count) == 0 }) {
                        matched = (candidate.bytes.count, candidate.id)
                        break
                    }
                }
                if let (length, id) = matched {
                    if textStart < i { out.append(.text(textStart..<i)) }
                    out.append(.special(id))
                    i += length
                    textStart = i
                } else {
                    i += 1
                }
            }
            if textStart < n { out.append(.text(textStart..<n)) }
        }
        return out
    }
}
