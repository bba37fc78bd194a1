import A2ATSSupport
import Foundation

/// Identifies one finished results row (contract.md: task, length, id, method spec, budget).
/// Built from the row's JSON so that the store does not depend on a particular record type;
/// each part is the field's compact JSON text, so `256` and `"256"`, or `null` and a
/// missing length, stay distinct exactly as they were written.
public struct ResumeKey: Hashable, CustomStringConvertible {
    public static let fields = ["task", "length", "id", "method", "budget"]

    public let task: String
    public let length: String
    public let id: String
    public let method: String
    public let budget: String

    /// The key of a row; every key field must be present (use JSON null for "none").
    public init(row: JSONObject) throws {
        var parts: [String] = []
        for field in Self.fields {
            guard let value = row[field] else { throw ResultsStoreError.missingKeyField(field: field, line: nil, path: nil) }
            parts.append(value.compactText)
        }
        // A KV-memory budget (`kv_budget`) or an attended-fraction target (`attended_target`), with
        // `budget` null, is part of the budget; rows without one keep the key they always had.
        if let kv = row["kv_budget"], !kv.isNull { parts[4] = "kv=" + kv.compactText }
        if let target = row["attended_target"], !target.isNull { parts[4] = "att=" + target.compactText }
        (task, length, id, method, budget) = (parts[0], parts[1], parts[2], parts[3], parts[4])
    }

    public var description: String { "task=\(task) length=\(length) id=\(id) method=\(method) budget=\(budget)" }
}

public enum ResultsStoreError: Error, CustomStringConvertible, Equatable {
    /// Results exist and the user did not ask to resume; nothing is touched.
    case existingResults(path: String)
    case missingKeyField(field: String, line: Int?, path: String?)
    /// Another process holds the file open for writing.
    case busy(path: String)
    case io(path: String, problem: String)

    public var description: String {
        switch self {
        case .existingResults(let path):
            return "\(path) already holds results; pass --resume to continue that run, or choose another --out"
        case .missingKeyField(let field, let line, let path):
            let location = path.map { $0 + (line.map { ":\($0)" } ?? "") + ": " } ?? ""
            return "\(location)results row lacks the resume-key field \"\(field)\""
        case .busy(let path):
            return "\(path) is being written by another a2ats-eval process; wait for it or choose another --out"
        case .io(let path, let problem):
            return "\(path): \(problem)"
        }
    }
}

/// The append-only `results.jsonl` of a run. Each row is written with one `write` and
/// fsynced, so an interruption loses at most the row being written; on resume that
/// half-written tail is cut off and the finished rows' keys are known, so the runner skips
/// them and the finished file equals an uninterrupted run's.
public final class ResultsStore {
    public let path: String
    /// Keys of every complete row in the file.
    public private(set) var finishedKeys: Set<ResumeKey> = []
    /// Rows found on opening (complete lines only).
    public private(set) var resumedRowCount = 0
    /// Bytes of an incomplete last line removed on opening (0 when the file was clean).
    public private(set) var droppedTailBytes = 0
    private let descriptor: Int32

    /// Opens `directory/fileName`, creating the directory. Without `resume`, an existing
    /// non-empty file is an error; with it, the file is repaired and its keys collected.
    /// The file is locked (flock) while the store is open, so two processes resuming the
    /// same run cannot interleave or repeat rows; shards should write to separate files.
    public init(directory: String, fileName: String = "results.jsonl", resume: Bool) throws {
        path = (directory as NSString).appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ResultsStoreError.io(path: directory, problem: "cannot create directory")
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ResultsStoreError.io(path: path, problem: Self.lastError("cannot open")) }
        do {
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { throw ResultsStoreError.busy(path: path) }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw ResultsStoreError.io(path: path, problem: Self.lastError("cannot stat")) }
            if info.st_size > 0 {
                guard resume else { throw ResultsStoreError.existingResults(path: path) }
                try cutIncompleteTail(size: Int(info.st_size))
                try collectKeys()
            }
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    public func contains(_ key: ResumeKey) -> Bool { finishedKeys.contains(key) }

