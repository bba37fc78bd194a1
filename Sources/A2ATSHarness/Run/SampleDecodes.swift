import A2ATSMethods
import A2ATSModel

/// Every row of one prefilled sample: each method × budget forked from the prefill, decoded in
/// batches of at most `batchSize` forks that read the weights once per step for all of them (fewer
/// where the memory limit leaves no room for another: `ForkMemoryBudget`).
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
    /// Whether another fork may join a batch under the run's memory limit.
    var memoryBudget = ForkMemoryBudget(limit: nil)
    /// Called at the end of each batch while its forks hold their pages (memory sampling).
    var whileForksLive: (() -> Void)? = nil

    /// Decodes `runs`; `emit` receives each row as soon as its batch (or its search) is done, in run
    /// order within a batch; `afterBatch` runs once a batch's rows are emitted (where a stop request
    /// may end the run, so that no finished row is lost). Each method is instantiated when its fork
    /// joins a batch and released with the batch, so that only the batch's side data is live.
    func run(_ runs: [MethodRun], emit: (Row) throws -> Void, afterBatch: () throws -> Void = {}) throws {
        typealias Search = AttendedBudgetSearch.State<Generation>
        let promptTokens = prefill.tokens.count
        var searches: [Int: Search] = [:]
        var decodes: [(index: Int, budget: Int?)] = []
        for (index, run) in runs.enumerated() {
            if case .attended(let fraction)? = run.budget {
                let target = fraction * Double(promptTokens)
                searches[index] = Search(target: target, start: max(1, Int(target.rounded())), maxBudget: promptTokens,
                                         tolerance: AttendedBudgetSearch.tolerance, maxTries: AttendedBudgetSearch.maxTries)
            } else {
                decodes.append((index, try run.budgetTokens(promptTokens: promptTokens, model: model.config)))
            }
        }
        func searchDecodes() -> [(index: Int, budget: Int?)] {
            searches.keys.sorted().compactMap { index in searches[index]?.next.map { (index, $0) } }
        }
        decodes += searchDecodes()
        let memory = memoryBudget
        while !decodes.isEmpty {
            var queue = decodes[...]
            decodes = []
            while !queue.isEmpty {
                // Forks join the batch up to `batchSize`, and while the memory limit leaves room.
                var batch: [(index: Int, budget: Int?)] = [], forks: [PreparedFork] = []
                while batch.count < max(1, batchSize), let next = queue.first {
                    if !batch.isEmpty && !memory.roomForAnother() { break }
                    let method = try runs[next.index].method.instantiate(budgetTokens: next.budget, model: model.config,
                                                                         resources: resources)
                    forks.append(try memory.measure {
                        try model.prepareFork(from: prefill, method: method, alone: batchSize <= 1, maxNewTokens: maxNewTokens)
                    })
                    batch.append(queue.removeFirst())
                }
                let generations = model.generate(from: prefill, forks: forks, maxNewTokens: maxNewTokens,
                                                 stopTokens: stopTokens, whileForksLive: whileForksLive)
                forks.removeAll()
                memory.batchReleased()
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
            decodes = searchDecodes()
        }
    }
}
