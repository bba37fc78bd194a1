import A2ATSSupport
import Foundation

/// A tokenizer loaded from a Hugging Face checkpoint directory: `tokenizer.json` (a BPE model,
/// byte-level as in Llama-3/Qwen2/SmolLM or SentencePiece-style with `<0xNN>` byte fallback as
/// in Llama-2/TinyLlama/Mistral, with its normalizer, pre-tokenizer, decoder and added tokens)
/// and `tokenizer_config.json` (BOS/EOS, `add_bos_token`, `chat_template`, else
/// `chat_template.jinja`). Ids equal Hugging Face `tokenizers` on the fixtures of
/// scripts/make_hf_tokenizer_fixtures.py (HuggingFaceTokenizerParityTests).
public final class HuggingFaceTokenizer: TextTokenizer, @unchecked Sendable {
    public let bosTokenID: Int?
    public let stopTokenIDs: Set<Int>
    /// Vocabulary size including added tokens (ids are 0..<vocabularySize).
    public var vocabularySize: Int { tokenTexts.count }
    /// The parsed chat template, nil when the directory has none.
    public let chatTemplate: JinjaTemplate?
    /// One line for run manifests: the model kind, pre-tokenizer and normalizer types, vocabulary size.
    public let summary: String
    /// `bos_token` / `eos_token` texts the chat template sees.
    public let bosText: String?
    public let eosText: String?

    private let normalizer: HFNormalizer?
    private let preTokenization: HFPreTokenization
    private let encoder: BytePairEncoder
    private let added: SpecialTokenMatcher
    private let decoder: HFDecoder
    /// Token string of each id (vocabulary entry or added token's content; "" in gaps).
    private let tokenTexts: [String]

    /// Reads `tokenizer.json`, `tokenizer_config.json` (optional) and `chat_template.jinja`
    /// (optional) from `directory`.
    public static func load(directory: URL) throws -> HuggingFaceTokenizer {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let tokenizerJSON = try readJSON(tokenizerURL)
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let config = try FileManager.default.fileExists(atPath: configURL.path) ? readJSON(configURL) : nil
        let templateURL = directory.appendingPathComponent("chat_template.jinja")
        let templateFile = (try? Data(contentsOf: templateURL)).map { String(decoding: $0, as: UTF8.self) }
        return try HuggingFaceTokenizer(tokenizerJSON: tokenizerJSON, config: config, chatTemplateFile: templateFile,
                                        tokenizerFile: tokenizerURL.path, configFile: configURL.path)
    }

