import A2ATSModel
import A2ATSTasks
import A2ATSTensor

/// Calibration text as the A²ATS reference builds it: natural prose mixed with random UUID
/// strings (so that codebooks also cover the high-entropy keys retrieval tasks ask about).
/// The prose is a public-domain novel no task uses (`CalibrationText`), so the codebooks are not
/// fitted on any haystack or context they are then tested on; it is cycled from shifting offsets
/// when more tokens are asked for than it holds.
enum CalibrationCorpus {
    /// Names the text in each codebook's metadata; codebooks fitted on another text are refitted.
    static let description = "Pride and Prejudice (Data/calibration.txt) mixed with random UUIDs, tokenized"

    /// `count` sequences of `length` tokens each, deterministic for `seed`.
    static func sequences(count: Int, length: Int, tokenizer: TextTokenizer, seed: UInt64) throws -> [[Int]] {
        let words = try CalibrationText.words()
        var random = SeededGenerator(seed: seed)
        var sequences: [[Int]] = []
        var cursor = 0
        for _ in 0..<count {
            var tokens = tokenizer.bosTokenID.map { [$0] } ?? []
            while tokens.count < length {
                // About one UUID per 60 words of prose.
                let paragraph = (0..<60).map { words[(cursor + $0) % words.count] }.joined(separator: " ")
                cursor += 60
                tokens += tokenizer.encode(paragraph + " " + uuid(&random) + "\n")
            }
            sequences.append(Array(tokens.prefix(length)))
            cursor += Int(random.next() % 997)
        }
        return sequences
    }

    private static func uuid(_ random: inout SeededGenerator) -> String {
        let hex = Array("0123456789abcdef")
        let groups = [8, 4, 4, 4, 12]
        return groups.map { size in String((0..<size).map { _ in hex[Int(random.next() % 16)] }) }.joined(separator: "-")
    }
}
