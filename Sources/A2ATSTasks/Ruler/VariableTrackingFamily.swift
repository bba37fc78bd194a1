import A2ATSModel

/// RULER's variable tracking (`variable_tracking.py`): chains `VAR X = 12345`,
/// `VAR Y = VAR X`, … hidden among noise lines, after one in-context example that RULER
/// fits to 500 tokens and re-randomizes for every sample.
final class VariableTrackingFamily: RulerFamily {
    private let template: String
    private let tokenizer: TextTokenizer
    private let chains: Int
    private let hops: Int
    /// The in-context example ("input answer\n") with its answer variables and value.
    private var example: (text: String, variables: [String])?

    init(template: String, tokenizer: TextTokenizer, chains: Int, hops: Int) {
        self.template = template
        self.tokenizer = tokenizer
        self.chains = chains
        self.hops = hops
    }

    var minimumSize: Int { hops + 1 }
    func partialLimit(size: Int) -> Int { noiseSentences.count }

    private static let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    private func name(_ length: Int, _ random: inout SeededRandom) -> String {
        String((0..<length).map { _ in VariableTrackingFamily.letters[random.int(in: 0...25)] })
    }

    /// The chains and their variables; the value of the first chain is the query.
    private func makeChains(_ random: inout SeededRandom, icl: Bool) -> (variables: [[String]], chains: [[String]]) {
        let width = icl ? 3 : 5
        let hopCount = icl ? min(10, hops) : hops
        var seen = Set<String>(), all: [String] = []
        while all.count < (hopCount + 1) * chains {
            let candidate = name(width, &random)
            if seen.insert(candidate).inserted { all.append(candidate) }
        }
        var variables: [[String]] = [], lines: [[String]] = []
        for start in stride(from: 0, to: all.count, by: hopCount + 1) {
            let vars = Array(all[start..<(start + hopCount + 1)])
            variables.append(vars)
            var chain = ["VAR \(vars[0]) = \(icl ? "12345" : String(random.int(in: 10000...99998)))"]
            for j in 0..<hopCount { chain.append("VAR \(vars[j + 1]) = VAR \(vars[j]) ") }
            lines.append(chain)
        }
        return (variables, lines)
    }

    private func renderBody(_ random: inout SeededRandom, size: Int, partial: Int, icl: Bool) -> (String, [String]) {
        let (variables, chainLines) = makeChains(&random, icl: icl)
        let value = chainLines[0][0].split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        var sentences = Array(repeating: noiseHaystack, count: size)
        if partial > 0 { sentences.append(noiseSentences[0..<partial].joined(separator: " ")) }
        for chain in chainLines {
            let positions = random.sample(Array(0..<sentences.count), count: chain.count).sorted()
            for (j, position) in positions.enumerated() { sentences.insert(chain[j], at: position + j) }
        }
        let context = sentences.joined(separator: "\n").replacingOccurrences(of: ". \n", with: ".\n")
        let numberOfVariables = (icl ? min(10, hops) : hops) + 1
        let text = formatTemplate(template, ["context": context, "query": value, "num_v": String(numberOfVariables)])
        return (text, variables[0])
    }

    /// Fits RULER's in-context example to 500 tokens (its `max_seq_length=500` pass).
    func prepare(seed: UInt64, length: Int, maxNewTokens: Int) throws {
        let start = SeededRandom(seed: seed, stream: 0)
        var low = min(10, hops) + 1, high = 2 * low
        func fits(_ size: Int) -> Bool {
            var random = start
            return tokenizer.encode(renderBody(&random, size: size, partial: 0, icl: true).0).count <= 500
        }
        while fits(high) { low = high; high *= 2 }
        while high - low > 1 { let mid = (low + high) / 2; if fits(mid) { low = mid } else { high = mid } }
        var random = start
        let (text, variables) = renderBody(&random, size: low, partial: 0, icl: true)
        example = (text + " " + variables.joined(separator: " ") + "\n", variables)
    }

    func render(random start: SeededRandom, sample: Int, size: Int, partial: Int) -> RulerRendering {
        var random = start
        var (text, answer) = renderBody(&random, size: size, partial: partial, icl: false)
        if let (exampleText, variables) = example {
            var icl = exampleText
            // RULER's randomize_icl: new names for the example's variables and a new value.
            for variable in variables {
                icl = icl.replacingOccurrences(of: variable, with: name(variable.count, &random))
            }
            icl = icl.replacingOccurrences(of: "12345", with: String(random.int(in: 10000...99998)))
            let marker = String(template.prefix(20))
            if let cut = text.range(of: marker) {
                text = String(text[..<cut.lowerBound]) + icl + "\n" + String(text[cut.lowerBound...])
            }
        }
        return RulerRendering(text: text, outputs: answer)
    }
}
