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
        private var file: UnsafeMutablePointer<FILE>?
        private var lineNumber = 0
        private var openFailed = false

        init(path: String) {
            self.path = path
            file = fopen(path, "rb")
            openFailed = file == nil
        }

        /// Sequence conformance for callers that have already validated the file; stops at
        /// the first unreadable line. Use `nextRecord()` to see errors.
        public mutating func next() -> Record? { try? nextRecord() }

        /// The next record, `nil` at end of file, or an error naming file and line.
        public mutating func nextRecord() throws -> Record? {
            if openFailed {
                openFailed = false
                throw DataFileError(file: path, problem: "cannot open file (\(String(cString: strerror(errno))))")
            }
            guard let file else { return nil }
            var buffer: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(buffer) }
            while true {
                let length = getline(&buffer, &capacity, file)
                if length < 0 {
                    fclose(file)
                    self.file = nil
                    return nil
                }
                lineNumber += 1
                let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
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
