import Foundation
import A2ATSSupport

/// All known tasks by name, loaded from task files (`tasks/*.json`). The same files are
/// bundled as module resources (`Data/tasks`), so `builtIn()` works outside the repository;
/// a test keeps the two copies identical.
public struct TaskCatalog: Sendable {
    public private(set) var tasks: [TaskDefinition] = []

    /// A catalog of the given tasks; a name given twice is an error.
    public init(tasks: [TaskDefinition] = []) throws {
        for task in tasks { try add(task) }
    }

    /// Loads every `*.json` file of `directory`, in name order.
    public init(directory: String) throws {
        try load(directory: directory)
    }

    /// Adds every `*.json` file of `directory`, in name order (a user's own task definitions
    /// beside the built-in ones).
    public mutating func load(directory: String) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw TaskError.dataFile(DataFileError(file: directory, problem: "cannot list task directory"))
        }
        for name in names { try load(file: directory + "/" + name) }
    }

    /// The task definitions shipped with the harness (bundled copy of `tasks/`).
    public static func builtIn() throws -> TaskCatalog {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Data/tasks"),
              FileManager.default.fileExists(atPath: url.path) else {
            throw TaskError.missingResource("Data/tasks")
        }
        return try TaskCatalog(directory: url.path)
    }

    /// Adds the tasks of one file: `{"version": N, "tasks": [...]}` or one task object with
    /// its own `"version"`.
    public mutating func load(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TaskError.dataFile(DataFileError(file: file, problem: "cannot read file"))
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw TaskError.dataFile(DataFileError(file: file, problem: "invalid JSON: \(error)"))
        }
        guard let object = value.objectValue else {
            throw TaskError.dataFile(DataFileError(file: file, problem: "expected a JSON object, found \(value.typeName)"))
        }
        guard let versionValue = object["version"] else {
            throw TaskError.dataFile(DataFileError(file: file, field: "version", problem: "missing"))
        }
        guard let version = versionValue.intValue else {
            throw TaskError.dataFile(DataFileError(file: file, field: "version", problem: "expected integer, found \(versionValue.typeName)"))
        }
        if let list = object["tasks"] {
            guard let items = list.arrayValue else {
                throw TaskError.dataFile(DataFileError(file: file, field: "tasks", problem: "expected array, found \(list.typeName)"))
            }
            for (i, item) in items.enumerated() {
                guard let taskObject = item.objectValue else {
                    throw TaskError.dataFile(DataFileError(file: file, field: "tasks[\(i)]", problem: "expected object, found \(item.typeName)"))
                }
                try add(TaskDefinition.parse(taskObject, version: version, file: file, at: "tasks[\(i)]"))
            }
        } else {
            try add(TaskDefinition.parse(object, version: version, file: file, at: ""))
        }
    }

    /// Adds one task; a name defined twice is an error naming both files.
    public mutating func add(_ task: TaskDefinition) throws {
        if let existing = tasks.first(where: { $0.name == task.name }) {
            throw TaskError.dataFile(DataFileError(file: task.file, field: "name",
                                                   problem: "task \"\(task.name)\" is already defined in \(existing.file)"))
        }
        tasks.append(task)
    }

    public var names: [String] { tasks.map(\.name) }

    public func contains(_ name: String) -> Bool { tasks.contains { $0.name == name } }

    /// The task called `name`, or an error listing the closest names and all valid ones.
    public func task(named name: String) throws -> TaskDefinition {
        if let task = tasks.first(where: { $0.name == name }) { return task }
        throw TaskError.unknownTask(name: name, suggestions: suggestions(for: name), available: names)
    }

    /// Up to three names within a small edit distance of `name` (or containing it), closest
    /// first, ties alphabetical.
    public func suggestions(for name: String) -> [String] {
        closestMatches(to: name, among: names.sorted(), limit: 3, ignoringCase: true, containmentIsOneEdit: true)
    }
}
