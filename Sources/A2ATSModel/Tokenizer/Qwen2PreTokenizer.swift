/// Qwen2's word regex (GGUF `tokenizer.ggml.pre` = "qwen2"; Hugging Face's Qwen2 tokenizer.json
/// `Split` pattern, llama.cpp's `LLAMA_VOCAB_PRE_TYPE_QWEN2`):
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|`
/// ` ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` — Llama-3's regex with single digits
/// (`\p{N}` where Llama-3 takes up to three), so it shares Llama-3's scanner.
struct Qwen2PreTokenizer: RegexScanningPreTokenizer {
    /// End of the regex match starting at `i` (always > i).
    static func matchEnd(_ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
                         _ i: Int, _ end: Int) -> Int {
        Llama3PreTokenizer.matchEnd(values, classes, i, end, digitRun: 1)
    }
}
