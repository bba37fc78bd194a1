import Foundation
import A2ATSModel
import A2ATSSupport

/// One rendered RULER prompt before it is split into `input` and `answer_prefix`.
struct RulerRendering {
    /// Template + answer prefix, formatted (RULER's `input_text` before the split).
    var text: String
    var outputs: [String]
    /// Needle depths in percent (niah), in the order the needles appear.
    var depths: [Int] = []
}

/// A RULER task family: renders a prompt for a haystack size. `size` counts RULER's own
/// haystack units (essay words, noise lines, distractor needles, documents, words);
/// `partial` adds a prefix of one more unit (sentences of a noise line, words of a
/// needle or document) so that the prompt can reach 98% of the target where RULER's
/// units are coarse. Rendering depends only on the sample's random stream, `size` and
/// `partial`, so that the length search can try sizes freely.
protocol RulerFamily: AnyObject {
    /// Per-file set-up that depends on the target length (RULER's fwe vocabulary, vt's
    /// in-context example).
    func prepare(seed: UInt64, length: Int, maxNewTokens: Int) throws
    /// The largest useful `partial` (exclusive) for a size; 0 when units are fine enough.
    func partialLimit(size: Int) -> Int
    /// The smallest size RULER starts its search from.
    var minimumSize: Int { get }
    func render(random: SeededRandom, sample: Int, size: Int, partial: Int) -> RulerRendering
}

/// A generated sample: the RULER-format record and what tests and reports need to know.
public struct RulerSample {
    /// `index`, `input`, `outputs`, `length`, `length_w_model_temp`, `answer_prefix`,
    /// and `token_position_answer` for niah tasks, as RULER writes them.
    public var record: JSONValue
    /// Depths (percent of the haystack) of the needles, for niah tasks.
    public var needleDepths: [Int]
}

/// Generates RULER's 13 synthetic tasks for a target length measured in the model's own
/// tokens, following RULER's `scripts/data/synthetic/*.py` (templates, needle and key
/// types, depths, singular wording), deterministic for a seed (`SeededRandom`).
///
/// Length rule (contract.md): tokens(`input` + `answer_prefix`, no special tokens) + the
/// task's max new tokens ≤ L, and ≥ 0.98·L. The haystack size is found by binary search with
/// full tokenizations (about log₂ of the size range per task, a few more per sample).
public struct RulerGenerator {
    public let task: TaskDefinition
    public let tokenizer: TextTokenizer
    private let family: RulerFamily

