import A2ATSModel

/// Whether to wrap prompts in the model's chat template.
public enum ChatTemplateMode: String, Sendable {
    /// The task's own rule (LongBench: per dataset; RULER: "base", no template).
    case auto
    case on
    case off
}

/// A prompt ready for the model.
public struct BuiltPrompt: Equatable {
    /// The text fed to the model (chat template and answer prefix included).
    public var text: String
    /// Ids fed to the model: BOS (if the model adds one) then the tokens of `text`.
    public var tokenIDs: [Int]
    /// Whether the middle of the prompt was cut to fit the budget.
    public var truncated: Bool
    /// Whether the chat template was applied.
    public var chatTemplated: Bool
}

/// Builds prompts the way RULER and LongBench's own pipelines do:
/// - LongBench/custom: fill the dataset template, cut the middle to `maxPromptTokens`
///   (first and last half of the allowed tokens, decoded back to text, as LongBench's
///   `pred.py`), then wrap in the chat template unless the dataset runs raw.
/// - RULER: "base" is `input + answer_prefix` as plain text; "chat" wraps `input` in the
///   chat template and appends `answer_prefix` inside the opened assistant turn. The
///   template is applied once, never to text that already carries it.
public struct PromptBuilder {
    public let tokenizer: TextTokenizer
    /// Prompt budget in tokens (the model context minus the answer tokens, or `--max-length`).
    public let maxPromptTokens: Int
    public let chatTemplate: ChatTemplateMode

    public init(tokenizer: TextTokenizer, maxPromptTokens: Int, chatTemplate: ChatTemplateMode = .auto) {
        self.tokenizer = tokenizer
        self.maxPromptTokens = maxPromptTokens
        self.chatTemplate = chatTemplate
    }

    public func build(_ sample: EvalSample, task: TaskDefinition) throws -> BuiltPrompt {
        let wantsChat: Bool
        switch chatTemplate {
        case .auto: wantsChat = task.chatTemplate
        case .on: wantsChat = true
        case .off: wantsChat = false
        }
        // Specials the model adds around the user text count against the budget.
        let bosCount = tokenizer.bosTokenID == nil ? 0 : 1
        var truncated = false
        var body: String
        var prefix: String
        if task.source == .ruler || sample.context == nil {
            body = sample.input
            prefix = sample.answerPrefix
        } else {
            body = PromptBuilder.fill(task.template, context: sample.context ?? "", input: sample.input)
            prefix = sample.answerPrefix.isEmpty ? task.answerPrefix : sample.answerPrefix
        }
        let overhead = wantsChat ? chatOverhead() : 0
        let prefixTokens = prefix.isEmpty ? 0 : tokenizer.encode(prefix).count
        let budget = maxPromptTokens - bosCount - overhead - prefixTokens
        var tokens = tokenizer.encode(body)
        if tokens.count > budget {
            guard task.truncation == .middle, budget > 1 else {
                throw TaskError.promptTooLong(task: task.name, id: sample.id,
                                              tokens: tokens.count + bosCount + overhead + prefixTokens,
                                              limit: maxPromptTokens)
            }
            let half = budget / 2
            body = tokenizer.decode(Array(tokens[..<half])) + tokenizer.decode(Array(tokens[(tokens.count - half)...]))
            tokens = tokenizer.encode(body)
            truncated = true
        }
        var text = body + prefix
        var chatTemplated = false
        if wantsChat, let wrapped = tokenizer.chatPrompt(user: body) {
            text = wrapped + prefix
            chatTemplated = true
        }
        return BuiltPrompt(text: text, tokenIDs: tokenizer.encodeForModel(text), truncated: truncated,
                           chatTemplated: chatTemplated)
    }

    /// LongBench's `prompt_format.format(**json_obj)` for the two fields its templates use;
    /// `{question}` is accepted for `{input}` in custom task templates.
    public static func fill(_ template: String, context: String, input: String) -> String {
        // Replace placeholders in one left-to-right pass so that braces inside the context
        // or question are never taken for placeholders.
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            let after = rest[open...]
            if after.hasPrefix("{context}") {
                result += context
                rest = after.dropFirst("{context}".count)
            } else if after.hasPrefix("{input}") {
                result += input
                rest = after.dropFirst("{input}".count)
            } else if after.hasPrefix("{question}") {
                result += input
                rest = after.dropFirst("{question}".count)
            } else {
                result += "{"
                rest = after.dropFirst()
            }
        }
        return result + rest
    }

    /// Tokens the chat template adds around the user text.
    private func chatOverhead() -> Int {
        guard let wrapped = tokenizer.chatPrompt(user: "") else { return 0 }
        return tokenizer.encode(wrapped).count
    }
}
