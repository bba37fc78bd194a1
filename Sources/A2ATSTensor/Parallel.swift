import CKernels
import Foundation
import Synchronization

/// Runs the engine's short parallel sections (a matrix–vector product's halves, one KV head's
/// attention halves) on helper threads that stay awake between them.
///
/// A decode step hands work to a second core about 300 times (7 products and 3 KV heads per
/// layer), each worth 10–50 µs. `DispatchQueue.concurrentPerform` wakes a parked worker for
/// every one of them, which costs ≈ 15 µs here (measured: two 16 µs halves took 36 µs through
/// it, 18 µs through a spinning helper). These helpers poll for a while after each section
/// (`spinNanoseconds`) and only then park, so back-to-back sections pay a cache-line hand-off
/// instead; a part no helper has picked up when the caller is done with its own, the caller runs.
///
/// Worker w of a section runs the same code whichever thread runs it, so results do not depend on
/// the mechanism. A section that finds the helpers busy (another thread's section, or a section
/// started inside one) falls back to `concurrentPerform`.
public enum Parallel {
    /// Runs `body(0)` … `body(workers - 1)`, concurrently where a core is free, and returns when all
    /// have finished. The parts must not wait for one another (one thread may run several).
    public static func perform(_ workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 { body(0); return }
        guard workers - 1 <= SpinningHelpers.shared.count, SpinningHelpers.shared.claim() else {
            DispatchQueue.concurrentPerform(iterations: workers, execute: body)
            return
        }
        defer { SpinningHelpers.shared.release() }
        withoutActuallyEscaping(body) { SpinningHelpers.shared.run(workers, $0) }
    }
}

/// One helper thread per core beyond the caller's, each polling its own generation counter.
private final class SpinningHelpers: @unchecked Sendable {
    static let shared = SpinningHelpers(count: max(1, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// How long a helper polls for the next section before it parks: longer than the serial gaps
    /// inside a decode step, short enough not to steal a core from BLAS or from another process
    /// for long between steps.
    private static let spinNanoseconds: UInt64 = 200_000

    let count: Int
    private let busy = Atomic<Bool>(false)
    /// The section's body while it runs; read by a helper only after taking its part and before
    /// reporting it done, so it is never replaced under it.
    private let job = UnsafeMutablePointer<(Int) -> Void>.allocate(capacity: 1)
    private let helpers: [Helper]

    private final class Helper: @unchecked Sendable {
        /// Bumped by the caller to start a section; `done` echoes it when this helper finished.
        let generation = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        /// The last section whose part someone (this helper or the caller) took: a part runs once.
        let taken = Atomic<Int>(0)
        /// Set by a helper about to sleep on `wake`; whoever clears it owes or consumes one signal.
        let parked = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)

        func take(_ generation: Int) -> Bool {
            taken.compareExchange(expected: generation - 1, desired: generation, ordering: .acquiringAndReleasing).exchanged
        }
    }

    private init(count: Int) {
        self.count = count
        helpers = (0..<count).map { _ in Helper() }
        for (index, helper) in helpers.enumerated() {
            let thread = Thread { [unowned self] in self.serve(helper, worker: index + 1) }
            thread.name = "a2ats-parallel-\(index + 1)"
            thread.start()
        }
    }

    func claim() -> Bool { busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged }
    func release() { busy.store(false, ordering: .releasing) }

    /// Starts helpers 1 ..< workers on `body` and runs worker 0 here. Then each helper's part is
    /// either taken back (the helper has not picked it up yet: asleep, or descheduled on a loaded
    /// machine — this thread runs it rather than wait for a wake-up) or waited for.
    func run(_ workers: Int, _ body: @escaping (Int) -> Void) {
        job.initialize(to: body)
        defer { job.deinitialize(count: 1) }
        let used = helpers[0..<(workers - 1)]
        for helper in used {
            helper.generation.add(1, ordering: .sequentiallyConsistent)  // only this thread writes it
            if helper.parked.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.signal() }
        }
        body(0)
        for (index, helper) in used.enumerated() {
            let generation = helper.generation.load(ordering: .relaxed)
            if helper.take(generation) {
                body(index + 1)
                continue
            }
            var polls = 0
            while helper.done.load(ordering: .acquiring) != generation { politePause(&polls) }
        }
    }

    private func serve(_ helper: Helper, worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            var deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
            var current = helper.generation.load(ordering: .acquiring)
            while current == seen {
                politePause(&spins)
                // The clock is read every 64 polls: a `pause` is 10–140 cycles depending on the core.
                if spins % 64 == 0, DispatchTime.now().uptimeNanoseconds > deadline {
                    park(helper, seen: seen)
                    deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
                }
                current = helper.generation.load(ordering: .acquiring)
            }
            seen = current
            guard helper.take(current) else { continue }  // the caller ran this part itself
            job.pointee(worker)
            helper.done.store(current, ordering: .releasing)
        }
    }

    /// Sleeps until the next section unless one started meanwhile.
    private func park(_ helper: Helper, seen: Int) {
        helper.parked.store(true, ordering: .sequentiallyConsistent)
        if helper.generation.load(ordering: .sequentiallyConsistent) == seen {
            helper.wake.wait()
        } else if !helper.parked.exchange(false, ordering: .sequentiallyConsistent) {
            helper.wake.wait()  // the caller cleared the flag first and signalled: take that signal
        }
    }
}

/// One poll's wait: a `pause` instruction, and past the first 256 polls (≈ 10 µs, longer than a
/// section's halves usually differ) a `sched_yield` every 8th. The yield matters on a loaded
/// machine: when the other thread of a section shares this core (other processes hold the rest,
/// or the process's CPU share is capped), polling without yielding spends the time slice that
/// thread needs; measured beside a busy process, decode went from 22 to 116 ms/token without it.
@inline(__always)
private func politePause(_ polls: inout Int) {
    polls += 1
    if polls > 256 && polls % 8 == 0 {
        sched_yield()
    } else {
        a2ats_spin_pause()
    }
}
