/// A chat template parsed once and rendered per conversation, as transformers'
/// `apply_chat_template(..., tokenize=False)` renders it (its sandboxed Jinja environment:
/// `trim_blocks`, `lstrip_blocks`, `raise_exception`, `namespace`, a `tojson` that keeps
/// non-ASCII text). A subset of Jinja: see `JinjaParser` for the statements and operators,
/// `JinjaBuiltins` for the filters, tests and methods. `strftime_now` is deliberately not
/// provided, so Llama-3.2-style templates fall back to their fixed date and prompts stay
/// reproducible.
public struct JinjaTemplate {
    private let nodes: [JinjaNode]

    /// - Throws: `JinjaError.syntax` naming the line and column of the first construct that
    ///   is malformed or outside the supported subset.
    public init(_ source: String) throws {
        var parser = JinjaParser(segments: try JinjaLexer(source).segments())
        nodes = try parser.parseTemplate()
    }

    /// Renders with `context` as the template's variables (messages, add_generation_prompt,
    /// bos_token, …).
    public func render(_ context: [String: JinjaValue]) throws -> String {
        var renderer = JinjaRenderer(globals: context)
        var out = ""
        _ = try renderer.run(nodes, into: &out)
        return out
    }
}

/// Executes parsed nodes. Scopes follow Jinja: a for-loop body gets a fresh scope each
/// iteration, so `set` inside a loop does not leak out (templates carry state in a namespace).
struct JinjaRenderer {
    private var scopes: [[String: JinjaValue]]
    /// Loop iterations so far, against `JinjaBuiltins.maxIterations`.
    private var iterations = 0

    init(globals: [String: JinjaValue]) {
        scopes = [globals]
    }