    public init(task: TaskDefinition, tokenizer: TextTokenizer, resources: RulerResources? = nil) throws {
        guard task.source == .ruler, let generator = task.generator,
              let kind = generator["task"]?.stringValue else { throw TaskError.notGeneratable(task: task.name) }
        let args = generator["args"]?.objectValue ?? JSONObject()
        let data = try resources ?? RulerResources.shared()
        self.task = task
        self.tokenizer = tokenizer
        func arg<T>(_ key: String, _ extract: (JSONValue) -> T?, default fallback: T) throws -> T {
            guard let value = args[key] else { return fallback }
            guard let result = extract(value) else {
                throw TaskError.dataFile(DataFileError(file: task.file, field: "generator.args.\(key)",
                                                       problem: "unexpected value \(value.compactText)"))
            }
            return result
        }
        /// A count argument within `range`: outside it the families index past their word lists,
        /// ask for no queries, or search for more distinct words than exist (found by fuzzing).
        func count(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
            let value = try arg(key, \.intValue, default: fallback)
            guard range.contains(value) else {
                throw TaskError.dataFile(DataFileError(file: task.file, field: "generator.args.\(key)",
                                                       problem: "\(value) is outside \(range.lowerBound)...\(range.upperBound)"))
            }
            return value
        }
        let template = task.template + task.answerPrefix
        switch kind {
        case "niah":
            family = try NeedleFamily(template: template, resources: data,
                                      haystack: arg("type_haystack", { NeedleFamily.Haystack(rawValue: $0.stringValue ?? "") }, default: .essay),
                                      keyType: arg("type_needle_k", { NeedleFamily.ValueType(rawValue: $0.stringValue ?? "") }, default: .words),
                                      valueType: arg("type_needle_v", { NeedleFamily.ValueType(rawValue: $0.stringValue ?? "") }, default: .numbers),
                                      keyCount: count("num_needle_k", default: 1, in: 1...1000),
                                      valueCount: count("num_needle_v", default: 1, in: 1...1000),
                                      queryCount: count("num_needle_q", default: 1, in: 1...1000))
        case "variable_tracking":
            family = try VariableTrackingFamily(template: template, tokenizer: tokenizer,
                                                chains: count("num_chains", default: 1, in: 1...1000),
                                                hops: count("num_hops", default: 4, in: 1...1000))
        case "common_words_extraction":
            family = try CommonWordsFamily(template: template, words: data.commonWords,
                                           commonRepeats: count("freq_cw", default: 30, in: 1...1000),
                                           uncommonRepeats: count("freq_ucw", default: 3, in: 1...1000),
                                           // The few-shot examples hold 20 words (40 from 4K tokens).
                                           commonCount: count("num_cw", default: 10, in: 1...20),
                                           fewShot: count("num_fewshot", default: 1, in: 0...100))
        case "freq_words_extraction":
            let alpha = try arg("alpha", \.doubleValue, default: 2.0)
            // Zipf needs alpha > 1 (the normalizer diverges otherwise).
            guard alpha > 1, alpha <= 100 else {
                throw TaskError.dataFile(DataFileError(file: task.file, field: "generator.args.alpha",
                                                       problem: "\(alpha) is outside (1, 100]"))
            }
            let vocabulary = try arg("vocab_size", \.intValue, default: -1)
            guard vocabulary == -1 || (4...400_000).contains(vocabulary) else {
                throw TaskError.dataFile(DataFileError(file: task.file, field: "generator.args.vocab_size",
                                                       problem: "\(vocabulary) is neither -1 (from the length) nor in 4...400000"))
            }
            // 26⁴ distinct coded words hold any vocabulary allowed here.
            family = FrequentWordsFamily(template: template, alpha: alpha,
                                         wordLength: try count("coded_wordlen", default: 6, in: 4...32),
                                         vocabularySize: vocabulary)
        case "qa":
            let dataset = try arg("dataset", \.stringValue, default: "squad")
            guard dataset == "squad" || dataset == "hotpotqa" else {
                throw TaskError.dataFile(DataFileError(file: task.file, field: "generator.args.dataset",
                                                       problem: "\"\(dataset)\" is not one of squad, hotpotqa"))
            }
            family = QAFamily(template: template, set: dataset == "squad" ? data.squad : data.hotpot)
        default:
            throw TaskError.dataFile(DataFileError(file: task.file, field: "generator.task",
                                                   problem: "unknown RULER task family \"\(kind)\""))
        }
    }

    /// `count` samples for the target length `length` (RULER's `max_seq_length`).
    public func generate(length: Int, samples count: Int, seed: UInt64) throws -> [RulerSample] {
        var results: [RulerSample] = []
        var knownSize: (size: Int, partial: Int)? = nil
        try family.prepare(seed: seed, length: length, maxNewTokens: task.maxNewTokens)
        for index in 0..<count {
            let random = SeededRandom(seed: seed, stream: UInt64(index) &+ 1)
            let fit = try fitSize(random: random, sample: index, length: length, start: knownSize)
            knownSize = (fit.size, fit.partial)
            results.append(makeSample(fit.rendering, tokens: fit.tokens, sample: index))
        }
        return results
    }

    /// Running (not generating) a length needs a model that holds it: `contextLength` is the
    /// model's context, or the length its RoPE scaling reaches.
    public static func requireContext(length: Int, task: String, contextLength: Int) throws {
        if length > contextLength { throw TaskError.lengthExceedsContext(task: task, length: length, context: contextLength) }
    }

    /// Writes samples as RULER JSONL, atomically (no partial file is ever visible).
    public static func write(_ samples: [RulerSample], to path: String) throws {
        var text = ""
        for sample in samples { text += sample.record.compactText + "\n" }
        try AtomicFile.write(text, to: path)
    }

    private func total(_ rendering: RulerRendering) -> Int {
        tokenizer.encode(rendering.text).count + task.maxNewTokens
    }

