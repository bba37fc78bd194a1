import Foundation

/// One parser (or chain of parsers reading the same file) under fuzz. Shared by the libFuzzer
/// driver (`Fuzz/`, built with `-sanitize=fuzzer,address` by scripts/fuzz.sh) and by the corpus
/// replay test, so both hold every input to the same rule: it parses, or every stage that
/// refuses it throws that stage's typed error naming the file — anything else is a failure.
public struct FuzzTarget: Sendable {
    /// Also the corpus folder: `Fuzz/corpus/<name>/`.
    public let name: String
    /// The parsers it drives, for `--list` and docs/reliability.md.
    public let summary: String
    /// The file name the input is written under (some parsers infer things from it).
    let fileName: String
    let body: @Sendable (FuzzRun) throws -> Void

    init(name: String, summary: String, fileName: String, body: @escaping @Sendable (FuzzRun) throws -> Void) {
        self.name = name
        self.summary = summary
        self.fileName = fileName
        self.body = body
    }

    /// Every target. A new parser's target is one file in `Targets/` plus one line here.
    public static let all: [FuzzTarget] = [
        .taskData, .taskDefinitions, .modelRegistry, .gguf, .codebook, .offlineArtifact, .results,
        .hfTokenizer, .chatTemplate, .safetensors, .checkpointConfig,
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// Feeds `bytes` to the parsers; throws `FuzzFailure` for a crash-worthy outcome (an error
    /// that is not the parser's typed error, or one that does not name the file).
    public func run(_ bytes: UnsafeRawBufferPointer) throws -> FuzzOutcome {
        let run = FuzzRun(target: self, bytes: bytes)
        try body(run)
        return run.refusals.isEmpty ? .parsed : .refused(run.refusals)
    }

    public func run(_ bytes: [UInt8]) throws -> FuzzOutcome {
        try bytes.withUnsafeBytes { try run($0) }
    }
}

/// What happened to one input.
public enum FuzzOutcome: Equatable, Sendable {
    /// Every stage accepted it.
    case parsed
    /// At least one stage refused it; the messages the user would see, one per refusing stage.
    case refused([String])
}

/// An outcome the parsers must never produce on any input.
public struct FuzzFailure: Error, CustomStringConvertible {
    public let target: String
    public let stage: String
    public let problem: String
    public var description: String { "fuzz target \(target), stage \(stage): \(problem)" }
}

/// One input on its way through a target's stages.
final class FuzzRun {
    let target: FuzzTarget
    let bytes: UnsafeRawBufferPointer
    private(set) var refusals: [String] = []

    init(target: FuzzTarget, bytes: UnsafeRawBufferPointer) {
        self.target = target
        self.bytes = bytes
    }

    /// The input written to a fresh scratch file named after the target's file name; parsers
    /// that take a path read it from there.
    func file(_ contents: UnsafeRawBufferPointer? = nil) throws -> String {
        let path = try FuzzScratch.directory(for: target.name) + "/" + target.fileName
        try FuzzScratch.write(contents ?? bytes, to: path)
        return path
    }

    /// A checkpoint directory made of two files from one input: the bytes before the first NUL
    /// (which JSON text never contains) go to `first`, those after it to `second`; without a NUL
    /// `second` is absent (removed, so no file of an earlier input is read). Returns the directory.
    func directory(first: String, second: String) throws -> String {
        let directory = try FuzzScratch.directory(for: target.name)
        let split = bytes.firstIndex(of: 0)
        try FuzzScratch.write(UnsafeRawBufferPointer(rebasing: bytes[..<(split ?? bytes.count)]), to: directory + "/" + first)
        if let split {
            try FuzzScratch.write(UnsafeRawBufferPointer(rebasing: bytes[(split + 1)...]), to: directory + "/" + second)
        } else {
            try? FileManager.default.removeItem(atPath: directory + "/" + second)
        }
        return directory
    }

    /// Runs one stage. `refusal` lists its typed errors; a refusal must mention `path` (the
    /// file the user would have to fix) unless `path` is nil.
    func stage(_ name: String, refusal: [any Error.Type], naming path: String?, _ work: () throws -> Void) throws {
        do {
            try work()
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            guard refusal.contains(where: { ObjectIdentifier($0) == ObjectIdentifier(type(of: error)) }) else {
                throw FuzzFailure(target: target.name, stage: name,
                                  problem: "untyped error \(type(of: error)) (expected \(refusal)): \(error)")
            }
            let message = "\(error)"
            if let path, !message.contains(path) {
                throw FuzzFailure(target: target.name, stage: name, problem: "error does not name the file: \(message)")
            }
            refusals.append(message)
        }
    }
}
