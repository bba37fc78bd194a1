import A2ATSMethods
import A2ATSModel
@testable import A2ATSHarness
import XCTest

/// `--memory-limit`: forks of one prefill join a batch only while one more, as large as the
/// largest built so far, keeps the process under the limit. References: memory arithmetic worked
/// by hand on a simulated process, and the rows of an unlimited run (tokens do not depend on batches).
final class ForkMemoryBudgetTests: XCTestCase {
    /// A process of 1,000 bytes whose forks take what the test's build says, with a limit of 1,500:
    /// a 200-byte fork leaves 1,200 (1,200 + 200 fits, 1,400 + 200 does not); a 300-byte fork then
    /// raises the margin, so from 1,000 bytes again 1,000 + 300 fits but 1,300 + 300 does not.
    func testBatchStopsWhereOneMoreForkAsLargeAsTheLargestWouldPassTheLimit() {
        var resident = 1_000
        let budget = ForkMemoryBudget(limit: 1_500, memoryNow: { resident })
        XCTAssertTrue(budget.roomForAnother(), "nothing built yet: 1,000 ≤ 1,500")
        budget.measure { resident += 200 }
        XCTAssertEqual(budget.largestForkBytes, 200)
        XCTAssertTrue(budget.roomForAnother(), "1,200 + 200 ≤ 1,500")
        budget.measure { resident += 200 }
        XCTAssertFalse(budget.roomForAnother(), "1,400 + 200 > 1,500")
        resident = 1_000                                  // the batch decoded and was released
        budget.measure { resident += 300 }
        XCTAssertEqual(budget.largestForkBytes, 300, "the largest growth is kept")
        XCTAssertFalse(budget.roomForAnother(), "1,300 + 300 > 1,500")
        resident = 1_000
        budget.measure { resident += 100 }
        XCTAssertEqual(budget.largestForkBytes, 300, "a smaller fork does not lower the margin")
        XCTAssertTrue(budget.roomForAnother(), "1,100 + 300 ≤ 1,500")
        // No limit, or no reading of the process: every fork fits, and nothing is measured.
        XCTAssertTrue(ForkMemoryBudget(limit: nil, memoryNow: { Int.max / 2 }).roomForAnother())
        XCTAssertTrue(ForkMemoryBudget(limit: 10, memoryNow: { nil }).roomForAnother())
    }

    /// One sample of the tiny model, 10 forks (full and three methods × three budgets), batches of
    /// up to 16: with no limit they decode as one batch; with a process already over its limit each
    /// batch takes only its first fork (10 batches); every row equals the unlimited run's.
    func testAProcessOverItsLimitDecodesOneForkPerBatchWithTheSameRows() throws {
        let model = try LlamaModel(source: GGUFModelSource(path: RunnerFixture.model))
        let runs = try MethodRun.plan(methods: try MethodSpec.parseList(RunnerFixture.methods),
                                             budgets: try parseBudgetList(RunnerFixture.budgets))
        XCTAssertEqual(runs.count, RunnerFixture.rowsPerSample)
        let tokens = [1] + (0..<150).map { 3 + ($0 * 37) % (model.config.vocabSize - 3) }
        let needs = try runs.reduce(PrefillNeeds.none) {
            $0.merged(with: try $1.instantiate(promptTokens: tokens.count, model: model.config, resources: MethodResources?.none).prefillNeeds)
        }
        let prefill = try model.prefill(tokens, extraCapacity: 8, needs: needs)
        func decode(limit: Int?) throws -> (rows: [[Int]], batches: Int) {
            var batches = 0, rows: [[Int]] = Array(repeating: [], count: runs.count)
            let decodes = SampleDecodes(prefill: prefill, model: model, resources: nil, maxNewTokens: 8, stopTokens: [],
                                        batchSize: 16, memoryBudget: ForkMemoryBudget(limit: limit, memoryNow: { 2_000 }),
                                        whileForksLive: { batches += 1 })
            try decodes.run(runs) { rows[$0.index] = $0.generation.tokens + [Int($0.generation.attendedTokens * 1000)] }
            return (rows, batches)
        }
        let unlimited = try decode(limit: nil), limited = try decode(limit: 1_000)
        XCTAssertEqual(unlimited.batches, 1)
        XCTAssertEqual(limited.batches, runs.count)
        XCTAssertEqual(limited.rows, unlimited.rows)
        XCTAssertFalse(unlimited.rows.contains { $0.count < 2 }, "every run emitted its row")
    }
}
