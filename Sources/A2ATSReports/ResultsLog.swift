import A2ATSSupport
import Foundation

/// The append-only results store: one line per finished row, flushed and fsynced before
/// the next sample starts, so a run killed at any moment loses at most the line being
/// written — and `openForResume` cuts that half line off before appending again.
public enum ResultsLog {
    /// Appends one record as a line and fsyncs it.
    public static func append(_ record: ResultRecord, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw DataFileError(file: path, problem: "cannot open for append (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let bytes = Array((record.jsonLine + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw DataFileError(file: path, problem: "cannot append (\(String(cString: strerror(errno))))")
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw DataFileError(file: path, problem: "cannot fsync (\(String(cString: strerror(errno))))") }
    }

    /// The rows already finished in `path` (none if it does not exist). A cut-off last line
    /// is removed from the file, so that the next append starts on a fresh line.
    public static func openForResume(_ path: String) throws -> [ResultRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let (records, truncated) = try readResultsFile(path)
        guard let data = FileManager.default.contents(atPath: path), let last = data.last,
              last != UInt8(ascii: "\n") else { return records }
        if truncated {
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            guard truncate(path, off_t(keep)) == 0 else {
                throw DataFileError(file: path, problem: "cannot cut the unfinished last line (\(String(cString: strerror(errno))))")
            }
        } else {
            // A complete last record that only lacks its newline: terminate it.
            let fd = open(path, O_WRONLY | O_APPEND)
            guard fd >= 0, write(fd, "\n", 1) == 1, fsync(fd) == 0 else {
                if fd >= 0 { close(fd) }
                throw DataFileError(file: path, problem: "cannot terminate the last line (\(String(cString: strerror(errno))))")
            }
            close(fd)
        }
        return records
    }
}
