import A2ATSModel

/// A small deterministic tokenizer for tests (the real BPE tokenizer lives in A2ATSModel):
/// a token is a run of ASCII letters or digits, or any other single character. Ids come
/// from a vocabulary that grows as text is seen, so decode(encode(x)) == x.
final class TestTokenizer: TextTokenizer {
    private var pieces: [String] = []
    private var ids: [String: Int] = [:]
    let bosTokenID: Int?
    let stopTokenIDs: Set<Int> = []
    let chatWrapper: ((String) -> String)?
    /// How many times `encode` ran: the generator's cost with a real tokenizer.
    private(set) var encodeCalls = 0

    init(bos: Int? = nil, chat: ((String) -> String)? = nil) {
        bosTokenID = bos
        chatWrapper = chat
    }

    func encode(_ text: String) -> [Int] {
        encodeCalls += 1
        var result: [Int] = []
        var run = ""
        func flush() {
            if !run.isEmpty { result.append(id(run)); run = "" }
        }
        for scalar in text.unicodeScalars {
            if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) {
                run.unicodeScalars.append(scalar)
            } else {
                flush()
                result.append(id(String(scalar)))
            }
        }
        flush()
        return result
    }

    func decode(_ tokens: [Int]) -> String { tokens.map { pieces[$0] }.joined() }

    func chatPrompt(user: String) -> String? { chatWrapper?(user) }

    private func id(_ piece: String) -> Int {
        if let known = ids[piece] { return known }
        ids[piece] = pieces.count
        pieces.append(piece)
        return pieces.count - 1
    }
}

/// ChatML as the default model's template writes it.
func chatML(_ user: String) -> String {
    "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
}
