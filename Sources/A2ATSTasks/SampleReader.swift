import Foundation
import A2ATSSupport

/// The data file layouts the harness reads unchanged.
public enum DataFormat: String, Sendable {
    /// Written by RULER's `prepare.py`: `index`, `input`, `outputs`, `length`, …
    case ruler
    /// LongBench `{dataset}.jsonl`: `input`, `context`, `answers`, `all_classes`, `_id`, …
    case longbench
    /// Users' own data: `id`, `context`, `question`, `answers` (+ a task definition).
    case custom

    /// The format whose fields the record has, or nil.
    public static func detect(_ object: JSONObject) -> DataFormat? {
        if object["outputs"] != nil && object["input"] != nil { return .ruler }
        if object["context"] != nil && object["answers"] != nil && object["input"] != nil { return .longbench }
        if object["context"] != nil && object["answers"] != nil && object["question"] != nil { return .custom }
        return nil
    }
}

/// Streams the samples of a RULER, LongBench or custom JSONL file one line at a time (a
/// multi-gigabyte file never sits in memory), detecting the format from the first record.
/// Every problem is a `TaskError.dataFile` naming file, line and field.
public struct SampleReader {
    public let path: String
    public let format: DataFormat
    /// Task name given to samples that do not name their own (LongBench's `dataset` wins).
    public let task: String
    private var records: JSONLinesReader.Iterator
    private var pending: JSONLinesReader.Record?
    private var ordinal = 0

    /// Opens `path` and reads its first record; an empty file is an error ("no samples").
    /// `task` defaults to the name inferred from the path (`inferTaskName`).
    public init(path: String, task: String? = nil) throws {
        self.path = path
        records = JSONLinesReader(path: path).makeIterator()
        do {
            pending = try records.nextRecord()
        } catch let error as DataFileError {
            throw TaskError.dataFile(error)
        }
        guard let first = pending else {
            throw TaskError.dataFile(DataFileError(file: path, problem: "no samples (the file is empty)"))
        }
        guard let format = DataFormat.detect(first.object) else {
            throw TaskError.dataFile(DataFileError(file: path, line: first.line, problem:
                "unknown format: expected RULER fields (input, outputs), LongBench fields (input, context, answers) or custom fields (id, context, question, answers); found \(first.object.keys.joined(separator: ", "))"))
        }
        self.format = format
        self.task = task ?? SampleReader.inferTaskName(path: path)
    }

    /// RULER writes `TASK/validation.jsonl`; LongBench `DATASET.jsonl`.
    public static func inferTaskName(path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        if stem == "validation" || stem == "test" { return url.deletingLastPathComponent().lastPathComponent }
        return stem
    }

    /// The next sample, nil at the end of the file.
    public mutating func next() throws -> EvalSample? {
        let record: JSONLinesReader.Record
        if let first = pending {
            record = first
            pending = nil
        } else {
            do {
                guard let next = try records.nextRecord() else { return nil }
                record = next
            } catch let error as DataFileError {
                throw TaskError.dataFile(error)
            }
        }
        defer { ordinal += 1 }
        do {
            switch format {
            case .ruler: return try rulerSample(record)
            case .longbench: return try longBenchSample(record)
            case .custom: return try customSample(record)
            }
        } catch let error as DataFileError {
            throw TaskError.dataFile(error)
        }
    }

    /// All samples; for small files and tests.
    public mutating func readAll() throws -> [EvalSample] {
        var samples: [EvalSample] = []
        while let sample = try next() { samples.append(sample) }
        return samples
    }

    private func rulerSample(_ record: JSONLinesReader.Record) throws -> EvalSample {
        let input = try record.require("input", in: path, as: "string") { $0.stringValue }
        let outputs = try strings("outputs", record)
        let extra = remaining(record.object, except: ["index", "input", "outputs", "length", "answer_prefix"])
        return EvalSample(id: String(ordinal), sourceIndex: try optional("index", record, as: "integer") { $0.intValue },
                          task: task, input: input,
                          answerPrefix: try optional("answer_prefix", record, as: "string") { $0.stringValue } ?? "",
                          references: outputs,
                          length: try optional("length", record, as: "integer") { $0.intValue }, extra: extra)
    }

    private func longBenchSample(_ record: JSONLinesReader.Record) throws -> EvalSample {
        let input = try record.require("input", in: path, as: "string") { $0.stringValue }
        let context = try record.require("context", in: path, as: "string") { $0.stringValue }
        let answers = try strings("answers", record)
        var classes: [String]? = nil
        if let value = record.object["all_classes"], !value.isNull { classes = try strings("all_classes", record) }
        let id = try optional("_id", record, as: "string") { $0.stringValue } ?? String(ordinal)
        let dataset = try optional("dataset", record, as: "string") { $0.stringValue }
        let extra = remaining(record.object, except: ["input", "context", "answers", "all_classes", "_id", "length"])
        return EvalSample(id: id, task: dataset ?? task, input: input, context: context, references: answers,
                          allClasses: classes, length: try optional("length", record, as: "integer") { $0.intValue },
                          extra: extra)
    }

    private func customSample(_ record: JSONLinesReader.Record) throws -> EvalSample {
        let id = try record.require("id", in: path, as: "string or integer") { value -> String? in
            value.stringValue ?? value.intValue.map(String.init)
        }
        let context = try record.require("context", in: path, as: "string") { $0.stringValue }
        let question = try record.require("question", in: path, as: "string") { $0.stringValue }
        let answers = try strings("answers", record)
        var classes: [String]? = nil
        if let value = record.object["all_classes"], !value.isNull { classes = try strings("all_classes", record) }
        return EvalSample(id: id, task: task, input: question, context: context, references: answers,
                          allClasses: classes, extra: remaining(record.object, except: ["id", "context", "question", "answers", "all_classes"]))
    }

    private func strings(_ field: String, _ record: JSONLinesReader.Record) throws -> [String] {
        let items = try record.require(field, in: path, as: "array of strings") { $0.arrayValue }
        return try items.enumerated().map { index, item in
            guard let text = item.stringValue else {
                throw DataFileError(file: path, line: record.line, field: "\(field)[\(index)]",
                                    problem: "expected string, found \(item.typeName)")
            }
            return text
        }
    }

    private func optional<T>(_ field: String, _ record: JSONLinesReader.Record, as type: String,
                             _ extract: (JSONValue) -> T?) throws -> T? {
        guard let value = record.object[field], !value.isNull else { return nil }
        return try record.require(field, in: path, as: type, extract)
    }

    private func remaining(_ object: JSONObject, except fields: Set<String>) -> JSONObject {
        var rest = JSONObject()
        for (key, value) in object where !fields.contains(key) { rest[key] = value }
        return rest
    }
}