    enum Flow { case normal, breakLoop, continueLoop }

    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return .undefined(name)
    }

    mutating func run(_ nodes: [JinjaNode], into out: inout String) throws -> Flow {
        for node in nodes {
            switch node {
            case .text(let text):
                out += text
            case .output(let expression):
                out += try evaluate(expression).text
            case .conditional(let branches, let otherwise):
                var taken: [JinjaNode] = otherwise
                for (condition, body) in branches {
                    if try evaluate(condition).isTruthy {
                        taken = body
                        break
                    }
                }
                let flow = try run(taken, into: &out)
                if flow != .normal { return flow }
            case .assign(let names, let expression, let position):
                let value = try evaluate(expression)
                if names.count == 1 {
                    scopes[scopes.count - 1][names[0]] = value
                } else {
                    let items = try JinjaBuiltins.iterate(value, at: position)
                    guard items.count == names.count else {
                        throw position.runtime("cannot unpack \(items.count) values into \(names.count) names")
                    }
                    for (name, item) in zip(names, items) { scopes[scopes.count - 1][name] = item }
                }
            case .assignAttribute(let object, let attribute, let expression, let position):
                guard case .namespace(let namespace) = lookup(object) else {
                    throw position.runtime("\"\(object)\" is not a namespace; only namespace attributes can be set")
                }
                namespace.values[attribute] = try evaluate(expression)
            case .loopControl(let isBreak, _):
                return isBreak ? .breakLoop : .continueLoop
            case .forLoop(let targets, let iterable, let condition, let body, let otherwise, let position):
                try runLoop(targets, iterable, condition, body, otherwise, position, into: &out)
            }
        }
        return .normal
    }

    private mutating func runLoop(_ targets: [String], _ iterable: JinjaExpression, _ condition: JinjaExpression?,
                                  _ body: [JinjaNode], _ otherwise: [JinjaNode], _ position: JinjaPosition,
                                  into out: inout String) throws {
        var items = try JinjaBuiltins.iterate(try evaluate(iterable), at: position)
        func bind(_ item: JinjaValue, into scope: inout [String: JinjaValue]) throws {
            if targets.count == 1 {
                scope[targets[0]] = item
                return
            }
            let parts = try JinjaBuiltins.iterate(item, at: position)
            guard parts.count == targets.count else {
                throw position.runtime("cannot unpack \(parts.count) values into \(targets.count) loop variables")
            }
            for (name, part) in zip(targets, parts) { scope[name] = part }
        }
        if let condition {
            var kept: [JinjaValue] = []
            for item in items {
                var scope: [String: JinjaValue] = [:]
                try bind(item, into: &scope)
                scopes.append(scope)
                defer { scopes.removeLast() }
                if try evaluate(condition).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try run(otherwise, into: &out)
            return
        }
        for (index, item) in items.enumerated() {
            var scope: [String: JinjaValue] = [:]
            try bind(item, into: &scope)
            var loop: JinjaDictionary = [
                "index": .int(index + 1), "index0": .int(index), "first": .bool(index == 0),
                "last": .bool(index == items.count - 1), "length": .int(items.count),
                "revindex": .int(items.count - index), "revindex0": .int(items.count - index - 1),
            ]
            loop["previtem"] = index > 0 ? items[index - 1] : .undefined("loop.previtem")
            loop["nextitem"] = index + 1 < items.count ? items[index + 1] : .undefined("loop.nextitem")
            scope["loop"] = .dictionary(loop)
            iterations += 1
            guard iterations <= JinjaBuiltins.maxIterations, out.utf8.count <= JinjaBuiltins.maxStringLength else {
                throw position.runtime(iterations > JinjaBuiltins.maxIterations
                    ? "more than \(JinjaBuiltins.maxIterations) loop iterations in one rendering"
                    : "output longer than \(JinjaBuiltins.maxStringLength) bytes")
            }
            scopes.append(scope)
            let flow = try run(body, into: &out)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
    }

    mutating func evaluate(_ expression: JinjaExpression) throws -> JinjaValue {
        switch expression {
        case .literal(let value):
            return value
        case .name(let name, _):
            return lookup(name)
        case .list(let items):
            return .list(try items.map { try evaluate($0) })
        case .dictionary(let pairs):
            var dictionary = JinjaDictionary()
            for (keyExpression, valueExpression) in pairs {
                guard case .string(let key) = try evaluate(keyExpression) else {
                    throw JinjaPosition(line: 0, column: 0).runtime("dictionary keys must be strings")
                }
                dictionary[key] = try evaluate(valueExpression)
            }
            return .dictionary(dictionary)
        case .attribute(let base, let name, let position):
            return try JinjaBuiltins.attribute(try evaluate(base), name, at: position)
        case .item(let base, let index, let position):
            return try JinjaBuiltins.item(try evaluate(base), try evaluate(index), at: position)
        case .slice(let base, let start, let stop, let step, let position):
            return try JinjaBuiltins.slice(try evaluate(base), start: try start.map { try evaluate($0) },
                                           stop: try stop.map { try evaluate($0) }, step: try step.map { try evaluate($0) },
                                           at: position)
        case .call(let callee, let arguments, let position):
            let (positional, keyword) = try evaluate(arguments)
            if case .attribute(let object, let method, _) = callee {
                return try JinjaBuiltins.method(try evaluate(object), method, positional, keyword, at: position)
            }
            guard case .name(let function, _) = callee else { throw position.runtime("only named functions can be called") }
            if case .undefined = lookup(function) {
                return try JinjaBuiltins.function(function, positional, keyword, at: position)
            }
            throw position.runtime("\"\(function)\" is not callable")
        case .filter(let base, let name, let arguments, let position):
            let value = try evaluate(base)
            let (positional, keyword) = try evaluate(arguments)
            return try JinjaBuiltins.filter(name, value, positional, keyword, at: position)
        case .test(let base, let name, let arguments, let negated, let position):
            let value = try evaluate(base)
            let (positional, _) = try evaluate(arguments)
            return .bool(try JinjaBuiltins.test(name, value, positional, at: position) != negated)
        case .unary(let op, let operand, let position):
            let value = try evaluate(operand)
            switch op {
            case "not": return .bool(!value.isTruthy)
            default:
                switch value {
                case .int(let i):
                    guard op != "-" || i != .min else { throw position.runtime("integer overflow in -(\(i))") }
                    return .int(op == "-" ? -i : i)
                case .double(let d): return .double(op == "-" ? -d : d)
                default: throw position.runtime("bad operand type for unary \(op): \(value.typeName)")
                }
            }
        case .binary(let op, let left, let right, let position):
            let a = try evaluate(left)
            if op == "and" { return try a.isTruthy ? evaluate(right) : a }
            if op == "or" { return try a.isTruthy ? a : evaluate(right) }
            return try JinjaBuiltins.binary(op, a, try evaluate(right), at: position)
        case .conditional(let condition, let then, let otherwise, _):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map { try evaluate($0) } ?? .undefined("else branch")
        }
    }

    private mutating func evaluate(_ arguments: JinjaArguments) throws -> ([JinjaValue], [String: JinjaValue]) {
        let positional = try arguments.positional.map { try evaluate($0) }
        var keyword: [String: JinjaValue] = [:]
        for (key, expression) in arguments.keyword { keyword[key] = try evaluate(expression) }
        return (positional, keyword)
    }
}
