import Foundation
import A2ATSModel
import A2ATSMethods
import A2ATSTensor
import XCTest

/// The cache-method protocol end to end through the real forward pass (issue 6, "Tests must show"):
/// `full` through the protocol equals no method; `oracle` with a budget covering the context equals
/// `full`; decoding a fork of one shared prefill equals decoding a fresh prefill per method; and the
/// attended tokens that `Generation` reports equal an independent count taken by a wrapper method
/// around the selections, within the contract's bound.
///
/// Independent references: the model's own `method: nil` path (no protocol calls at all), a fresh
/// prefill per method, and `CountingMethod` below, which counts distinct selected indices itself.
/// Every registered method runs (A²ATS on codebooks calibrated on synthetic keys), and the store
/// methods alone and composed; forks that quantize or prune leave the shared prefill bit for bit
/// as a fresh one (issue 13).
class ForkProtocolTests: XCTestCase {
    /// The tiny Q4_1 fixture (2 layers, 4 heads / 2 KV heads, vocab 299, context 256): decode runs
    /// the compact Q4_1 matrices, as the default model does. Subclasses run every test on another fixture.
    class var fixture: String { Self.fixturePath("tiny-llama-q4_1.gguf") }

    static func fixturePath(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/" + name).standardized.path
    }
    /// Every registered method but `full` (the reference), and compositions of each kind. Quest and
    /// ClusterKV leave their first 2 layers dense, all the fixture has: here every layer selects.
    static let forkable = MethodRegistry.names.filter { $0 != "full" }
        .map { ["quest", "clusterkv"].contains($0) ? $0 + ":dense_layers=0" : $0 }
        + ["snapkv+kivi", "snapkv+qaq", "snapkv+think", "h2o+kivi:bits=4", "a2ats+kivi:bits=4", "oracle+think",
           // Asks the shared prefill for more observed queries and attention rows than the others use: each
           // fork must read only its own last rows (QAQ and ThinK once read every row recorded).
           "snapkv:window=48+think:window=48"]
    static let maxNewTokens = 8

    var model: LlamaModel!
    var codebooks: AllMethodsTests.SyntheticCodebooks!

    override func setUpWithError() throws {
        model = try LlamaModel(source: GGUFModelSource(path: Self.fixture))
        codebooks = AllMethodsTests.SyntheticCodebooks(model: model.config)
    }

    /// A fixed pseudo-random prompt of `count` tokens (BOS = 1 first), avoiding the special ids.
    func prompt(_ count: Int, seed: UInt64 = 5) -> [Int] {
        var rng = SeededGenerator(seed: seed)
        return [1] + (1..<count).map { _ in Int.random(in: 3..<model.config.vocabSize, using: &rng) }
    }

    /// Methods whose reference sinks + window cover these short prompts (ActQKV: 64 + 512) run here
    /// with a smaller protected set, so that they select.
    static let shortPromptParameters: [String: [String: String]] = ["actqkv": ["sinks": "4", "window": "16"]]

    /// `name` is a spec (`snapkv+kivi:bits=4`); `parameters` go to its first part; the budget only to methods that take one.
    func make(_ name: String, budget: Int?, parameters: [String: String] = [:]) throws -> CacheMethod {
        var spec = try MethodSpec.parse(name)
        spec.parameters.merge(Self.shortPromptParameters[spec.name] ?? [:]) { $1 }
        spec.parameters.merge(parameters) { $1 }
        let takesBudget = try MethodRegistry.resolve(spec).takesBudget
        return try MethodRegistry.make(spec, budgetTokens: takesBudget ? budget : nil, model: model.config, resources: codebooks)
    }

    /// Store methods alone read every token; MagicPIG takes no budget but samples.
    func readsEverything(_ name: String) throws -> Bool {
        let resolved = try MethodRegistry.resolve(MethodSpec.parse(name))
        return !resolved.takesBudget && resolved.tokenKind != .retrieval
    }

    func testFullThroughProtocolEqualsNoMethod() throws {
        for seed: UInt64 in [5, 6] {
            let prefill = try model.prefill(prompt(60, seed: seed), extraCapacity: Self.maxNewTokens)
            let plain = try model.generate(from: prefill, method: nil, maxNewTokens: Self.maxNewTokens, stopTokens: [])
            let full = try model.generate(from: prefill, method: make("full", budget: nil),
                                          maxNewTokens: Self.maxNewTokens, stopTokens: [])
            XCTAssertEqual(plain.tokens.count, Self.maxNewTokens)
            XCTAssertEqual(full.tokens, plain.tokens, "seed \(seed)")
            XCTAssertEqual(full.attendedTokens, plain.attendedTokens, "seed \(seed)")
            XCTAssertEqual(full.decodeSteps, Self.maxNewTokens - 1)
        }
    }

