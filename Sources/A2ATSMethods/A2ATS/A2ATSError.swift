/// Errors of A²ATS: bad parameters, and codebook files that are corrupt or do not fit the model.
public enum A2ATSError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(name: String, value: String, expected: String)
    /// The file is not a codebook file, is truncated, or its checksum does not match.
    case corruptCodebook(file: String, problem: String)
    /// The codebooks were made for another model, shape or configuration.
    case codebookMismatch(file: String, field: String, expected: String, found: String)
    case cannotWrite(file: String, problem: String)
    /// Built without a source of codebooks (the harness supplies one per model).
    case noCodebookSource

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, expected):
            return "a2ats: parameter \(name)=\(value): expected \(expected)"
        case let .corruptCodebook(file, problem):
            return "\(file): not a valid A²ATS codebook file: \(problem)"
        case let .codebookMismatch(file, field, expected, found):
            return "\(file): codebook \(field) is \(found), expected \(expected) (recalibrate with `a2ats-eval calibrate`)"
        case .noCodebookSource:
            return "a2ats needs codebooks, but no codebook source was given for this model"
        case let .cannotWrite(file, problem):
            return "\(file): cannot write codebook: \(problem)"
        }
    }
}
