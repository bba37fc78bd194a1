/// What the rest of the harness needs from a tokenizer: task generation measures prompts in
/// the model's own tokens, the runner encodes prompts and decodes predictions.
public protocol TextTokenizer: AnyObject {
    /// Token ids of `text`, special tokens (such as `<|im_start|>`) kept whole, no BOS added.
    func encode(_ text: String) -> [Int]
    /// Text of `tokens`; byte-level pieces that do not form valid UTF-8 become U+FFFD.
    func decode(_ tokens: [Int]) -> String
    /// The id the model expects first, or nil when the model adds none.
    var bosTokenID: Int? { get }
    /// Ids that end generation (EOS and end-of-turn tokens).
    var stopTokenIDs: Set<Int> { get }
    /// `user` wrapped in the model's chat template with the assistant turn opened,
    /// or nil when the model carries no template.
    func chatPrompt(user: String) -> String?
    /// One line for run manifests: where the tokenizer came from, its kind and vocabulary.
    var summary: String { get }
}

extension TextTokenizer {
    /// Test and fuzz tokenizers go by their type's name.
    public var summary: String { String(describing: type(of: self)) }

    /// Ids fed to the model for `text`: BOS (if the model adds one) followed by `encode`.
    public func encodeForModel(_ text: String) -> [Int] {
        (bosTokenID.map { [$0] } ?? []) + encode(text)
    }
}
