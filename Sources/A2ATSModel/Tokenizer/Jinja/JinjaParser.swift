/// Recursive-descent parser for the Jinja subset chat templates use, with Jinja's operator
/// precedence (lowest first): `x if c else y`, `or`, `and`, `not`, comparisons and `in`,
/// `+ -`, `~`, `* / // %`, `**`, unary `-`, then postfix `.attr`, `[i]`, `[a:b]`, `(…)`,
/// `| filter` and `is test`. Statements: for (with `if` filter and `else`), if/elif/else,
/// set (names, tuples, `ns.attr`), break/continue, and transformers' `generation` block.
/// Anything else is refused with its line and column.
struct JinjaParser {
    private var segments: [JinjaLexer.Segment]
    private var index = 0
    // Tokens of the tag being parsed.
    private var tokens: [JinjaLexer.Token] = []
    private var cursor = 0
    private var tagPosition = JinjaPosition(line: 1, column: 1)

    static let supportedStatements = ["for", "if", "elif", "else", "set", "break", "continue", "generation"]

    init(segments: [JinjaLexer.Segment]) {
        self.segments = segments
    }

    mutating func parseTemplate() throws -> [JinjaNode] {
        try parseBlock(until: [], opener: tagPosition).0
    }

    /// Nodes up to one of the `until` keywords; returns the keyword met (its tag's tokens stay loaded).
    /// `opener` is the position of the statement that began the block (for "missing {% end… %}").
    private mutating func parseBlock(until: Set<String>, opener: JinjaPosition) throws -> ([JinjaNode], (String, JinjaPosition)?) {
        var nodes: [JinjaNode] = []
        while index < segments.count {
            let segment = segments[index]
            index += 1
            switch segment {
            case .text(let text):
                nodes.append(.text(text))
            case .output(let tagTokens, let position):
                load(tagTokens, position)
                let expression = try parseExpression()
                try expectEnd()
                nodes.append(.output(expression))
            case .statement(let tagTokens, let position):
                load(tagTokens, position)
                guard case .name(let keyword)? = peek?.kind else { throw position.syntax("expected a statement name") }
                if until.contains(keyword) {
                    cursor += 1
                    return (nodes, (keyword, position))
                }
                cursor += 1
                nodes.append(contentsOf: try parseStatement(keyword, position))
            }
        }
        if let closer = until.first(where: { $0.hasPrefix("end") }) {
            throw opener.syntax("missing {% \(closer) %}")
        }
        return (nodes, nil)
    }

    private mutating func parseStatement(_ keyword: String, _ position: JinjaPosition) throws -> [JinjaNode] {
        switch keyword {
        case "for":
            var targets = [try name()]
            while accept(op: ",") { targets.append(try name()) }
            try expect(name: "in")
            let iterable = try parseOr()
            let condition = try accept(name: "if") ? parseOr() : nil
            if case .name("recursive")? = peek?.kind { throw current.syntax("recursive loops are not supported") }
            try expectEnd()
            let (body, end) = try parseBlock(until: ["else", "endfor"], opener: position)
            var otherwise: [JinjaNode] = []
            if end?.0 == "else" {
                try expectEnd()
                (otherwise, _) = try parseBlock(until: ["endfor"], opener: position)
            }
            try expectEnd()
            return [.forLoop(targets: targets, iterable: iterable, condition: condition, body: body,
                             otherwise: otherwise, position)]
        case "if":
            var branches: [(JinjaExpression, [JinjaNode])] = []
            var condition = try parseExpression()
            var otherwise: [JinjaNode] = []
            while true {
                try expectEnd()
                let (body, end) = try parseBlock(until: ["elif", "else", "endif"], opener: position)
                branches.append((condition, body))
                if end?.0 == "elif" {
                    condition = try parseExpression()
                    continue
                }
                if end?.0 == "else" {
                    try expectEnd()
                    (otherwise, _) = try parseBlock(until: ["endif"], opener: position)
                }
                try expectEnd()
                return [.conditional(branches: branches, otherwise: otherwise)]
            }
        case "set":
            let first = try name()
            if accept(op: ".") {
                let attribute = try name()
                try expect(op: "=")
                let value = try parseExpression()
                try expectEnd()
                return [.assignAttribute(object: first, attribute: attribute, value, position)]
            }
            var names = [first]
            while accept(op: ",") { names.append(try name()) }
            guard accept(op: "=") else { throw current.syntax("block {% set %} … {% endset %} is not supported") }
            let value = try parseExpression()
            try expectEnd()
            return [.assign(names: names, value, position)]
        case "break", "continue":
            try expectEnd()
            return [.loopControl(isBreak: keyword == "break", position)]
        case "generation":
            try expectEnd()
            let (body, _) = try parseBlock(until: ["endgeneration"], opener: position)
            try expectEnd()
            return body
        case _ where keyword.hasPrefix("end") || keyword == "else" || keyword == "elif":
            throw position.syntax("unexpected {% \(keyword) %}")
        default:
            throw position.syntax("unsupported statement \"\(keyword)\" (supported: \(JinjaParser.supportedStatements.joined(separator: ", ")))")
        }
    }

