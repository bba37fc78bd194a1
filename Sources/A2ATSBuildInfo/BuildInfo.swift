/// The source tree this binary was built from, recorded when it was built (BuildInfoPlugin).
public enum BuildInfo {
    /// Full commit hash, or "unknown" when the tree was not a git checkout.
    public static let commit = GeneratedBuildInfo.commit
    /// Whether tracked files differed from the commit when the binary was built.
    public static let dirty = GeneratedBuildInfo.dirty
    /// The build's id, written on every result row: the commit's first 12 hex digits, plus
    /// `+dirty.<8 hex of the diff's sha256>` for a modified tree.
    public static let id: String = {
        let short = String(commit.prefix(12))
        return dirty ? "\(short)+dirty.\(GeneratedBuildInfo.differenceHash)" : short
    }()
}
