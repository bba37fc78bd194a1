import A2ATSSupport
import Foundation

/// results.csv for pandas users: one row per results row, the columns of results.jsonl in
/// the same order. Text fields are written as text; every other cell is its JSON text
/// (`params` and `references` as compact JSON, null as an empty cell), so the file reads
/// back into exactly the same records. Quoting is plain RFC 4180: a cell holding a comma,
/// quote, CR or LF is quoted, with quotes doubled.
public enum ResultsCSV {
    static let textColumns: Set<String> = ["id", "task", "method", "prediction"]

    public static func render(_ records: [ResultRecord]) -> String {
        var out = ResultRecord.fieldNames.map(quote).joined(separator: ",") + "\n"
        for record in records {
            let object = record.jsonObject
            let cells = ResultRecord.fieldNames.map { field -> String in
                guard let value = object[field], !value.isNull else { return "" }
                if textColumns.contains(field), let text = value.stringValue { return quote(text) }
                return quote(value.compactText)
            }
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }

    /// Reads a results.csv back into records (the inverse of `render`).
    public static func records(fromCSV text: String, file: String) throws -> [ResultRecord] {
        let rows = try parse(text, file: file)
        guard let header = rows.first else { return [] }
        var records: [ResultRecord] = []
        for (index, cells) in rows.dropFirst().enumerated() {
            let line = index + 2
            guard cells.count == header.count else {
                throw DataFileError(file: file, line: line, problem: "expected \(header.count) cells, found \(cells.count)")
            }
            var object = JSONObject()
            for (name, cell) in zip(header, cells) {
                if textColumns.contains(name) {
                    object[name] = .string(cell)
                } else if cell.isEmpty {
                    if name != "source_index" { object[name] = .null }
                } else {
                    // Parsed inside brackets: `JSONValue.parse` rejects some bare numbers
                    // (json-c reports their end within the padding it was fed).
                    do {
                        guard let value = try JSONValue.parse("[" + cell + "]").arrayValue, value.count == 1 else {
                            throw DataFileError(file: file, line: line, field: name, problem: "not one JSON value: \(cell)")
                        }
                        object[name] = value[0]
                    } catch {
                        throw DataFileError(file: file, line: line, field: name, problem: "not a JSON value: \(cell)")
                    }
                }
            }
            records.append(try ResultRecord(object: object, file: file, line: line))
        }
        return records
    }

    /// RFC 4180 cells, row by row (line numbers in errors count records, not physical lines).
    public static func parse(_ text: String, file: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = iterator.next()
        var cellStarted = false
        while let c = pending {
            pending = iterator.next()
            if quoted {
                if c == "\"" {
                    if pending == "\"" { cell.unicodeScalars.append("\""); pending = iterator.next() } else { quoted = false }
                } else {
                    cell.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where !cellStarted:
                quoted = true
                cellStarted = true
            case ",":
                row.append(cell); cell = ""; cellStarted = false
            case "\r" where pending == "\n":
                continue
            case "\n":
                row.append(cell); rows.append(row); row = []; cell = ""; cellStarted = false
            default:
                cell.unicodeScalars.append(c)
                cellStarted = true
            }
        }
        if quoted { throw DataFileError(file: file, line: rows.count + 1, problem: "unterminated quoted cell") }
        if cellStarted || !row.isEmpty { row.append(cell); rows.append(row) }
        return rows
    }

    static func quote(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
