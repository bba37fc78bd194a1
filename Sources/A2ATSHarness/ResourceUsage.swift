import Foundation

/// What this process has used, for the run summary and the manifest (issue: an 8K run of the
/// default model must stay under 2 GiB resident, and the run shows it).
public enum ResourceUsage {
    /// Peak resident set size of this process so far, in bytes (getrusage's ru_maxrss, which
    /// Linux reports in KiB). A resumed run reports only its own process.
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }

    /// Proportional set size of this process now (`Pss` of /proc/self/smaps_rollup), nil where the
    /// kernel has no such file. Forks decoded together map the shared prefill's pages once each, and
    /// the kernel's resident count (`ru_maxrss`) counts such a page once per mapping; PSS counts it
    /// once, so it is the memory those forks really hold.
    public static func proportionalSetBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") }),
              let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kib * 1024
    }

    /// Hands the allocator's freed pages back to the kernel (glibc's `malloc_trim`, looked up at run
    /// time: other C libraries have none and return large blocks themselves), so that the process's
    /// memory reads what is live.
    public static func returnFreedMemory() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// `1.23 GiB` / `456.7 MiB`.
    public static func formatBytes(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1024 ? String(format: "%.2f GiB", mib / 1024) : String(format: "%.1f MiB", mib)
    }
}
