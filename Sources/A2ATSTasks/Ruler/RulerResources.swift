import Foundation
import A2ATSSupport

/// The texts RULER's generators draw from, loaded once from the module's bundle
/// (provenance in `Data/PROVENANCE.md`); nothing is fetched at run time.
public final class RulerResources: @unchecked Sendable {
    /// Essay haystack as RULER splits it: all white space collapsed, split on spaces.
    public let essayWords: [String]
    /// RULER's word keys are "adjective-noun" pairs; the pair is drawn from these two
    /// sorted lists rather than from RULER's materialized list of all ~6 million pairs.
    public let keyAdjectives: [String]
    public let keyNouns: [String]
    /// RULER's common-words vocabulary: nouns, adjectives and verbs, de-duplicated and sorted.
    public let commonWords: [String]
    /// SQuAD-style documents and questions (qa_1).
    public let squad: QASet
    /// HotpotQA-style documents and questions (qa_2).
    public let hotpot: QASet

    /// One question with the indices of its gold documents in `docs`.
    public struct QAItem: Sendable {
        public let query: String
        public let outputs: [String]
        public let context: [Int]
    }

    public struct QASet: Sendable {
        public let docs: [String]
        public let items: [QAItem]
    }

    nonisolated(unsafe) private static var cached: RulerResources?
    private static let lock = NSLock()

    /// The bundled resources, loaded on first use.
    public static func shared() throws -> RulerResources {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        let loaded = try RulerResources()
        cached = loaded
        return loaded
    }

    private init() throws {
        let essay = try RulerResources.text("essay.txt")
        essayWords = essay.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map(String.init)

        let words = try RulerResources.json("words.json")
        func list(_ key: String) throws -> [String] {
            guard let items = words[key]?.arrayValue?.compactMap(\.stringValue), !items.isEmpty else {
                throw TaskError.missingResource("words.json: \(key)")
            }
            return items
        }
        let nouns = try list("nouns"), adjectives = try list("adjectives"), verbs = try list("verbs")
        keyAdjectives = Set(adjectives).sorted()
        keyNouns = Set(nouns).sorted()
        commonWords = Set(nouns + adjectives + verbs).sorted()

        let squadJSON = try RulerResources.json("qa_squad.json")
        let squadDocs = squadJSON["docs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let squadItems = (squadJSON["qas"]?.arrayValue ?? []).compactMap { item -> QAItem? in
            guard let query = item["query"]?.stringValue,
                  let outputs = item["outputs"]?.arrayValue?.compactMap(\.stringValue),
                  let context = item["context"]?.arrayValue?.compactMap(\.intValue) else { return nil }
            return QAItem(query: query, outputs: outputs, context: context)
        }
        guard !squadDocs.isEmpty, !squadItems.isEmpty else { throw TaskError.missingResource("qa_squad.json") }
        squad = QASet(docs: squadDocs, items: squadItems)

        // RULER's read_hotpotqa: a document is "title\n" + its sentences joined; documents
        // de-duplicated and sorted. The squad paragraphs join the pool as further distractors
        // because the shipped set is small.
        guard let hotpotItems = try RulerResources.jsonValue("qa_hotpot.json").arrayValue else {
            throw TaskError.missingResource("qa_hotpot.json")
        }
        var parsed: [(String, String, [String])] = []
        for item in hotpotItems {
            guard let question = item["question"]?.stringValue, let answer = item["answer"]?.stringValue,
                  let context = item["context"]?.arrayValue else { continue }
            let docs = context.compactMap { pair -> String? in
                guard let parts = pair.arrayValue, parts.count == 2, let title = parts[0].stringValue,
                      let sentences = parts[1].arrayValue?.compactMap(\.stringValue) else { return nil }
                return title + "\n" + sentences.joined()
            }
            parsed.append((question, answer, docs))
        }
        let allDocs = Set(parsed.flatMap(\.2) + squadDocs).sorted()
        var position: [String: Int] = [:]
        for (i, doc) in allDocs.enumerated() { position[doc] = i }
        hotpot = QASet(docs: allDocs, items: parsed.map { question, answer, docs in
            QAItem(query: question, outputs: [answer], context: docs.compactMap { position[$0] })
        })
    }

    /// A random "adjective-noun" key.
    public func wordKey(_ random: inout SeededRandom) -> String {
        random.element(of: keyAdjectives) + "-" + random.element(of: keyNouns)
    }

    private static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Data/\(name)"),
              FileManager.default.fileExists(atPath: url.path) else { throw TaskError.missingResource(name) }
        return url
    }

    static func text(_ name: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: try url(name).path) else { throw TaskError.missingResource(name) }
        return String(decoding: data, as: UTF8.self)
    }

    private static func jsonValue(_ name: String) throws -> JSONValue {
        do { return try JSONValue.parse(try text(name)) } catch { throw TaskError.missingResource("\(name) (\(error))") }
    }

    private static func json(_ name: String) throws -> JSONObject {
        guard let object = try jsonValue(name).objectValue else { throw TaskError.missingResource(name) }
        return object
    }
}
