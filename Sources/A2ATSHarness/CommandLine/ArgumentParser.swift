import A2ATSSupport

/// A small command-line parser in the spirit of swift-argument-parser (which we cannot
/// depend on): a command declares its options and positional arguments as data, parsing
/// returns the values or a `UsageError`, and `--help` renders documentation from the same
/// declarations, so help text and behaviour cannot drift apart.

/// A mistake on the command line. The caller prints `error: <message>` and exits with
/// status 2, the convention for usage errors.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One `--option` of a command.
public struct OptionSpec {
    public enum Kind {
        /// Present or absent; takes no value.
        case flag
        /// Takes one value; given twice, the last one wins (so scripts can override).
        case value
        /// Takes one value per occurrence; all are kept in order.
        case repeated
    }

    /// Long name without the dashes (`methods`).
    public let name: String
    /// Another long name (`method`) or a one-letter short name (`o` for `-o`).
    public let alias: String?
    public let kind: Kind
    /// Placeholder in help (`<list>`).
    public let valueName: String
    public let help: String
    /// Shown in help and returned by `ParsedArguments.value` when the option is absent.
    public let defaultValue: String?

    public init(_ name: String, alias: String? = nil, kind: Kind = .value, valueName: String = "value",
                help: String, defaultValue: String? = nil) {
        self.name = name
        self.alias = alias
        self.kind = kind
        self.valueName = valueName
        self.help = help
        self.defaultValue = defaultValue
    }

    /// How the option is written on the command line, alias first when it is short (`-o, --out`).
    var spellings: [String] {
        guard let alias else { return ["--" + name] }
        return alias.count == 1 ? ["-" + alias, "--" + name] : ["--" + name, "--" + alias]
    }
}

/// One positional argument of a command.
public struct PositionalSpec {
    public let name: String
    public let help: String
    public let isOptional: Bool
    /// Takes every remaining argument (only the last positional may).
    public let isVariadic: Bool

    public init(_ name: String, help: String, isOptional: Bool = false, isVariadic: Bool = false) {
        self.name = name
        self.isVariadic = isVariadic
        self.help = help
        self.isOptional = isOptional
    }
}

/// A command (or subcommand) described as data.
public struct CommandSpec {
    public let name: String
    public let abstract: String
    /// Usage line after the command name; derived from the declarations when nil.
    public let usage: String?
    public let options: [OptionSpec]
    public let positionals: [PositionalSpec]
    /// Listed in help for a command that dispatches to subcommands.
    public let subcommands: [CommandSpec]
    /// Extra paragraphs printed at the end of help (examples, notes).
    public let discussion: String?

    public init(name: String, abstract: String, usage: String? = nil, options: [OptionSpec] = [],
                positionals: [PositionalSpec] = [], subcommands: [CommandSpec] = [], discussion: String? = nil) {
        self.name = name
        self.abstract = abstract
        self.usage = usage
        self.options = options
        self.positionals = positionals
        self.subcommands = subcommands
        self.discussion = discussion
    }
}

/// The values found on a command line.
public struct ParsedArguments: Equatable {
    public internal(set) var flags: Set<String> = []
    /// Values per option's long name, in the order given.
    public internal(set) var values: [String: [String]] = [:]
    public internal(set) var positionals: [String] = []
    var defaults: [String: String] = [:]

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    /// The last value given for the option, else its declared default, else nil.
    public func value(_ name: String) -> String? { values[name]?.last ?? defaults[name] }
    /// Whether the user wrote the option (as opposed to its default applying).
    public func isSet(_ name: String) -> Bool { values[name] != nil || flags.contains(name) }
    public func allValues(_ name: String) -> [String] { values[name] ?? [] }

    /// An integer option, or a `UsageError` naming the option and what was given.
    public func intValue(_ name: String) throws -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text) else { throw UsageError("--\(name) expects an integer, got '\(text)'") }
        return number
    }
}

/// What parsing produced: the arguments, or a request for help (already rendered).
public enum ParseResult: Equatable {
    case arguments(ParsedArguments)
    case help(String)
}

extension CommandSpec {
    /// Parses the arguments that follow the command's name.
    public func parse(_ arguments: [String]) throws -> ParseResult {
        var parsed = ParsedArguments()
        for option in options { if let value = option.defaultValue { parsed.defaults[option.name] = value } }
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" || isNegativeNumber(argument) {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            if argument == "--help" || argument == "-h" { return .help(helpText()) }
            let body = argument.hasPrefix("--") ? String(argument.dropFirst(2)) : String(argument.dropFirst())
            let equals = body.firstIndex(of: "=")
            let key = equals.map { String(body[..<$0]) } ?? body
            var inlineValue = equals.map { String(body[body.index(after: $0)...]) }
            guard let option = option(named: key, short: !argument.hasPrefix("--")) else {
                throw unknownOption(argument.hasPrefix("--") ? "--" + key : argument)
            }
            switch option.kind {
            case .flag:
                if inlineValue != nil { throw UsageError("--\(option.name) is a flag and takes no value") }
                parsed.flags.insert(option.name)
            case .value, .repeated:
                if inlineValue == nil, index < arguments.count, !arguments[index].hasPrefix("--") {
                    inlineValue = arguments[index]
                    index += 1
                }
                guard let value = inlineValue else {
                    throw UsageError("missing value for --\(option.name) <\(option.valueName)>")
                }
                parsed.values[option.name, default: []].append(value)
            }
        }
        let required = positionals.filter { !$0.isOptional }.count
        if parsed.positionals.count > positionals.count && positionals.last?.isVariadic != true {
            let extra = parsed.positionals[positionals.count]
            throw UsageError("unexpected argument '\(extra)'" + (positionals.isEmpty ? " (\(name) takes no positional arguments)" : ""))
        }
        if parsed.positionals.count < required {
            throw UsageError("missing argument <\(positionals[parsed.positionals.count].name)>")
        }
        return .arguments(parsed)
    }

    /// The last word of `name`: a subcommand is declared with its full path
    /// (`a2ats-eval run`, shown in its usage line) and typed as its last word (`run`).
    public var word: String { name.split(separator: " ").last.map(String.init) ?? name }

    /// The subcommand named by the first argument, with a did-you-mean for near misses.
    public func subcommand(named name: String) throws -> CommandSpec {
        if let match = subcommands.first(where: { $0.word == name }) { return match }
        var message = "unknown command '\(name)'"
        if let suggestion = closestMatches(to: name, among: subcommands.map(\.word), maxDistance: 2).first {
            message += "; did you mean '\(suggestion)'?"
        }
        throw UsageError(message + " (see '\(self.name) --help')")
    }

    private func option(named key: String, short: Bool) -> OptionSpec? {
        if short { return options.first { $0.alias == key && key.count == 1 } }
        return options.first { $0.name == key || ($0.alias == key && key.count > 1) }
    }

    private func unknownOption(_ written: String) -> UsageError {
        let spellings = options.flatMap(\.spellings) + ["--help"]
        if let suggestion = closestMatches(to: written, among: spellings, maxDistance: 2).first {
            return UsageError("unknown option '\(written)'; did you mean '\(suggestion)'?")
        }
        return UsageError("unknown option '\(written)' (see '\(name) --help')")
    }

    private func isNegativeNumber(_ argument: String) -> Bool {
        argument.count > 1 && Double(argument) != nil
    }
}

extension StringProtocol {
    /// The text without surrounding spaces and newlines (list items such as ` 256`).
    var trimmingWhitespace: String { String(self).trimmingCharacters(in: .whitespacesAndNewlines) }
}
