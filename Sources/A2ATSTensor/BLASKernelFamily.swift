import COpenBLAS
import Foundation

/// Which OpenBLAS kernel family this process runs, and a restart with a better one when the
/// library fell back to its generic kernels.
///
/// Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model it knows; on a CPU newer than
/// its tables (a Sapphire Rapids Xeon here on 2026-11-27) it falls back to "Prescott", SSE3
/// kernels: sgemm at 1024×3072×576 ran at 30 GFLOP/s on 2 cores instead of 193 with the
/// SkylakeX (AVX-512) kernels, and every prefill was 5× slower. OpenBLAS reads
/// `OPENBLAS_CORETYPE` only when it loads, before `main`, so the cure is to restart the process
/// once with the best family the CPU's flags allow. A user's own `OPENBLAS_CORETYPE` is kept.
public enum BLASKernelFamily {
    /// The kernel family OpenBLAS chose at load time ("SkylakeX", "Haswell", "Prescott", …).
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Whether OpenBLAS's `family` multiplies with AVX-512 (SkylakeX and its successors).
    static func runsAVX512(_ family: String) -> Bool {
        ["skylakex", "cooperlake", "sapphirerapids"].contains(family.lowercased())
    }

    /// Families OpenBLAS uses when it does not recognise the CPU, or for CPUs without AVX2.
    static let genericFamilies: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
                                               "coppermine", "northwood", "banias", "unknown"]

    /// The family to ask for, given the CPU's flags, when OpenBLAS chose a generic one, or AVX2
    /// kernels (Haswell, Zen) on a CPU with AVX-512: on a Zen 5 host its SkylakeX kernels ran
    /// sgemm at 451 GFLOP/s on two cores, its Haswell ones at ≈ 240 and our own kernel at 345
    /// (`reports/performance.md`, session 13). Nil when its own choice stands (AVX-512 kernels
    /// already, or a CPU with nothing better to offer).
    static func better(than chosen: String, cpuFlags: Set<String>) -> String? {
        let hasAVX512 = ["avx512f", "avx512vl", "avx512bw", "avx512dq"].allSatisfy(cpuFlags.contains)
        if hasAVX512 && !runsAVX512(chosen) { return "SkylakeX" }
        guard genericFamilies.contains(chosen.lowercased()) else { return nil }
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
        return nil
    }

    /// The `flags` of the first processor in /proc/cpuinfo text.
    static func cpuFlags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// Restarts this process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to generic
    /// kernels on a CPU that has AVX2 or AVX-512, or to AVX2 kernels on one with AVX-512; returns (doing nothing) otherwise, or when the
    /// variable is already set (by the user, or by this restart), or when the restart fails.
    public static func restartWithTunedKernelsIfNeeded() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let family = better(than: current, cpuFlags: cpuFlags(cpuinfo: cpuinfo)) else { return }
        setenv("OPENBLAS_CORETYPE", family, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the generic kernels.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