    // MARK: - Token access

    private mutating func load(_ tagTokens: [JinjaLexer.Token], _ position: JinjaPosition) {
        tokens = tagTokens
        cursor = 0
        tagPosition = position
    }

    private var peek: JinjaLexer.Token? { cursor < tokens.count ? tokens[cursor] : nil }

    /// Position of the next token, or of the tag when none is left.
    private var current: JinjaPosition { peek?.position ?? tagPosition }

    private func describe(_ token: JinjaLexer.Token?) -> String {
        switch token?.kind {
        case nil: return "end of tag"
        case .name(let n)?: return "\"\(n)\""
        case .string(let s)?: return "string \"\(s)\""
        case .int(let i)?: return "\(i)"
        case .float(let d)?: return "\(d)"
        case .op(let o)?: return "\"\(o)\""
        }
    }

    private mutating func accept(op: String) -> Bool {
        if case .op(op)? = peek?.kind { cursor += 1; return true }
        return false
    }

    private mutating func accept(name: String) -> Bool {
        if case .name(name)? = peek?.kind { cursor += 1; return true }
        return false
    }

    private mutating func expect(op: String) throws {
        guard accept(op: op) else { throw current.syntax("expected \"\(op)\", found \(describe(peek))") }
    }

    private mutating func expect(name: String) throws {
        guard accept(name: name) else { throw current.syntax("expected \"\(name)\", found \(describe(peek))") }
    }

    private mutating func name() throws -> String {
        guard case .name(let n)? = peek?.kind else { throw current.syntax("expected a name, found \(describe(peek))") }
        cursor += 1
        return n
    }

    private func expectEnd() throws {
        if let token = peek { throw token.position.syntax("unexpected \(describe(token))") }
    }

    // MARK: - Expressions

    mutating func parseExpression() throws -> JinjaExpression {
        let position = current
        let value = try parseOr()
        guard accept(name: "if") else { return value }
        let condition = try parseOr()
        let otherwise = try accept(name: "else") ? parseExpression() : nil
        return .conditional(condition, then: value, otherwise: otherwise, position)
    }

