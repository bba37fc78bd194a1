import Foundation

/// A problem in a data file, located precisely enough to fix by hand:
/// `file.jsonl:17: field "outputs": expected array, found string`.
public struct DataFileError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let field: String?
    public let problem: String

    public init(file: String, line: Int? = nil, field: String? = nil, problem: String) {
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let field { return "\(location): field \"\(field)\": \(problem)" }
        return "\(location): \(problem)"
    }
}

/// Streams a JSON Lines file one record at a time, so a multi-gigabyte file never sits in
/// memory whole. Blank lines are skipped; every other line must be one JSON object.
public struct JSONLinesReader: Sequence {
    public let path: String

    public init(path: String) { self.path = path }

    /// One parsed line: its 1-based line number and the object on it.
    public struct Record {
        public let line: Int
        public let object: JSONObject
    }

    public func makeIterator() -> Iterator { Iterator(path: path) }

    /// Reads all records, failing on the first bad line with its location.
    public func readAll() throws -> [Record] {
        var records: [Record] = []
        var iterator = makeIterator()
        while let record = try iterator.nextRecord() { records.append(record) }
        return records
    }

    public struct Iterator: IteratorProtocol {
        private let path: String
        private var source: LineSource?
        /// Why `fopen` failed, captured at once: `errno` is not stable until the first read.
        private var openError: Int32?
        private var lineNumber = 0

        init(path: String) {
            self.path = path
            if let file = fopen(path, "rb") {
                source = LineSource(file: file)
            } else {
                openError = errno
            }
        }

        /// Sequence conformance for callers that have already validated the file; stops at
        /// the first unreadable line. Use `nextRecord()` to see errors.
        public mutating func next() -> Record? { try? nextRecord() }

        /// The next record, `nil` at end of file, or an error naming file and line.
        public mutating func nextRecord() throws -> Record? {
            if let code = openError {
                openError = nil
                throw DataFileError(file: path, problem: "cannot open file (\(String(cString: strerror(code))))")
            }
            guard let source else { return nil }
            while true {
                guard let bytes = source.nextLine() else {
                    self.source = nil  // closes the file now rather than when the iterator dies
                    return nil
                }
                lineNumber += 1
                if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { continue }
                let value: JSONValue
                do {
                    value = try JSONValue.parse(bytes: bytes)
                } catch let error as JSONParseError {
                    throw DataFileError(file: path, line: lineNumber, problem: "invalid JSON: \(error.message)")
                }
                guard case .object(let object) = value else {
                    throw DataFileError(file: path, line: lineNumber, problem: "expected a JSON object, found \(value.typeName)")
                }
                return Record(line: lineNumber, object: object)
            }
        }
    }
}

/// Owns the open file and the line buffer, so that an iterator abandoned before the end of
/// the file still closes it, and the buffer is reused from line to line.
private final class LineSource {
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    init(file: UnsafeMutablePointer<FILE>) { self.file = file }

    deinit {
        fclose(file)
        free(buffer)
    }

    /// The next line including its newline, valid until the next call; nil at end of file.
    func nextLine() -> UnsafeRawBufferPointer? {
        let length = getline(&buffer, &capacity, file)
        guard length >= 0 else { return nil }
        return UnsafeRawBufferPointer(start: buffer, count: length)
    }
}

extension JSONLinesReader.Record {
    /// A required field of a given type, or an error naming file, line and field.
    public func require<T>(_ field: String, in file: String, as type: String,
                           _ extract: (JSONValue) -> T?) throws -> T {
        guard let value = object[field] else {
            throw DataFileError(file: file, line: line, field: field, problem: "missing")
        }
        guard let result = extract(value) else {
            throw DataFileError(file: file, line: line, field: field, problem: "expected \(type), found \(value.typeName)")
        }
        return result
    }
}