    private static func readJSON(_ url: URL) throws -> JSONValue {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw HuggingFaceTokenizerError.unreadable(file: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        do {
            return try data.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
        } catch {
            throw HuggingFaceTokenizerError.unreadable(file: url.path, reason: "not valid JSON: \(error)")
        }
    }

    /// - Parameters: the parsed files; `tokenizerFile`/`configFile` name them in errors.
    public init(tokenizerJSON: JSONValue, config: JSONValue?, chatTemplateFile: String? = nil,
                tokenizerFile: String = "tokenizer.json", configFile: String = "tokenizer_config.json") throws {
        let root = HFField(file: tokenizerFile, path: "", value: tokenizerJSON)
        _ = try root.object()
        let model = root.child("model")
        let modelType = try model.child("type").optionalString() ?? "BPE"
        guard modelType == "BPE" else { throw model.child("type").unsupported(modelType, supported: ["BPE"]) }
        // Qwen2's files write the affixes as "" rather than null: both mean none.
        for option in ["dropout", "continuing_subword_prefix", "end_of_word_suffix"]
        where !model.child(option).isAbsent && model.child(option).value != .string("") {
            throw model.child(option).bad("must be null (BPE dropout and subword affixes are not supported)")
        }

        // Vocabulary and added tokens.
        var idOfToken: [String: Int32] = [:]
        var texts: [String] = []
        for (token, idValue) in try model.child("vocab").object() {
            guard let id = idValue.intValue, id >= 0, id < 10_000_000 else {
                throw model.child("vocab").child(token).bad("expected a token id")
            }
            idOfToken[token] = Int32(id)
            if id >= texts.count { texts += Array(repeating: "", count: id + 1 - texts.count) }
            texts[id] = token
        }
        guard !idOfToken.isEmpty else { throw model.child("vocab").bad("empty vocabulary") }
        var addedEntries: [(text: String, id: Int)] = []
        let addedField = root.child("added_tokens")
        for entry in try (addedField.isAbsent ? [] : addedField.array()) {
            let content = try entry.child("content").string()
            let id = try entry.child("id").int()
            guard id >= 0, id < 10_000_000 else { throw entry.child("id").bad("id \(id) out of range") }
            for option in ["single_word", "lstrip", "rstrip"] {
                if try entry.child(option).bool(default: false) {
                    throw entry.child(option).unsupported("true", supported: ["false"])
                }
            }
            if id >= texts.count { texts += Array(repeating: "", count: id + 1 - texts.count) }
            texts[id] = content
            addedEntries.append((content, id))
        }
        tokenTexts = texts

        // The BPE model.
        var pairs: [(String, String)] = []
        let mergesField = model.child("merges")
        guard let mergeValues = mergesField.value?.arrayValue else { throw mergesField.bad("expected an array") }
        pairs.reserveCapacity(mergeValues.count)
        for (index, value) in mergeValues.enumerated() {
            // The field (and its path text) is built only for an error: there are ~10^5 merges.
            var merge: HFField { HFField(file: tokenizerFile, path: "model.merges[\(index)]", value: value) }
            if let text = value.stringValue {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw merge.bad("expected \"left right\" with one space, found \"\(text)\"")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            } else if let items = value.arrayValue, items.count == 2,
                      let left = items[0].stringValue, let right = items[1].stringValue {
                pairs.append((left, right))
            } else {
                throw merge.bad("expected \"left right\" or [\"left\", \"right\"]")
            }
        }
        let decoderField = root.child("decoder")
        let byteLevel = HuggingFaceTokenizer.usesByteLevel(root)
        let alphabet: BytePairEncoder.Alphabet
        if byteLevel {
            alphabet = .byteLevel
        } else {
            let unknown = try model.child("unk_token").optionalString()
            let unknownID = try unknown.map { name -> Int32 in
                guard let id = idOfToken[name] else { throw model.child("unk_token").bad("\"\(name)\" is not in the vocabulary") }
                return id
            }
            alphabet = .characters(byteFallback: try model.child("byte_fallback").bool(default: false),
                                   unknownID: unknownID, fuseUnknown: try model.child("fuse_unk").bool(default: false))
        }
        do {
            encoder = try BytePairEncoder(idOfToken: idOfToken, merges: pairs,
                                          ignoreMerges: try model.child("ignore_merges").bool(default: false), alphabet: alphabet)
        } catch TokenizerError.badMerge(let index, let merge, let problem) {
            throw HFField(file: tokenizerFile, path: "model.merges[\(index)]", value: nil).bad("\"\(merge)\": \(problem)")
        }
        func types(_ value: JSONValue?) -> String {
            guard let value, value != .null else { return "none" }
            let type = value["type"]?.stringValue ?? "?"
            let inner = (value["pretokenizers"] ?? value["normalizers"])?.arrayValue
            return inner.map { "\(type)[\($0.map { types($0) }.joined(separator: ", "))]" } ?? type
        }
        summary = "tokenizer.json BPE (" + (byteLevel ? "byte-level" : "SentencePiece-style")
            + ", pre-tokenizer \(types(root.child("pre_tokenizer").value)), normalizer \(types(root.child("normalizer").value))"
            + "), vocab \(texts.count)"
        normalizer = try HFNormalizer.parse(root.child("normalizer"))
        preTokenization = try HFPreTokenization.parse(root.child("pre_tokenizer"))
        decoder = try HFDecoder.parse(decoderField, fallback: byteLevel ? .byteLevel : .fuse)
        added = SpecialTokenMatcher(entries: addedEntries)

        // tokenizer_config.json: BOS/EOS, add_bos_token, the chat template.
        let settings = HFField(file: configFile, path: "", value: config)
        func tokenText(_ key: String) throws -> String? {
            let field = settings.child(key)
            if field.isAbsent { return nil }
            if field.value?.objectValue != nil { return try field.child("content").string() }
            return try field.string()
        }
        let idOf: (String) -> Int? = { text in
            addedEntries.last(where: { $0.text == text })?.id ?? idOfToken[text].map(Int.init)
        }
        bosText = try tokenText("bos_token")
        eosText = try tokenText("eos_token")
        if try settings.child("add_eos_token").bool(default: false) {
            throw settings.child("add_eos_token").unsupported("true", supported: ["false"])
        }
        if !settings.child("add_bos_token").isAbsent {
            if try settings.child("add_bos_token").bool(default: false) {
                guard let bosText else { throw settings.child("bos_token").bad("missing, but add_bos_token is true") }
                guard let id = idOf(bosText) else { throw settings.child("bos_token").bad("\"\(bosText)\" is not a token") }
                bosTokenID = id
            } else {
                bosTokenID = nil
            }
        } else {
            bosTokenID = try HuggingFaceTokenizer.postProcessorBOS(root.child("post_processor"))
        }
        var stops = Set<Int>()
        if let eosText, let id = idOf(eosText) { stops.insert(id) }
        for text in ["<|im_end|>", "<|eot_id|>", "<|endoftext|>"] {
            if let id = addedEntries.first(where: { $0.text == text })?.id { stops.insert(id) }
        }
        stopTokenIDs = stops

        let templateField = settings.child("chat_template")
        var templateText = chatTemplateFile
        if let text = templateField.value?.stringValue {
            templateText = text
        } else if let named = templateField.value?.arrayValue {
            templateText = named.first(where: { $0["name"]?.stringValue == "default" })?["template"]?.stringValue
            if templateText == nil { throw templateField.bad("no template named \"default\"") }
        }
        if let templateText {
            do {
                chatTemplate = try JinjaTemplate(templateText)
            } catch let error as JinjaError {
                throw HuggingFaceTokenizerError.chatTemplate(file: configFile, error: error)
            }
        } else {
            chatTemplate = nil
        }
        if chatTemplate != nil {
            do {
                _ = try renderChat([ChatMessage(role: "user", content: "Hello")], addGenerationPrompt: true)
            } catch let error as JinjaError {
                throw HuggingFaceTokenizerError.chatTemplate(file: configFile, error: error)
            }
        }
    }

    /// Byte-level when the pre-tokenizer or decoder is ByteLevel (searched through Sequences).
    private static func usesByteLevel(_ root: HFField) -> Bool {
        func find(_ value: JSONValue?) -> Bool {
            guard let value else { return false }
            if value["type"]?.stringValue == "ByteLevel" { return true }
            for key in ["pretokenizers", "decoders"] {
                if let items = value[key]?.arrayValue, items.contains(where: { find($0) }) { return true }
            }
            return false
        }
        return find(root.child("pre_tokenizer").value) || find(root.child("decoder").value)
    }

    /// The id a `TemplateProcessing` post-processor puts before a single sequence, if any.
    private static func postProcessorBOS(_ field: HFField) throws -> Int? {
        if field.isAbsent { return nil }
        let type = try field.type()
        if type == "Sequence" {
            for stage in try field.child("processors").array() {
                if let id = try postProcessorBOS(stage) { return id }
            }
            return nil
        }
        guard type == "TemplateProcessing" else { return nil }
        let single = try field.child("single").array()
        guard let first = single.first, let name = first.value?["SpecialToken"]?["id"]?.stringValue else { return nil }
        if single.count > 2 || single.last?.value?["SpecialToken"] != nil {
            throw field.child("single").bad("only a BOS before the sequence is supported (no EOS appended)")
        }
        let ids = try field.child("special_tokens").child(name).child("ids").array()
        guard ids.count == 1 else { throw field.child("special_tokens").child(name).bad("expected one id") }
        return try ids[0].int()
    }

    public func encode(_ text: String) -> [Int] {
        encoder.encode(Array(text.utf8), specials: added, prepare: { piece, atStart in
            var stretch = String(decoding: piece, as: UTF8.self)
            if let normalizer { stretch = normalizer.apply(stretch) }
            return ArraySlice(preTokenization.rewrite(stretch, atStart: atStart).utf8)
        }, split: { scalars, words in
            if let splitter = preTokenization.splitter {
                splitter.split(scalars, 0..<scalars.count, into: &words)
            } else if scalars.count > 0 {
                words.append(0..<scalars.count)
            }
        })
    }

    /// Hugging Face `decode(ids, skip_special_tokens=False)`; ids outside the vocabulary are skipped.
    public func decode(_ tokens: [Int]) -> String {
        let texts = tokens.compactMap { $0 >= 0 && $0 < tokenTexts.count ? tokenTexts[$0] : nil }
        return decoder.decode(texts).joined()
    }

    /// The template's rendering of `messages` (transformers' `apply_chat_template(tokenize=False)`).
    public func renderChat(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        guard let chatTemplate else { throw JinjaError.runtime(line: 0, column: 0, message: "the model has no chat template") }
        var context: [String: JinjaValue] = [
            "messages": .list(messages.map { .dictionary(["role": .string($0.role), "content": .string($0.content)]) }),
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        if let bosText { context["bos_token"] = .string(bosText) }
        if let eosText { context["eos_token"] = .string(eosText) }
        return try chatTemplate.render(context)
    }

    /// One user turn with the assistant turn opened. A leading BOS text is dropped when the
    /// tokenizer adds the BOS id itself (`encodeForModel`), so the model sees one BOS, as
    /// transformers' `apply_chat_template(tokenize=True)` gives.
    public func chatPrompt(user: String) -> String? {
        guard var text = try? renderChat([ChatMessage(role: "user", content: user)], addGenerationPrompt: true) else {
            return nil
        }
        if bosTokenID != nil, let bosText, text.hasPrefix(bosText) { text.removeFirst(bosText.count) }
        return text
    }
}

/// One chat turn for `renderChat`.
public struct ChatMessage: Equatable, Sendable {
    public let role: String
    public let content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
