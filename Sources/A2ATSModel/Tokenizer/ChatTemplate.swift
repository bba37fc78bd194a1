import Foundation

/// The chat templates we render without a Jinja engine: the known ChatML form (SmolLM2,
/// Qwen, many fine-tunes) and the Llama-3 header form. We recognize them from the template
/// text and render a single user turn with the assistant turn opened, exactly as the
/// template would with `add_generation_prompt=true`. Anything else is not guessed at.
enum ChatTemplate: Equatable {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n`; `defaultSystem` is the system prompt the
    /// template injects when the conversation has none (SmolLM2 and Qwen do).
    case chatML(defaultSystem: String?)
    /// `<|start_header_id|>{role}<|end_header_id|>\n\n{content | trim}<|eot_id|>`; the
    /// template's own BOS text is left out because `encodeForModel` adds the BOS id.
    case llama3

    init?(template: String) {
        if template.contains("<|im_start|>") {
            self = .chatML(defaultSystem: ChatTemplate.literalSystemPrompt(in: template))
        } else if template.contains("<|start_header_id|>") && !template.contains("Cutting Knowledge Date")
                    && !template.contains("system_message") {
            // Llama 3.1+ templates add a dated system block (today's date for 3.2): left out.
            self = .llama3
        } else {
            return nil
        }
    }

    func render(user: String) -> String {
        switch self {
        case .chatML(let system):
            var out = ""
            if let system { out += "<|im_start|>system\n\(system)<|im_end|>\n" }
            return out + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .llama3:
            return "<|start_header_id|>user<|end_header_id|>\n\n\(ChatTemplate.trim(user))<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        }
    }

    /// The text of a string literal `'<|im_start|>system\n…<|im_end|>` in the template, if
    /// the template writes one (a default system prompt); nil if the system turn is built
    /// from the message (then the literal is interrupted by a quote or an expression).
    private static func literalSystemPrompt(in template: String) -> String? {
        for opening in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            var searchStart = template.startIndex
            while let start = template.range(of: opening, range: searchStart..<template.endIndex),
                  let end = template.range(of: "<|im_end|>", range: start.upperBound..<template.endIndex) {
                let body = template[start.upperBound..<end.lowerBound]
                if !body.isEmpty && !body.contains(where: { "'\"{}+".contains($0) }) {
                    return body.replacingOccurrences(of: "\\n", with: "\n")
                }
                searchStart = start.upperBound
            }
        }
        return nil
    }

    /// Jinja's `trim` (Python `str.strip()`): drop leading and trailing whitespace.
    private static func trim(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