    func testOracleWithBudgetCoveringTheContextEqualsFull() throws {
        let n = 60
        let prefill = try model.prefill(prompt(n), extraCapacity: Self.maxNewTokens)
        let full = try model.generate(from: prefill, method: nil, maxNewTokens: Self.maxNewTokens, stopTokens: [])
        for budget in [n + Self.maxNewTokens, model.config.maxPositions] {
            let oracle = try model.generate(from: prefill, method: make("oracle", budget: budget),
                                            maxNewTokens: Self.maxNewTokens, stopTokens: [])
            XCTAssertEqual(oracle.tokens, full.tokens, "oracle B=\(budget)")
            XCTAssertEqual(oracle.attendedTokens, full.attendedTokens, "oracle B=\(budget)")
        }
        // Full attention reads prompt + decoded-so-far tokens: mean over steps of n+1 … n+7.
        XCTAssertEqual(full.attendedTokens, Double(n) + Double(Self.maxNewTokens) / 2, accuracy: 1e-12)
    }

    /// One prefill (with the union of the statistics every method needs), then methods A, B, …, and
    /// the first ones again on the same `PrefillResult`, against a fresh prefill per method.
    func testForkedDecodingEqualsFreshPrefill() throws {
        let tokens = prompt(200)
        for budget in [12, 40] {
            let methods = try Self.forkable.map { try make($0, budget: budget) }
            let needs = methods.map(\.prefillNeeds).reduce(PrefillNeeds.none) { $0.merged(with: $1) }
            let shared = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: needs)
            let order = Self.forkable + Self.forkable.prefix(3)
            var forked: [String: Generation] = [:]
            for name in order {
                let generation = try model.generate(from: shared, method: make(name, budget: budget),
                                                    maxNewTokens: Self.maxNewTokens, stopTokens: [])
                if let earlier = forked[name] {
                    XCTAssertEqual(generation.tokens, earlier.tokens, "\(name) B=\(budget): second fork differs from the first")
                    XCTAssertEqual(generation.attendedTokens, earlier.attendedTokens, "\(name) B=\(budget)")
                }
                forked[name] = generation
            }
            for name in Self.forkable {
                let method = try make(name, budget: budget)
                let fresh = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: method.prefillNeeds)
                let alone = try model.generate(from: fresh, method: method, maxNewTokens: Self.maxNewTokens, stopTokens: [])
                let fork = try XCTUnwrap(forked[name])
                XCTAssertEqual(fork.tokens, alone.tokens, "\(name) B=\(budget): fork vs fresh prefill")
                XCTAssertEqual(fork.attendedTokens, alone.attendedTokens, "\(name) B=\(budget): fork vs fresh prefill")
                XCTAssertEqual(fork.memory, alone.memory, "\(name) B=\(budget): fork vs fresh prefill")
                if try readsEverything(name) {
                    XCTAssertLessThan(fork.memory.kvBytes, (tokens.count + Self.maxNewTokens - 1) * shared.cache.bytesPerToken,
                                      "\(name) must hold fewer K/V bytes than full")
                } else {
                    XCTAssertLessThan(fork.attendedTokens, Double(tokens.count), "\(name) B=\(budget) must read less than full")
                }
            }
        }
    }

    /// `Generation.attendedTokens` equals the mean of the wrapper's own count of distinct selected
    /// tokens; the generated tokens are those of the unwrapped method; and every step's count
    /// respects the contract bound.
    func testAttendedTokensEqualIndependentCountWithinBound() throws {
        let tokens = prompt(200)
        let n = tokens.count
        let g = model.config.groupSize
        let cases: [(String, [String: String], Int?)] =
            [("full", [:], nil), ("oracle", ["sinks": "4", "window": "8"], 10)]
            + Self.forkable.flatMap { name in
                // KNorm's reference setting leaves layer 0 whole; the bound is per compressed layer.
                let parameters = (name == "knorm" ? ["skip_layers": "none"] : [:]).merging(Self.shortPromptParameters[name] ?? [:]) { $1 }
                return [(name, parameters, 12), (name, parameters, 40)]
            }
        let needs = try cases.map { try make($0.0, budget: $0.2, parameters: $0.1).prefillNeeds }
            .reduce(PrefillNeeds.none) { $0.merged(with: $1) }
        let shared = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: needs)
        for (name, parameters, budget) in cases {
            let label = "\(name)\(parameters) B=\(budget.map(String.init) ?? "-")"
            let counting = CountingMethod(try make(name, budget: budget, parameters: parameters))
            let counted = try model.generate(from: shared, method: counting, maxNewTokens: Self.maxNewTokens, stopTokens: [])
            let plain = try model.generate(from: shared, method: make(name, budget: budget, parameters: parameters),
                                           maxNewTokens: Self.maxNewTokens, stopTokens: [])
            XCTAssertEqual(counted.tokens, plain.tokens, "\(label): the wrapper must not change decoding")
            XCTAssertEqual(counting.steps.count, (Self.maxNewTokens - 1) * model.config.layerCount, label)
            XCTAssertEqual(counted.attendedTokens, counting.meanAttended, "\(label): reported vs counted")
            XCTAssertEqual(counted.attendedTokens, plain.attendedTokens, label)

            let resolved = try MethodRegistry.resolve(MethodSpec.parse(name))
            let token = resolved.tokenPart?.descriptor.name ?? "full"
            let defaults = Dictionary(uniqueKeysWithValues: (resolved.tokenPart?.descriptor.parameters ?? []).map { ($0.name, $0.defaultValue) })
            let sinks = Int(parameters["sinks"] ?? (token == "oracle" ? "0" : defaults["sinks"] ?? "0"))!
            let window = Int(parameters["window"] ?? (token == "oracle" ? "0" : defaults["window"] ?? "0"))!
            let budget = resolved.takesBudget ? budget : nil
            for step in counting.steps {
                let decoded = step.cacheLength - n   // generated tokens in the cache, the current one included
                for count in step.counts {
                    guard let budget else {
                        if token == "magicpig" { XCTAssertLessThanOrEqual(count, step.cacheLength, label) } else {
                            XCTAssertEqual(count, step.cacheLength, label)
                        }
                        continue
                    }
                    switch token {
                    case "oracle", "a2ats", "clusterkv", "doublesparsity", "infinigen": XCTAssertLessThanOrEqual(count, g * budget + sinks + window, label)
                    case "quest": XCTAssertLessThanOrEqual(count, g * budget + Int(defaults["page"]!)!, label)   // last page on top
                    case "pqcache":   // its window is a share of the budget
                        let ratio = Double(defaults["recent_ratio"]!)!
                        XCTAssertLessThanOrEqual(count, g * budget + sinks + max(1, Int((Double(budget) * ratio / (1 - ratio)).rounded())), label)
                    case "streamingllm", "h2o", "tova", "corm": XCTAssertLessThanOrEqual(count, budget, label)
                    case "snapkv", "knorm": XCTAssertLessThanOrEqual(count, budget + decoded, label)
                    case "pyramidkv", "prefixkv": break   // per-layer budgets; the layer mean is checked below
                    case "actqkv": XCTAssertLessThanOrEqual(count, g * 2 * budget + sinks + window, label)   // ≤ 2B per layer
                    case "shadowkv": XCTAssertLessThanOrEqual(count, g * budget + window + 7 + decoded, label)
                    default: XCTFail("no bound for \(name)")
                    }
                }
            }
            if token == "actqkv", let budget {
                for position in Set(counting.steps.map(\.cacheLength)) {
                    let rows = counting.steps.filter { $0.cacheLength == position }
                    let mean = Double(rows.flatMap(\.counts).reduce(0, +)) / Double(rows.count * model.config.kvHeadCount)
                    XCTAssertLessThanOrEqual(mean, Double(g * budget + sinks + window), label)
                }
            }
            if token == "pyramidkv" || token == "prefixkv", let budget {
                for position in Set(counting.steps.map(\.cacheLength)) {
                    let rows = counting.steps.filter { $0.cacheLength == position }
                    let total = rows.flatMap(\.counts).reduce(0, +)
                    let mean = Double(total) / Double(rows.count * model.config.kvHeadCount)
                    XCTAssertLessThanOrEqual(mean, Double(budget + position - n), label)
                }
            }
        }
    }
}

