import Foundation

/// Writes files so that a reader (or a crash) never sees half of one: the bytes go to a
/// temporary file in the same directory, are flushed, and replace the target by rename.
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Removes the temporaries that writers killed before their rename left in `directory`
    /// (`.NAME.tmp-PID-…` whose process no longer exists); a live writer's are kept. Returns
    /// how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...].prefix { $0 != "-" }), pid > 0,
                  kill(pid, 0) != 0 && errno == ESRCH else { continue }
            if unlink(directory + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataFileError(file: path, problem: "cannot create directory \(directory)")
        }
        // Unique per call, so two threads writing the same target never share a temporary.
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard let file = fopen(temporary, "wb") else {
            throw DataFileError(file: path, problem: "cannot write (\(String(cString: strerror(errno))))")
        }
        let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        // errno is captured right at the failing call: fclose/unlink below may overwrite it.
        var failure: Int32 = written == data.count ? 0 : errno
        if failure == 0 && (fflush(file) != 0 || fsync(fileno(file)) != 0) { failure = errno }
        fclose(file)
        TestHooks.pauseInsideWrite()
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(temporary)
            throw DataFileError(file: path, problem: "cannot write (\(String(cString: strerror(failure))))")
        }
    }
}
