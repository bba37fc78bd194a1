import Foundation

/// Hooks that only the reliability scripts set, read once from the environment.
/// `A2ATS_TEST_WRITE_DELAY_MS=N` makes every durable write pause N ms in its middle (a results
/// row between its two halves, an atomic file between its bytes and the rename), so that
/// `scripts/reliability/kill-resume.sh` can land SIGKILLs inside writes rather than only
/// between them. Unset (the default), nothing changes.
public enum TestHooks {
    public static let writeDelayMicroseconds: UInt32 = {
        guard let text = ProcessInfo.processInfo.environment["A2ATS_TEST_WRITE_DELAY_MS"], let ms = UInt32(text) else { return 0 }
        return ms * 1000
    }()

    /// Sleeps for the configured delay (no-op when the hook is unset).
    public static func pauseInsideWrite() {
        if writeDelayMicroseconds > 0 { usleep(writeDelayMicroseconds) }
    }
}