extension ForkProtocolTests {
    /// Forks decoded together (one step reads the weights once for all of them, each attends on a
    /// copy-on-write fork of the shared cache) decode what each decodes alone: tokens, attended
    /// tokens, steps and bytes, for every registered method and `full`, with a stop token that ends
    /// some forks early so the batch shrinks mid-decode. Reference: each method decoded alone from
    /// the same prefill, before and after the batch (so the batch left the shared cache as it was).
    func testForksDecodedTogetherEqualForksDecodedAlone() throws {
        let tokens = prompt(180, seed: 9)
        let names = ["full"] + Self.forkable
        func methods() throws -> [CacheMethod?] { try names.map { $0 == "full" ? nil : try make($0, budget: 24) } }
        let needs = try methods().compactMap { $0?.prefillNeeds }.reduce(PrefillNeeds.none) { $0.merged(with: $1) }
        let shared = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: needs)
        func alone(stop: Set<Int>) throws -> [Generation] {
            try methods().map { try model.generate(from: shared, method: $0, maxNewTokens: Self.maxNewTokens, stopTokens: stop) }
        }
        // A stop token that ends forks at different steps (where it first appears in each), so the
        // batch shrinks mid-decode; there is none only when every fork decodes the same tokens.
        let free = try alone(stop: [])
        let stop = free.flatMap(\.tokens).first { token in
            Set(free.map { $0.tokens.firstIndex(of: token) ?? Self.maxNewTokens }).count > 1
        }
        if stop == nil { XCTAssertEqual(Set(free.map(\.tokens)).count, 1, "no stop token splits forks that decode differently") }
        let stopTokens = stop.map { Set([$0]) } ?? []
        let before = try alone(stop: stopTokens)
        let together = try model.generate(from: shared, methods: methods(), maxNewTokens: Self.maxNewTokens, stopTokens: stopTokens)
        let after = try alone(stop: stopTokens)
        if stop != nil { XCTAssertGreaterThan(Set(before.map(\.decodeSteps)).count, 1, "the stop token ends forks at different steps") }
        for (index, name) in names.enumerated() {
            XCTAssertEqual(together[index].tokens, before[index].tokens, "\(name): together vs alone")
            XCTAssertEqual(together[index].attendedTokens, before[index].attendedTokens, "\(name): together vs alone")
            XCTAssertEqual(together[index].decodeSteps, before[index].decodeSteps, "\(name): together vs alone")
            XCTAssertEqual(together[index].memory, before[index].memory, "\(name): together vs alone")
            XCTAssertEqual(after[index].tokens, before[index].tokens, "\(name): the batch changed the shared cache")
        }
    }

    /// A fork that quantizes (KIVI, QAQ) or prunes channels (ThinK), alone or under a token method,
    /// builds its own copy: afterwards the shared prefill's rows are bit-identical to a fresh
    /// prefill's, and a `full` fork of it decodes the tokens a fresh prefill decodes.
    func testPrecisionForksLeaveTheSharedPrefillAsItWas() throws {
        let tokens = prompt(100, seed: 9)
        let specs = ["kivi", "kivi:bits=4", "qaq", "think", "snapkv+kivi", "a2ats+kivi:bits=4", "snapkv+think"]
        let needs = try specs.map { try make($0, budget: 20).prefillNeeds }.reduce(PrefillNeeds.none) { $0.merged(with: $1) }
        let shared = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: needs)
        let fresh = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: needs)
        let reference = try model.generate(from: fresh, method: nil, maxNewTokens: Self.maxNewTokens, stopTokens: [])
        for spec in specs {
            _ = try model.generate(from: shared, method: make(spec, budget: 20), maxNewTokens: Self.maxNewTokens, stopTokens: [])
            let c = shared.cache, f = fresh.cache, count = tokens.count * c.headDim
            for layer in 0..<c.layerCount {
                for kvHead in 0..<c.kvHeadCount {
                    for (a, b) in [(c.keys(layer: layer, kvHead: kvHead), f.keys(layer: layer, kvHead: kvHead)),
                                   (c.values(layer: layer, kvHead: kvHead), f.values(layer: layer, kvHead: kvHead)),
                                   (c.preRoPEKeys(layer: layer, kvHead: kvHead), f.preRoPEKeys(layer: layer, kvHead: kvHead))] {
                        XCTAssertEqual(memcmp(a, b, count * MemoryLayout<Float>.size), 0, "\(spec): layer \(layer) head \(kvHead) changed")
                    }
                }
            }
            let full = try model.generate(from: shared, method: make("full", budget: nil), maxNewTokens: Self.maxNewTokens, stopTokens: [])
            XCTAssertEqual(full.tokens, reference.tokens, "full after a \(spec) fork")
        }
    }

    /// A composed method whose budget covers the prompt keeps every token, so it is its precision
    /// method alone: same tokens, same attended count, same bytes.
    func testCompositionAtAFullBudgetEqualsThePrecisionMethodAlone() throws {
        let tokens = prompt(100, seed: 11)
        for (composed, alone) in [("snapkv+kivi", "kivi"), ("h2o+kivi:bits=4", "kivi:bits=4"), ("snapkv+qaq", "qaq"),
                                  ("streamingllm+think", "think")] {
            let needs = try [composed, alone].map { try make($0, budget: 200).prefillNeeds }.reduce(PrefillNeeds.none) { $0.merged(with: $1) }
            let shared = try model.prefill(tokens, extraCapacity: Self.maxNewTokens, needs: needs)
            let a = try model.generate(from: shared, method: make(composed, budget: 200), maxNewTokens: Self.maxNewTokens, stopTokens: [])
            let b = try model.generate(from: shared, method: make(alone, budget: nil), maxNewTokens: Self.maxNewTokens, stopTokens: [])
            XCTAssertEqual(a.tokens, b.tokens, composed)
            XCTAssertEqual(a.attendedTokens, b.attendedTokens, composed)
            XCTAssertEqual(a.memory.kvBytes, b.memory.kvBytes, composed)
        }
    }
}

