import Foundation

/// Writes files so that a reader (or a crash) never sees half of one: the bytes go to a
/// temporary file in the same directory, are flushed, and replace the target by rename.
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard let file = fopen(temporary, "wb") else {
            throw DataFileError(file: path, problem: "cannot write (\(String(cString: strerror(errno))))")
        }
        let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == data.count, flushed, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DataFileError(file: path, problem: "cannot write (\(String(cString: strerror(errno))))")
        }
    }
}
