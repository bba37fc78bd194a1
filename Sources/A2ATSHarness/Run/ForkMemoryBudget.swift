/// Decides whether another fork of one prefill may join the batch being built, so that forks
/// decoded together stay under a memory limit (`--memory-limit`).
///
/// A fork's memory is known only once it is built (a method's side data at 32K ranges from none to
/// 0.9 GB), so the budget measures the process (its proportional set size) around each build and
/// keeps the largest growth seen: a batch stops growing once one more fork as large as that would
/// pass the limit. A batch always takes its first fork, so a limit below the prefill's own memory
/// decodes forks one at a time. The prefill itself is not limited.
final class ForkMemoryBudget {
    /// Bytes the process may hold while forks decode; nil: no limit.
    let limit: Int?
    /// The process's memory now (nil where it cannot be read: then no limit applies).
    let memoryNow: () -> Int?
    /// The largest growth one fork's build has caused so far in this run (kept across samples).
    private(set) var largestForkBytes = 0

    init(limit: Int?, memoryNow: @escaping () -> Int? = ResourceUsage.proportionalSetBytes) {
        self.limit = limit
        self.memoryNow = memoryNow
    }

    /// Whether a fork as large as the largest so far still fits beside the ones built.
    func roomForAnother() -> Bool {
        guard let limit, let now = memoryNow() else { return true }
        return now + largestForkBytes <= limit
    }

    /// Builds one fork with `build` and records how much the process grew.
    func measure<T>(_ build: () throws -> T) rethrows -> T {
        guard limit != nil, let before = memoryNow() else { return try build() }
        let built = try build()
        if let after = memoryNow() { largestForkBytes = max(largestForkBytes, after - before) }
        return built
    }

    /// After a batch's forks are gone: hands their freed pages back to the kernel, so that the next
    /// batch's reading of the process's memory is what is live, not what the allocator keeps.
    func batchReleased() {
        if limit != nil { ResourceUsage.returnFreedMemory() }
    }
}
