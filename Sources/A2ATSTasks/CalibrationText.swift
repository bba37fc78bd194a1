/// The prose A²ATS calibration runs through the model: Jane Austen's *Pride and Prejudice*,
/// public domain (provenance in `Data/PROVENANCE.md`, built by
/// `scripts/calibration/make_calibration_text.py`). No task draws on it, so codebooks are never
/// fitted on the text a task is then scored on (CalibrationTextTests checks the overlap).
public enum CalibrationText {
    /// The text split on white space.
    public static func words() throws -> [String] {
        try RulerResources.text("calibration.txt").split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
