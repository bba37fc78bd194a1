import A2ATSHarness
import A2ATSReports
import A2ATSSupport
import Foundation

extension FuzzTarget {
    /// `results.jsonl` as `--resume` (ResultsStore, which cuts a half-written last line and
    /// collects the finished rows' keys) and `a2ats-eval report` (ResultsLoader) read it.
    static let results = FuzzTarget(
        name: "results",
        summary: "results.jsonl on resume and report (A2ATSHarness ResultsStore, A2ATSReports ResultsLoader/ResultRecord)",
        fileName: "results.jsonl"
    ) { run in
        let path = try run.file()
        let directory = (path as NSString).deletingLastPathComponent
        try run.stage("readResultsFile", refusal: [DataFileError.self], naming: path) {
            _ = try readResultsFile(path)
        }
        try run.stage("loadResults", refusal: [DataFileError.self], naming: path) {
            _ = try loadResults(directories: [directory])
        }
        try run.stage("ResultsStore.recordedBuilds", refusal: [DataFileError.self], naming: path) {
            _ = try ResultsStore.recordedBuilds(path: path)
        }
        // Last: resuming repairs (truncates) the file in place.
        try run.stage("ResultsStore(resume:)", refusal: [ResultsStoreError.self, DataFileError.self], naming: path) {
            _ = try ResultsStore(directory: directory, resume: true)
        }
    }
}
