import A2ATSMethods
import A2ATSModel

/// Every row of one prefilled sample: each method × budget forked from the prefill, decoded in
/// batches of at most `batchSize` forks that read the weights once per step for all of them.
///
/// Rows with a budget in tokens decode in the first round. Rows with an attended-fraction target
/// search for their budget (`AttendedBudgetSearch`) in lockstep: each round decodes every search's
/// next budget as forks of one batch, until every search has settled. A fork's tokens do not
/// depend on its batch, so the rows equal those of decoding each fork alone.
struct SampleDecodes {
    /// One finished row: which run, its decode, the budget it used.
    struct Row {
        let index: Int
        let generation: Generation
        let budgetTokens: Int?
    }

    let prefill: PrefillResult
    let model: LlamaModel
    let resources: MethodResources?
    let maxNewTokens: Int
    let stopTokens: Set<Int>
    /// Forks decoded together at most (1: one at a time, as a lone decode).
    let batchSize: Int
    /// Called at the end of each batch while its forks hold their pages (memory sampling).
    var whileForksLive: (() -> Void)? = nil

    /// Decodes `runs` (with `instances`, their methods at the budgets they resolve to); `emit`
    /// receives each row as soon as its batch (or its search) is done, in run order within a batch;
    /// `afterBatch` runs once a batch's rows are emitted (where a stop request may end the run, so
    /// that no finished row is lost).
    func run(_ runs: [MethodRun], instances: [CacheMethod], emit: (Row) throws -> Void,
             afterBatch: () throws -> Void = {}) throws {
        typealias Search = AttendedBudgetSearch.State<Generation>
        let promptTokens = prefill.tokens.count
        var searches: [Int: Search] = [:]
        var decodes: [(index: Int, method: CacheMethod, budget: Int?)] = []
        for (index, (run, method)) in zip(runs, instances).enumerated() {
            if case .attended(let fraction)? = run.budget {
                let target = fraction * Double(promptTokens)
                searches[index] = Search(target: target, start: max(1, Int(target.rounded())), maxBudget: promptTokens,
                                         tolerance: AttendedBudgetSearch.tolerance, maxTries: AttendedBudgetSearch.maxTries)
            } else {
                decodes.append((index, method, try run.budgetTokens(promptTokens: promptTokens, model: model.config)))
            }
        }
        func searchDecodes() throws -> [(index: Int, method: CacheMethod, budget: Int?)] {
            try searches.keys.sorted().compactMap { index in
                guard let budget = searches[index]?.next else { return nil }
                return (index, try runs[index].method.instantiate(budgetTokens: budget, model: model.config, resources: resources),
                        budget)
            }
        }
        decodes += try searchDecodes()
        while !decodes.isEmpty {
            for first in stride(from: 0, to: decodes.count, by: max(1, batchSize)) {
                let batch = decodes[first..<min(decodes.count, first + max(1, batchSize))]
                let generations = try model.generate(from: prefill, methods: batch.map { $0.method }, maxNewTokens: maxNewTokens,
                                                     stopTokens: stopTokens, whileForksLive: whileForksLive)
                for (decode, generation) in zip(batch, generations) {
                    guard var search = searches[decode.index] else {
                        try emit(Row(index: decode.index, generation: generation, budgetTokens: decode.budget))
                        continue
                    }
                    search.record(.init(budget: decode.budget!, attended: generation.decodeSteps > 0 ? generation.attendedTokens : nil,
                                        payload: generation))
                    searches[decode.index] = search
                    if search.next == nil {
                        let best = AttendedBudgetSearch.closest(search.trials, target: search.target)
                        try emit(Row(index: decode.index, generation: best.payload, budgetTokens: best.budget))
                    }
                }
                try afterBatch()
            }
            decodes = try searchDecodes()
        }
    }
}
