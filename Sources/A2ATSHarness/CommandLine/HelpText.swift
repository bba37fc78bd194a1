/// Renders `--help` from a command's declarations, in swift-argument-parser's layout:
/// OVERVIEW, USAGE, ARGUMENTS, OPTIONS (with defaults), SUBCOMMANDS, then the discussion.
extension CommandSpec {
    /// Column where descriptions start, and the line width they wrap at.
    static let helpColumn = 26
    static let helpWidth = 100

    public func helpText() -> String {
        var lines = ["OVERVIEW: \(abstract)", "", "USAGE: \(name) \(usage ?? derivedUsage)"]
        if !positionals.isEmpty {
            lines += ["", "ARGUMENTS:"]
            for positional in positionals {
                let help = positional.help + (positional.isOptional ? " (optional)" : "")
                lines += Self.entry("<\(positional.name)>", help)
            }
        }
        lines += ["", "OPTIONS:"]
        for option in options {
            var label = option.spellings.joined(separator: ", ")
            if option.kind != .flag { label += " <\(option.valueName)>" }
            var help = option.help
            if let value = option.defaultValue { help += " (default: \(value))" }
            if option.kind == .repeated { help += " (can be repeated)" }
            lines += Self.entry(label, help)
        }
        lines += Self.entry("-h, --help", "Show help information.")
        if !subcommands.isEmpty {
            lines += ["", "SUBCOMMANDS:"]
            for subcommand in subcommands { lines += Self.entry(subcommand.word, subcommand.abstract) }
            lines += ["", "  See '\(name) <subcommand> --help' for detailed help."]
        }
        if let discussion { lines += ["", discussion] }
        return lines.joined(separator: "\n") + "\n"
    }

    private var derivedUsage: String {
        if !subcommands.isEmpty { return "<subcommand>" }
        var parts = options.isEmpty ? [] : ["[<options>]"]
        parts += positionals.map { $0.isOptional ? "[<\($0.name)>]" : "<\($0.name)>" }
        return parts.joined(separator: " ")
    }

    /// A label in the left column and its description wrapped in the right one; a label too
    /// long for the column gets its description on the next line.
    private static func entry(_ label: String, _ help: String) -> [String] {
        let indent = String(repeating: " ", count: helpColumn)
        var lines: [String] = []
        var current = "  " + label
        if current.count >= helpColumn - 1 {
            lines.append(current)
            current = indent
        } else {
            current += String(repeating: " ", count: helpColumn - current.count)
        }
        var lineHasWords = false
        for word in help.split(separator: " ") {
            if lineHasWords && current.count + 1 + word.count > helpWidth {
                lines.append(current)
                current = indent
                lineHasWords = false
            }
            current += (lineHasWords ? " " : "") + word
            lineHasWords = true
        }
        lines.append(current)
        return lines
    }
}
