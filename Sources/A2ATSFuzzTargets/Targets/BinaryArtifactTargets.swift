import A2ATSMethods

extension FuzzTarget {
    /// A²ATS codebook files (`a2ats-eval calibrate` output, read by `--method a2ats`). Each input
    /// is read twice: as is, and with its checksum recomputed so that mutations of the body
    /// reach the layout checks behind the checksum.
    static let codebook = FuzzTarget(
        name: "codebook",
        summary: "A²ATS codebook files .a2cb (A2ATSMethods CodebookFile), as is and with the checksum fixed up",
        fileName: "codebook.a2cb"
    ) { run in
        try readTwice(run, checksumAt: 56, bodyAt: 64) { path in
            try run.stage("CodebookFile.read", refusal: [A2ATSError.self], naming: path) {
                _ = try CodebookFile.read(from: path)
            }
        }
    }

    /// Offline artifacts (Double Sparsity outlier channels, InfiniGen skew matrices), read twice
    /// like codebooks.
    static let offlineArtifact = FuzzTarget(
        name: "offline-artifact",
        summary: "offline artifacts .a2oa (A2ATSMethods OfflineArtifactFile), as is and with the checksum fixed up",
        fileName: "artifact.a2oa"
    ) { run in
        try readTwice(run, checksumAt: 88, bodyAt: 96) { path in
            try run.stage("OfflineArtifactFile.read", refusal: [OfflineArtifactError.self], naming: path) {
                _ = try OfflineArtifactFile.read(from: path)
            }
        }
    }

    private static func readTwice(_ run: FuzzRun, checksumAt: Int, bodyAt: Int, _ read: (String) throws -> Void) throws {
        try read(try run.file())
        guard run.bytes.count >= bodyAt else { return }
        var fixed = [UInt8](run.bytes)
        let sum = fnv1a64(fixed[bodyAt...])
        for i in 0..<8 { fixed[checksumAt + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
        try fixed.withUnsafeBytes { try read(try run.file($0)) }
    }

    /// FNV-1a 64 as both file formats define it (written here again so that the fuzz target
    /// does not share the reader's code).
    static func fnv1a64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
