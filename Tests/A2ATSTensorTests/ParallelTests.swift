import A2ATSTensor
import Foundation
import XCTest

/// `Parallel.perform` against the plain loop it stands for: every worker index runs exactly once
/// per section and the section has finished (all writes visible) when the call returns — across
/// back-to-back sections, sections after the helpers parked, sections started inside sections
/// and sections started from several threads at once (the last two fall back to libdispatch).
final class ParallelTests: XCTestCase {
    /// Each worker adds its index + 1 into its own slot; the reference is the serial sum.
    private func section(_ workers: Int, into slots: UnsafeMutablePointer<Int>) {
        let target = Slots(pointer: slots)
        Parallel.perform(workers) { worker in target.pointer[worker] += worker + 1 }
    }

    func testEveryWorkerRunsOncePerSectionBackToBackAndAfterParking() {
        for workers in 1...4 {
            let slots = UnsafeMutablePointer<Int>.allocate(capacity: workers)
            slots.initialize(repeating: 0, count: workers)
            defer { slots.deallocate() }
            let rounds = 2_000
            for round in 0..<rounds {
                section(workers, into: slots)
                // Now and then wait past the helpers' polling time, so they park and must be woken.
                if round % 500 == 499 { usleep(2_000) }
            }
            for worker in 0..<workers {
                XCTAssertEqual(slots[worker], rounds * (worker + 1), "workers \(workers), worker \(worker)")
            }
        }
    }

    func testSectionsInsideSectionsAndFromSeveralThreads() {
        let outer = 2, inner = 3, threads = 4, rounds = 200
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: threads * outer * inner)
        slots.initialize(repeating: 0, count: threads * outer * inner)
        defer { slots.deallocate() }
        let target = Slots(pointer: slots)
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for _ in 0..<rounds {
                Parallel.perform(outer) { o in
                    Parallel.perform(inner) { i in target.pointer[(thread * outer + o) * inner + i] += 1 }
                }
            }
        }
        XCTAssertEqual((0..<threads * outer * inner).map { slots[$0] }, [Int](repeating: rounds, count: threads * outer * inner))
    }
}

/// Worker-owned slots, crossing into the section's closure.
private struct Slots: @unchecked Sendable { let pointer: UnsafeMutablePointer<Int> }
