import A2ATSSupport
import Foundation

/// The rows of one or more runs (or shards of one run), merged.
public struct LoadedResults: Sendable {
    /// Rows in directory order, then file order; one row per resume key.
    public var records: [ResultRecord]
    /// Rows dropped because an earlier directory already had their resume key.
    public var duplicates: Int
    /// Files whose last line was cut off mid-write (a killed run) and was skipped.
    public var truncatedFiles: [String]
}

/// Reads `results.jsonl` from each directory (a path to a `.jsonl` file is read as is) and
/// merges them by resume key, first occurrence winning — so overlapping shards or a run
/// and its resumed copy count each sample × method × budget once.
///
/// A last line without its newline that does not parse is what a kill mid-append leaves;
/// it is skipped and reported in `truncatedFiles`. Any other bad line is an error naming
/// the file, line and field.
public func loadResults(directories: [String]) throws -> LoadedResults {
    var result = LoadedResults(records: [], duplicates: 0, truncatedFiles: [])
    var seen = Set<ResultRecord.ResumeKey>()
    for directory in directories {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw DataFileError(file: directory, problem: "no such file or directory")
        }
        let path = isDirectory.boolValue ? (directory as NSString).appendingPathComponent("results.jsonl") : directory
        let (records, truncated) = try readResultsFile(path)
        if truncated { result.truncatedFiles.append(path) }
        for record in records {
            if seen.insert(record.resumeKey).inserted {
                result.records.append(record)
            } else {
                result.duplicates += 1
            }
        }
    }
    result.records = canonicalOrder(result.records)
    return result
}

/// The rows in the order one unsharded run writes them — tasks and lengths as they first appear,
/// then samples by id (numeric ids, RULER's line numbers, by value), each sample's rows as written
/// — so that a report of shards is byte-identical to the report of the whole run: its means are
/// summed in the same order. Rows of one sample keep their relative order (stable sort).
func canonicalOrder(_ records: [ResultRecord]) -> [ResultRecord] {
    var groupRank: [String: Int] = [:]
    for record in records {
        let group = record.task + "\u{0}" + (record.length.map(String.init) ?? "")
        if groupRank[group] == nil { groupRank[group] = groupRank.count }
    }
    return records.enumerated().sorted { a, b in
        let (x, y) = (a.element, b.element)
        let (gx, gy) = (groupRank[x.task + "\u{0}" + (x.length.map(String.init) ?? "")]!,
                        groupRank[y.task + "\u{0}" + (y.length.map(String.init) ?? "")]!)
        if gx != gy { return gx < gy }
        if x.id != y.id {
            let order = x.id.compare(y.id, options: .numeric)
            return order == .orderedSame ? x.id < y.id : order == .orderedAscending
        }
        return a.offset < b.offset
    }.map(\.element)
}

/// The rows of one results file and whether its unterminated last line was skipped.
public func readResultsFile(_ path: String) throws -> (records: [ResultRecord], truncatedLastLine: Bool) {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw DataFileError(file: path, problem: "cannot read results file")
    }
    let text = String(decoding: data, as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // A file that ends with "\n" splits into a last empty piece; anything else in the last
    // piece was written without its newline.
    let unterminated = lines.removeLast()
    var records: [ResultRecord] = []
    for (index, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
        records.append(try ResultRecord(line: line, file: path, line: index + 1))
    }
    var truncated = false
    if !unterminated.allSatisfy(\.isWhitespace) {
        if let record = try? ResultRecord(line: unterminated, file: path, line: lines.count + 1) {
            records.append(record)
        } else {
            truncated = true
        }
    }
    return (records, truncated)
}