/// Forwards every call to `inner` and records, per `select`, the number of distinct cached tokens
/// each KV head was given (all of them for a nil entry). Its mean is the contract's
/// `attended_tokens`, computed here without the engine's own counter.
final class CountingMethod: CacheMethod {
    struct Step {
        let layer: Int
        let cacheLength: Int
        let counts: [Int]
    }

    let inner: CacheMethod
    private(set) var steps: [Step] = []

    init(_ inner: CacheMethod) { self.inner = inner }

    var kind: CacheMethodKind { inner.kind }
    var prefillNeeds: PrefillNeeds { inner.prefillNeeds }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        try inner.didPrefill(layer: layer, cache: cache, statistics: statistics)
    }

    func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let selection = inner.select(query, cache: cache)
        let counts = selection.perKVHead.map { list -> Int in
            guard let list else { return cache.length }
            XCTAssertTrue(list.allSatisfy { $0 >= 0 && Int($0) < cache.length }, "selection outside the cache")
            return Set(list).count
        }
        steps.append(Step(layer: query.layer, cacheLength: cache.length, counts: counts))
        return selection
    }

    func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        inner.didAttend(query, selection: selection, weights: weights)
    }

    func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { inner.residentTokens(layer: layer, kvHead: kvHead) }
    func sideBytes(cache: KVCache) -> Int { inner.sideBytes(cache: cache) }
    var kvStore: KVStore? { inner.kvStore }

    var meanAttended: Double {
        let slots = steps.reduce(0) { $0 + $1.counts.count }
        return slots == 0 ? 0 : Double(steps.reduce(0) { $0 + $1.counts.reduce(0, +) }) / Double(slots)
    }
}

/// Every test above on the tiny `qwen2` Q8_0 fixture (issue 15): 14 query heads over 2 KV heads, a
/// GQA group of 7 as Qwen2.5-Coder-0.5B has, with Q/K/V biases; so every method, A²ATS's and the
/// retrieval methods' union over the group included, runs through the real forward pass at G = 7.
final class ForkProtocolGroupOf7Tests: ForkProtocolTests {
    override class var fixture: String { fixturePath("tiny-qwen2-q8_0.gguf") }

    // Linux test discovery lists a subclass only when it declares test methods of its own; the
    // tests declared in ForkProtocolTests' extension are inherited with them.
    override func testFullThroughProtocolEqualsNoMethod() throws { try super.testFullThroughProtocolEqualsNoMethod() }
    override func testOracleWithBudgetCoveringTheContextEqualsFull() throws { try super.testOracleWithBudgetCoveringTheContextEqualsFull() }
    override func testForkedDecodingEqualsFreshPrefill() throws { try super.testForkedDecodingEqualsFreshPrefill() }
    override func testAttendedTokensEqualIndependentCountWithinBound() throws { try super.testAttendedTokensEqualIndependentCountWithinBound() }

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(model.config.groupSize, 7)
    }
}
