/// The parsed form of a chat template: statements (`JinjaNode`) holding expressions
/// (`JinjaExpression`), each with the source position used in error messages.
indirect enum JinjaExpression {
    case literal(JinjaValue)
    case name(String, JinjaPosition)
    case list([JinjaExpression])
    case dictionary([(JinjaExpression, JinjaExpression)])
    case attribute(JinjaExpression, String, JinjaPosition)
    case item(JinjaExpression, JinjaExpression, JinjaPosition)
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?, JinjaPosition)
    case call(JinjaExpression, JinjaArguments, JinjaPosition)
    case filter(JinjaExpression, String, JinjaArguments, JinjaPosition)
    case test(JinjaExpression, String, JinjaArguments, negated: Bool, JinjaPosition)
    case unary(String, JinjaExpression, JinjaPosition)
    case binary(String, JinjaExpression, JinjaExpression, JinjaPosition)
    case conditional(JinjaExpression, then: JinjaExpression, otherwise: JinjaExpression?, JinjaPosition)
}

/// Positional and keyword arguments of a call, filter or test.
struct JinjaArguments {
    var positional: [JinjaExpression] = []
    var keyword: [(String, JinjaExpression)] = []
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpression)
    case forLoop(targets: [String], iterable: JinjaExpression, condition: JinjaExpression?,
                 body: [JinjaNode], otherwise: [JinjaNode], JinjaPosition)
    case conditional(branches: [(JinjaExpression, [JinjaNode])], otherwise: [JinjaNode])
    case assign(names: [String], JinjaExpression, JinjaPosition)
    case assignAttribute(object: String, attribute: String, JinjaExpression, JinjaPosition)
    case loopControl(isBreak: Bool, JinjaPosition)
}
