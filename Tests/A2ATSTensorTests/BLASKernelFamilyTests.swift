@testable import A2ATSTensor
import XCTest

/// The kernel-family rule against the cases worked by hand from OpenBLAS's names and the CPU
/// flags of the hosts this project runs on (/proc/cpuinfo lines copied from them).
final class BLASKernelFamilyTests: XCTestCase {
    let sapphireRapids = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_tile\n"

    func testGenericFallbackOnAVX512HostAsksForSkylakeX() {
        let flags = BLASKernelFamily.cpuFlags(cpuinfo: sapphireRapids)
        XCTAssertTrue(flags.contains("avx512bw"))
        XCTAssertEqual(BLASKernelFamily.better(than: "Prescott", cpuFlags: flags), "SkylakeX")
    }

    func testAVX2OnlyHostAsksForHaswell() {
        XCTAssertEqual(BLASKernelFamily.better(than: "Prescott", cpuFlags: ["avx", "avx2", "fma"]), "Haswell")
        XCTAssertEqual(BLASKernelFamily.better(than: "Nehalem", cpuFlags: ["avx2", "fma", "avx512f"]), "Haswell",
                       "AVX-512 needs F, VL, BW and DQ for the SkylakeX kernels")
    }

    func testTunedOrHopelessChoicesStand() {
        XCTAssertNil(BLASKernelFamily.better(than: "SkylakeX", cpuFlags: ["avx2", "fma"]))
        XCTAssertNil(BLASKernelFamily.better(than: "SkylakeX", cpuFlags: ["avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"]))
        XCTAssertNil(BLASKernelFamily.better(than: "Zen", cpuFlags: ["avx2", "fma"]))
        XCTAssertNil(BLASKernelFamily.better(than: "Prescott", cpuFlags: ["sse2", "sse3"]))
    }

    /// AVX2 kernels that OpenBLAS chose itself on an AVX-512 CPU (a model its tables map to Zen or
    /// Haswell): the SkylakeX kernels run sgemm 1.9× faster there (451 against ≈ 240 GFLOP/s on two
    /// Zen 5 cores).
    func testAVX2KernelsOnAnAVX512HostAskForSkylakeX() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"]
        XCTAssertEqual(BLASKernelFamily.better(than: "Zen", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLASKernelFamily.better(than: "Haswell", cpuFlags: avx512), "SkylakeX")
        XCTAssertNil(BLASKernelFamily.better(than: "Cooperlake", cpuFlags: avx512))
    }

    func testCurrentFamilyIsNamed() {
        XCTAssertFalse(BLASKernelFamily.current.isEmpty)
    }
}
