import Foundation

/// Per-process scratch files for parsers that read a path: written once per input, in RAM
/// (`/dev/shm`) when the machine has it so that 10,000s of inputs do not wear a disk.
public enum FuzzScratch {
    private static let root: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        return base + "a2ats-fuzz-\(getpid())"
    }()

    /// `root/<target>`, created on first use.
    static func directory(for target: String) throws -> String {
        let path = root + "/" + target
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Replaces `path` with exactly `bytes`.
    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        guard let file = fopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
        defer { fclose(file) }
        if bytes.count > 0, fwrite(bytes.baseAddress, 1, bytes.count, file) != bytes.count {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// Removes this process's scratch files (the replay test calls it when done).
    public static func removeAll() {
        try? FileManager.default.removeItem(atPath: root)
    }
}
