import Foundation

/// Ctrl-C (SIGINT) and SIGTERM during a run: the first one asks the runner to stop after the row
/// it is computing (rows are fsynced one by one, so nothing finished is lost and `--resume`
/// continues exactly there); a second one ends the process at once, as the default would.
/// Only a flag is set in the handler: everything else happens on the runner's thread.
public enum Interruption {
    /// The signal received (0 while none). A plain 32-bit store is what a handler may do safely.
    nonisolated(unsafe) private static var received: Int32 = 0

    /// The signal that asked the run to stop, if one did.
    public static var requested: Int32? { received == 0 ? nil : received }

    /// Installs the handlers; the runner calls it once the slow, resumable part begins. A signal
    /// the parent set to be ignored (a background job of a script) stays ignored.
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            let previous = signal(signalNumber) { number in
                if Interruption.received != 0 {
                    signal(number, SIG_DFL)
                    raise(number)
                    return
                }
                Interruption.received = number
                let note = "\nstopping after the current row (send the signal again to stop at once)\n"
                _ = note.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            }
            if let previous, unsafeBitCast(previous, to: Int.self) == 1 { signal(signalNumber, SIG_IGN) }   // 1 = SIG_IGN
        }
    }

    /// The command that resumes a run: the same arguments with `--resume` added, and `--out`
    /// added when the run chose its own directory, each word shell-quoted.
    public static func resumeCommand(commandLine: [String], outputDirectory: String) -> String {
        var words = commandLine
        if !words.contains("--out") && !words.contains("-o") && !words.contains(where: { $0.hasPrefix("--out=") }) {
            words += ["--out", outputDirectory]
        }
        if !words.contains("--resume") { words.append("--resume") }
        return words.map(shellQuoted).joined(separator: " ")
    }

    /// `word` as a POSIX shell reads it back: bare when it holds only safe characters.
    static func shellQuoted(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%")
        if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
