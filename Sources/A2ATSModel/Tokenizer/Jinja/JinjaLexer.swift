/// Splits a template into text, `{{ … }}` and `{% … %}` pieces with the whitespace rules of
/// transformers' Jinja environment: `-` on a tag strips the whitespace beside it,
/// `trim_blocks` drops the first newline after a block or comment tag, and `lstrip_blocks`
/// drops spaces and tabs between a line's start and a block or comment tag (`+` disables both).
struct JinjaLexer {
    enum TokenKind: Equatable {
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        case op(String)
    }

    struct Token {
        let kind: TokenKind
        let position: JinjaPosition
    }

    enum Segment {
        case text(String)
        case output([Token], JinjaPosition)
        case statement([Token], JinjaPosition)
    }

    private let source: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]

    init(_ template: String) {
        source = Array(template.unicodeScalars)
        for (i, scalar) in source.enumerated() where scalar == "\n" { lineStarts.append(i + 1) }
    }

    func position(_ offset: Int) -> JinjaPosition {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return JinjaPosition(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < source.count ? source[i] : nil }
    private func isSpaceOrTab(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\t" }

    func segments() throws -> [Segment] {
        var out: [Segment] = []
        var textStart = 0
        var i = 0
        while true {
            var tagStart = i
            while tagStart + 1 < source.count,
                  !(source[tagStart] == "{" && ["{", "%", "#"].contains(source[tagStart + 1])) {
                tagStart += 1
            }
            if tagStart + 1 >= source.count {
                appendText(textStart..<source.count, to: &out)
                return out
            }
            let kind = source[tagStart + 1]
            let modifier = at(tagStart + 2)
            var textEnd = tagStart
            if modifier == "-" {
                while textEnd > textStart && source[textEnd - 1].properties.isWhitespace { textEnd -= 1 }
            } else if kind != "{" && modifier != "+" {
                // lstrip_blocks: only spaces/tabs back to a line start.
                var k = textEnd
                while k > textStart && isSpaceOrTab(source[k - 1]) { k -= 1 }
                if k == 0 || source[k - 1] == "\n" { textEnd = k }
            }
            appendText(textStart..<textEnd, to: &out)
            var bodyStart = tagStart + 2
            if modifier == "-" || modifier == "+" { bodyStart += 1 }
            let tagPosition = position(tagStart)
            var end: Int
            var rightModifier: Unicode.Scalar?
            if kind == "#" {
                end = bodyStart
                while end + 1 < source.count && !(source[end] == "#" && source[end + 1] == "}") { end += 1 }
                guard end + 1 < source.count else { throw tagPosition.syntax("comment is not closed with #}") }
                if end > bodyStart && (source[end - 1] == "-" || source[end - 1] == "+") { rightModifier = source[end - 1] }
                end += 2
            } else {
                let closer: Unicode.Scalar = kind == "{" ? "}" : "%"
                let (tokens, close, modifierAtEnd) = try lexTag(from: bodyStart, closer: closer, tagPosition: tagPosition)
                rightModifier = modifierAtEnd
                end = close
                out.append(kind == "{" ? .output(tokens, tagPosition) : .statement(tokens, tagPosition))
            }
            i = end
            if rightModifier == "-" {
                while i < source.count && source[i].properties.isWhitespace { i += 1 }
            } else if kind != "{" && rightModifier != "+" {
                if at(i) == "\n" { i += 1 } else if at(i) == "\r" && at(i + 1) == "\n" { i += 2 }  // trim_blocks
            }
            textStart = i
        }
    }

    private func appendText(_ range: Range<Int>, to out: inout [Segment]) {
        guard !range.isEmpty else { return }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: source[range])
        out.append(.text(String(text)))
    }

    /// Tokens of a tag body up to its closing `}}` or `%}`; returns them, the offset after the
    /// closer, and the `-`/`+` modifier written before the closer.
    private func lexTag(from start: Int, closer: Unicode.Scalar, tagPosition: JinjaPosition) throws
        -> ([Token], Int, Unicode.Scalar?) {
        var tokens: [Token] = []
        var i = start
        while i < source.count {
            let c = source[i]
            if c.properties.isWhitespace { i += 1; continue }
            if (c == "-" || c == "+"), at(i + 1) == closer, at(i + 2) == "}" { return (tokens, i + 3, c) }
            if c == closer, at(i + 1) == "}" { return (tokens, i + 2, nil) }
            let here = position(i)
            if c == "'" || c == "\"" {
                let (text, next) = try lexString(from: i, position: here)
                tokens.append(Token(kind: .string(text), position: here))
                i = next
            } else if c.properties.numericType != nil, ("0"..."9").contains(c) {
                var k = i
                while let d = at(k), ("0"..."9").contains(d) || d == "_" { k += 1 }
                var isFloat = false
                if at(k) == ".", let d = at(k + 1), ("0"..."9").contains(d) {
                    isFloat = true
                    k += 1
                    while let d = at(k), ("0"..."9").contains(d) { k += 1 }
                }
                let digits = String(String.UnicodeScalarView(source[i..<k])).replacingOccurrences(of: "_", with: "")
                tokens.append(Token(kind: isFloat ? .float(Double(digits) ?? 0) : .int(Int(digits) ?? 0), position: here))
                i = k
            } else if c == "_" || c.properties.isAlphabetic {
                var k = i
                while let d = at(k), d == "_" || d.properties.isAlphabetic || ("0"..."9").contains(d) { k += 1 }
                tokens.append(Token(kind: .name(String(String.UnicodeScalarView(source[i..<k]))), position: here))
                i = k
            } else {
                let two = at(i + 1).map { String(c) + String($0) } ?? ""
                if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                    tokens.append(Token(kind: .op(two), position: here))
                    i += 2
                } else if "()[]{}.,:|~+-*/%<>=".unicodeScalars.contains(c) {
                    tokens.append(Token(kind: .op(String(c)), position: here))
                    i += 1
                } else {
                    throw here.syntax("unexpected character \"\(c)\"")
                }
            }
        }
        throw tagPosition.syntax("tag is not closed with \(closer)}")
    }

    /// A quoted string literal with Python escapes; returns its value and the offset after it.
    private func lexString(from start: Int, position: JinjaPosition) throws -> (String, Int) {
        let quote = source[start]
        var text = String.UnicodeScalarView()
        var i = start + 1
        while let c = at(i) {
            if c == quote { return (String(text), i + 1) }
            if c == "\\", let e = at(i + 1) {
                i += 2
                switch e {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "0": text.append("\0")
                case "\\", "'", "\"": text.append(e)
                case "u", "x":
                    let width = e == "u" ? 4 : 2
                    let hex = String(String.UnicodeScalarView(source[i..<min(i + width, source.count)]))
                    guard hex.unicodeScalars.count == width, let value = UInt32(hex, radix: 16),
                          let scalar = Unicode.Scalar(value) else { throw position.syntax("bad \\\(e) escape in string") }
                    text.append(scalar)
                    i += width
                default: text.append("\\"); text.append(e)
                }
                continue
            }
            text.append(c)
            i += 1
        }
        throw position.syntax("string literal is not closed")
    }
}