    private mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        while case .name("or")? = peek?.kind {
            let position = current
            cursor += 1
            left = .binary("or", left, try parseAnd(), position)
        }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        while case .name("and")? = peek?.kind {
            let position = current
            cursor += 1
            left = .binary("and", left, try parseNot(), position)
        }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpression {
        let position = current
        if accept(name: "not") { return .unary("not", try parseNot(), position) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpression {
        var left = try parseBinary(level: 0)
        while true {
            let position = current
            if case .op(let o)? = peek?.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                cursor += 1
                left = .binary(o, left, try parseBinary(level: 0), position)
            } else if accept(name: "in") {
                left = .binary("in", left, try parseBinary(level: 0), position)
            } else if case .name("not")? = peek?.kind, cursor + 1 < tokens.count, case .name("in") = tokens[cursor + 1].kind {
                cursor += 2
                left = .binary("not in", left, try parseBinary(level: 0), position)
            } else {
                return left
            }
        }
    }

    /// Binary operator levels, loosest first.
    private static let levels: [Set<String>] = [["+", "-"], ["~"], ["*", "/", "//", "%"], ["**"]]

    private mutating func parseBinary(level: Int) throws -> JinjaExpression {
        if level == JinjaParser.levels.count { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        while case .op(let o)? = peek?.kind, JinjaParser.levels[level].contains(o) {
            let position = current
            cursor += 1
            left = .binary(o, left, try parseBinary(level: level + 1), position)
        }
        return left
    }

    private mutating func parseUnary() throws -> JinjaExpression {
        let position = current
        if accept(op: "-") { return .unary("-", try parseUnary(), position) }
        if accept(op: "+") { return .unary("+", try parseUnary(), position) }
        var value = try parsePostfix(try parsePrimary())
        // Filters and tests bind tighter than arithmetic: `a + b | trim` is `a + (b | trim)`.
        while true {
            let here = current
            if accept(op: "|") {
                let filter = try name()
                let arguments = try peek?.kind == .op("(") ? parseArguments() : JinjaArguments()
                value = try parsePostfix(.filter(value, filter, arguments, here))
            } else if accept(name: "is") {
                let negated = accept(name: "not")
                let test: String
                switch peek?.kind {
                case .name(let n)?: test = n
                case .op(let o)? where ["==", "!=", "<", ">", "<=", ">="].contains(o): test = o
                default: throw current.syntax("expected a test name, found \(describe(peek))")
                }
                cursor += 1
                var arguments = JinjaArguments()
                if peek?.kind == .op("(") {
                    arguments = try parseArguments()
                } else if let token = peek, Self.startsPrimary(token.kind) {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                value = .test(value, test, arguments, negated: negated, here)
            } else {
                return value
            }
        }
    }

    /// Whether a token can begin a test's single bare argument (`is equalto 3`, `is divisibleby 2`).
    private static func startsPrimary(_ kind: JinjaLexer.TokenKind) -> Bool {
        switch kind {
        case .string, .int, .float: return true
        case .name(let n): return !["and", "or", "else", "if", "in", "not", "is"].contains(n)
        case .op: return false
        }
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        guard let token = peek else { throw current.syntax("expected an expression, found end of tag") }
        cursor += 1
        switch token.kind {
        case .string(var text):
            while case .string(let more)? = peek?.kind { text += more; cursor += 1 }  // adjacent literals join
            return .literal(.string(text))
        case .int(let i): return .literal(.int(i))
        case .float(let d): return .literal(.double(d))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, token.position)
            }
        case .op("("):
            let inner = try parseExpression()
            if accept(op: ",") {  // a tuple: evaluated as a list
                var items = [inner]
                while peek?.kind != .op(")") {
                    items.append(try parseExpression())
                    if !accept(op: ",") { break }
                }
                try expect(op: ")")
                return .list(items)
            }
            try expect(op: ")")
            return inner
        case .op("["):
            var items: [JinjaExpression] = []
            while peek?.kind != .op("]") {
                items.append(try parseExpression())
                if !accept(op: ",") { break }
            }
            try expect(op: "]")
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpression, JinjaExpression)] = []
            while peek?.kind != .op("}") {
                let key = try parseExpression()
                try expect(op: ":")
                pairs.append((key, try parseExpression()))
                if !accept(op: ",") { break }
            }
            try expect(op: "}")
            return .dictionary(pairs)
        default:
            throw token.position.syntax("unexpected \(describe(token))")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var value = base
        while true {
            let position = current
            if accept(op: ".") {
                value = .attribute(value, try name(), position)
            } else if accept(op: "[") {
                var parts: [JinjaExpression?] = [nil]
                var sawColon = false
                while peek?.kind != .op("]") {
                    if accept(op: ":") { sawColon = true; parts.append(nil); continue }
                    guard parts[parts.count - 1] == nil else { throw current.syntax("expected \":\" or \"]\"") }
                    parts[parts.count - 1] = try parseExpression()
                }
                try expect(op: "]")
                if sawColon {
                    guard parts.count <= 3 else { throw position.syntax("a slice takes at most two colons") }
                    value = .slice(value, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                                   step: parts.count > 2 ? parts[2] : nil, position)
                } else {
                    guard let index = parts[0] else { throw position.syntax("empty subscript") }
                    value = .item(value, index, position)
                }
            } else if peek?.kind == .op("(") {
                value = .call(value, try parseArguments(), position)
            } else {
                return value
            }
        }
    }

    private mutating func parseArguments() throws -> JinjaArguments {
        try expect(op: "(")
        var arguments = JinjaArguments()
        while peek?.kind != .op(")") {
            if case .name(let key)? = peek?.kind, cursor + 1 < tokens.count, tokens[cursor + 1].kind == .op("=") {
                cursor += 2
                arguments.keyword.append((key, try parseExpression()))
            } else {
                arguments.positional.append(try parseExpression())
            }
            if !accept(op: ",") { break }
        }
        try expect(op: ")")
        return arguments
    }
}
