import A2ATSModel

extension FuzzTarget {
    /// Chat template text (`chat_template` of tokenizer_config.json, or chat_template.jinja),
    /// parsed by the Jinja interpreter and rendered with a fixed three-turn conversation (no system turn, which some
    /// templates refuse).
    /// `JinjaError` names the template line and column; the tokenizer adds the file.
    static let chatTemplate = FuzzTarget(
        name: "chat-template",
        summary: "chat templates (A2ATSModel JinjaTemplate: lexer, parser, renderer, filters and builtins) "
            + "rendered with a fixed conversation",
        fileName: "chat_template.jinja"
    ) { run in
        let source = String(decoding: run.bytes, as: UTF8.self)
        var parsed: JinjaTemplate?
        try run.stage("JinjaTemplate", refusal: [JinjaError.self], naming: nil) {
            parsed = try JinjaTemplate(source)
        }
        guard let template = parsed else { return }
        let turns: [(String, String)] = [
            ("user", "Hi <b>\"there\"</b>"), ("assistant", "Hello."), ("user", "2+2? 東京"),
        ]
        let context: [String: JinjaValue] = [
            "messages": .list(turns.map { .dictionary(["role": .string($0.0), "content": .string($0.1)]) }),
            "add_generation_prompt": .bool(true), "bos_token": .string("<s>"), "eos_token": .string("</s>"),
        ]
        try run.stage("JinjaTemplate.render", refusal: [JinjaError.self], naming: nil) {
            _ = try template.render(context)
        }
    }
}