    private struct Fit { var size: Int; var partial: Int; var rendering: RulerRendering; var tokens: Int }

    /// Largest (size, partial) whose prompt fits `length`. The first sample searches the
    /// whole range; later ones start from the previous size and gallop, which costs a
    /// handful of tokenizations when samples are alike.
    private func fitSize(random: SeededRandom, sample: Int, length: Int, start: (size: Int, partial: Int)?) throws -> Fit {
        func attempt(_ size: Int, _ partial: Int) -> Fit {
            let rendering = family.render(random: random, sample: sample, size: size, partial: partial)
            return Fit(size: size, partial: partial, rendering: rendering, tokens: total(rendering))
        }
        let smallest = attempt(family.minimumSize, 0)
        guard smallest.tokens <= length else {
            throw TaskError.lengthTooShort(task: task.name, length: length, minimum: smallest.tokens)
        }
        // Bracket: `low` fits, `high` does not.
        var low = smallest
        var high: Int
        if let start, start.size > family.minimumSize {
            var step = max(1, start.size / 64)
            let first = attempt(start.size, 0)
            if first.tokens <= length {
                low = first
                high = start.size + step
                while case let fit = attempt(high, 0), fit.tokens <= length {
                    low = fit; step *= 2; high = low.size + step
                }
            } else {
                high = start.size
                while case let probe = max(family.minimumSize, high - step), probe > family.minimumSize {
                    let fit = attempt(probe, 0)
                    if fit.tokens <= length { low = fit; break }
                    high = probe; step *= 2
                }
            }
        } else {
            let perUnit = max(1.0, Double(attempt(family.minimumSize * 2, 0).tokens - smallest.tokens) / Double(family.minimumSize))
            high = family.minimumSize + Int(Double(length - smallest.tokens) / perUnit * 1.5) + 2
            while case let fit = attempt(high, 0), fit.tokens <= length {
                // A prompt that does not grow with the haystack would double `high` without end.
                guard fit.tokens > low.tokens else {
                    throw TaskError.dataFile(DataFileError(file: task.file, field: "template",
                                                           problem: "task \(task.name): the prompt does not grow with the haystack size"))
                }
                low = fit
                high *= 2
            }
        }
        while high - low.size > 1 {
            let mid = (low.size + high) / 2
            let fit = attempt(mid, 0)
            if fit.tokens <= length { low = fit } else { high = mid }
        }
        // Fill with part of one more unit where units are coarse.
        var partLow = 0, partHigh = family.partialLimit(size: low.size)
        while partHigh - partLow > 1 {
            let mid = (partLow + partHigh) / 2
            let fit = attempt(low.size, mid)
            if fit.tokens <= length { low = fit; partLow = mid } else { partHigh = mid }
        }
        return low
    }

    /// Splits at the answer prefix and fills RULER's fields, as RULER's scripts do.
    private func makeSample(_ rendering: RulerRendering, tokens: Int, sample: Int) -> RulerSample {
        let probe = String(task.answerPrefix.prefix(10))
        var input = rendering.text
        var prefix = ""
        if !probe.isEmpty, let range = input.range(of: probe, options: .backwards) {
            prefix = String(input[range.lowerBound...])
            input = String(input[..<range.lowerBound])
        }
        var record: JSONObject = [:]
        var tokenPosition: Int? = nil
        var index = sample
        if task.generator?["task"]?.stringValue == "niah", let answer = rendering.outputs.first,
           let range = input.range(of: answer) {
            // RULER overwrites `index` with the character offset of the first answer.
            index = input.unicodeScalars.distance(from: input.unicodeScalars.startIndex, to: range.lowerBound)
            tokenPosition = tokenizer.encode(String(input[..<range.lowerBound])).count
        }
        record["index"] = .int(index)
        record["input"] = .string(input)
        record["outputs"] = .array(rendering.outputs.map { .string($0) })
        record["length"] = .int(tokens)
        record["length_w_model_temp"] = .int(tokens)
        record["answer_prefix"] = .string(prefix)
        if let tokenPosition { record["token_position_answer"] = .int(tokenPosition) }
        return RulerSample(record: .object(record), needleDepths: rendering.depths)
    }
}
