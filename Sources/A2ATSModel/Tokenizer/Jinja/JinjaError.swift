/// Why a chat template could not be parsed or rendered. Every case carries the template line
/// and column (1-based) of the construct at fault.
public enum JinjaError: Error, Equatable, CustomStringConvertible {
    /// The template text is not valid Jinja, or uses a construct this interpreter does not implement.
    case syntax(line: Int, column: Int, message: String)
    /// Rendering failed (an undefined value used in arithmetic, a wrong argument type, …).
    case runtime(line: Int, column: Int, message: String)
    /// The template called `raise_exception(message)` (it refuses the conversation).
    case raised(line: Int, column: Int, message: String)

    public var description: String {
        switch self {
        case .syntax(let line, let column, let message):
            return "chat template line \(line), column \(column): \(message)"
        case .runtime(let line, let column, let message):
            return "chat template line \(line), column \(column): \(message)"
        case .raised(let line, let column, let message):
            return "chat template line \(line), column \(column): raise_exception: \(message)"
        }
    }
}

/// A position in the template source (1-based line and column, in Unicode scalars).
struct JinjaPosition: Equatable {
    let line: Int
    let column: Int

    func syntax(_ message: String) -> JinjaError { .syntax(line: line, column: column, message: message) }
    func runtime(_ message: String) -> JinjaError { .runtime(line: line, column: column, message: message) }
}