    /// Appends one row as a line and makes it durable before returning.
    public func append(_ row: JSONObject) throws {
        let key = try ResumeKey(row: row)
        let line = JSONValue.object(row).compactText + "\n"
        let bytes = Array(line.utf8)
        // Where this row starts: a write that fails half-way is cut back to here, so the file
        // keeps ending on a finished row even when the disk is full.
        let start = lseek(descriptor, 0, SEEK_END)
        var offset = 0
        // With the test hook set, the row goes out in two halves with a pause between them.
        let firstPart = TestHooks.writeDelayMicroseconds > 0 ? bytes.count / 2 : bytes.count
        while offset < bytes.count {
            if offset == firstPart { TestHooks.pauseInsideWrite() }
            let end = offset < firstPart ? firstPart : bytes.count
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, end - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("cannot append a row", cutBackTo: start)
            }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw failure("cannot fsync a row", cutBackTo: start) }
        finishedKeys.insert(key)
    }

    /// Truncates the file back to just after its last newline, so the next append starts on
    /// a fresh line. Reads backwards in 64 KiB steps: the tail is short, the file may be big.
    private func cutIncompleteTail(size: Int) throws {
        guard let file = fopen(path, "rb") else { throw ResultsStoreError.io(path: path, problem: Self.lastError("cannot read")) }
        defer { fclose(file) }
        let step = 1 << 16
        var buffer = [UInt8](repeating: 0, count: step)
        var end = size
        var keep = 0
        search: while end > 0 {
            let start = max(0, end - step)
            fseeko(file, off_t(start), SEEK_SET)
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, end - start, file) }
            guard count == end - start else { throw ResultsStoreError.io(path: path, problem: "short read") }
            for position in stride(from: count - 1, through: 0, by: -1) where buffer[position] == 10 {
                keep = start + position + 1
                break search
            }
            end = start
        }
        guard keep < size else { return }
        guard ftruncate(descriptor, off_t(keep)) == 0, fsync(descriptor) == 0 else {
            throw ResultsStoreError.io(path: path, problem: Self.lastError("cannot cut the incomplete last line"))
        }
        droppedTailBytes = size - keep
    }

    /// Reads the complete rows; a malformed complete line is an error, not something to skip:
    /// it means the file was edited or damaged, and guessing could lose or repeat results.
    private func collectKeys() throws {
        var iterator = JSONLinesReader(path: path).makeIterator()
        while let record = try iterator.nextRecord() {
            do {
                finishedKeys.insert(try ResumeKey(row: record.object))
            } catch ResultsStoreError.missingKeyField(let field, _, _) {
                throw ResultsStoreError.missingKeyField(field: field, line: record.line, path: path)
            }
            resumedRowCount += 1
        }
    }

    /// Rows of an existing results file per the `build` that wrote them ("" for rows without one);
    /// empty when there is no file. An incomplete last line (a run killed mid-write) is not a row.
    public static func recordedBuilds(path: String) throws -> [String: Int] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        var builds: [String: Int] = [:]
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.dropLast().enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let row = try? JSONValue.parse(String(line)).objectValue else {
                throw DataFileError(file: path, line: index + 1, problem: "not a results row (invalid JSON)")
            }
            builds[row["build"]?.stringValue ?? "", default: 0] += 1
        }
        return builds
    }

    /// The error of a failed append (errno read first), after cutting the partial row off;
    /// every row before it stays.
    private func failure(_ action: String, cutBackTo start: off_t) -> ResultsStoreError {
        let problem = Self.lastError(action)
        let kept = start >= 0 && ftruncate(descriptor, start) == 0
        return .io(path: path, problem: problem + (kept ? "; every finished row before it is kept" : ""))
    }

    private static func lastError(_ action: String) -> String { "\(action) (\(String(cString: strerror(errno))))" }
}
