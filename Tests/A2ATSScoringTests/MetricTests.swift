@testable import A2ATSScoring
import XCTest

/// Each expected value below is worked out by hand from the metric's definition in
/// THUDM/LongBench metrics.py / eval.py or NVIDIA/RULER's string_match functions; the
/// comment next to it shows the arithmetic.
final class MetricTests: XCTestCase {
    private func assertClose(_ actual: Double, _ expected: Double, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual, expected, accuracy: max(abs(expected), 1e-12) * 1e-5, file: file, line: line)
    }

    func testNormalizationLowersStripsPunctuationArticlesAndWhitespace() {
        // lower → "the cat's  hat, a-ok!"; punctuation out → "the cats  hat aok";
        // "the" → " "; white space collapsed.
        XCTAssertEqual(PythonText.string(TokenF1.normalize("The Cat's  hat, a-ok!")), "cats hat aok")
        // Articles only as whole words: "an" in "another", "a" in "banana" stay.
        XCTAssertEqual(PythonText.string(TokenF1.normalize("An another banana, a A")), "another banana")
        // Punctuation is removed before articles, so "a." becomes the article "a".
        XCTAssertEqual(PythonText.string(TokenF1.normalize("(a.) THE end")), "end")
    }

    func testQAF1PartialOverlapAndMaxOverAnswers() {
        // pred tokens [quick, brown, fox], ref [quick, red, fox, jumps]: 2 common,
        // P = 2/3, R = 2/4, F1 = 2·(1/3)/(2/3 + 1/2) = 4/7.
        assertClose(Metric.qaF1.score(prediction: "The quick brown fox.", references: ["a quick red fox jumps"]), 4.0 / 7.0)
        // Counter overlap: [x, x, y] vs [x, y, y] share min(2,1) + min(1,2) = 2 → P = R = 2/3.
        assertClose(Metric.qaF1.score(prediction: "x x y", references: ["x y y"]), 2.0 / 3.0)
        // Max over answers: "Paris" matches the first answer exactly.
        assertClose(Metric.qaF1.score(prediction: "Paris", references: ["Paris", "Paris, France"]), 1)
        XCTAssertEqual(Metric.qaF1.score(prediction: "London", references: ["Paris"]), 0)
        XCTAssertEqual(Metric.qaF1.score(prediction: "anything", references: []), 0)
    }

    func testChineseF1SplitsCharactersApproximatingJieba() {
        // Characters: pred [北,京,是,首,都] (。 dropped as punctuation), ref [首,都,北,京]:
        // 4 common, P = 4/5, R = 1, F1 = 2·0.8/1.8 = 8/9.
        assertClose(Metric.qaF1Chinese.score(prediction: "北京是首都。", references: ["首都北京"]), 8.0 / 9.0)
        // ASCII words stay whole: [GPT4, 模, 型] vs [GPT4]: P = 1/3, R = 1 → F1 = 1/2.
        assertClose(Metric.qaF1Chinese.score(prediction: "GPT4 模型", references: ["GPT4"]), 0.5)
        XCTAssertNotNil(Metric.qaF1Chinese.approximation)
        XCTAssertNil(Metric.qaF1.approximation)
    }

    func testClassificationOneOverKRule() {
        let classes = ["Location", "Number", "Description", "Entity"]
        // Both "Location" and "Number" are named, the truth is one of them → 1/2.
        assertClose(Metric.classification.score(prediction: "Location or Number", references: ["Location"], allClasses: classes), 0.5)
        // Only the right class named → 1/1.
        assertClose(Metric.classification.score(prediction: "It is a Location.", references: ["Location"], allClasses: classes), 1)
        // The truth is not named → 0.
        XCTAssertEqual(Metric.classification.score(prediction: "Entity", references: ["Number"], allClasses: classes), 0)
        // "food" is a substring of the truth "seafood" but not equal: removed → [seafood, drink] → 1/2.
        assertClose(Metric.classification.score(prediction: "seafood and drink", references: ["seafood"],
                                                allClasses: ["food", "seafood", "drink"]), 0.5)
        // LongBench removes while iterating the same list: after "sea" is removed, "food"
        // slides into its slot and is skipped, so [food, seafood] remain → 1/2 (not 1).
        assertClose(Metric.classification.score(prediction: "seafood", references: ["seafood"],
                                                allClasses: ["sea", "food", "seafood"]), 0.5)
    }

    func testRetrievalAndCount() {
        // Truth paragraph 12; prediction numbers [12, 3] → 1/2.
        assertClose(Metric.retrieval.score(prediction: "Paragraph 12, maybe Paragraph 3", references: ["Paragraph 12"]), 0.5)
        XCTAssertEqual(Metric.retrieval.score(prediction: "I do not know", references: ["Paragraph 12"]), 0)
        // Chinese marker 段落; prediction numbers [5] → 1.
        assertClose(Metric.retrievalChinese.score(prediction: "答案是段落5", references: ["段落5"]), 1)
        // Count: numbers [7, 30], one equals "7" → 1/2; "07" is not "7" as strings.
        assertClose(Metric.count.score(prediction: "There are 7 unique paragraphs out of 30", references: ["7"]), 0.5)
        XCTAssertEqual(Metric.count.score(prediction: "07", references: ["7"]), 0)
    }

    func testRougeLByHand() {
        // One sentence each. Distinct words: ref {the,cat,lay,on,mat} m = 5, pred
        // {the,cat,sat,on,mat} n = 5. LCS "the cat on the mat" has the word set
        // {the,cat,on,mat}: llcs = 4. r = p = 4/5, F = 2·0.64/(1.6 + 1e-8).
        let expected = 2.0 * (0.8 * 0.8) / (0.8 + 0.8 + 1e-8)
        assertClose(Metric.rouge.score(prediction: "the cat sat on the mat", references: ["the cat lay on the mat"]), expected)
        // Only dots → no sentence → the package raises → LongBench scores 0.
        XCTAssertEqual(Metric.rouge.score(prediction: "...", references: ["anything"]), 0)
        // Identical texts: llcs = m = n → F = 2/(2 + 1e-8).
        assertClose(Metric.rouge.score(prediction: "a b. c", references: ["a b. c"]), 2.0 / (2.0 + 1e-8))
    }

    func testCodeSimilarityPicksFirstCodeLine() {
        // First line without "#", "`" or "//" is "x = 1"; difflib matches "x = " (4 of
        // 5 + 5 characters): ratio 8/10 → fuzz.ratio 80 → 0.8.
        assertClose(Metric.codeSimilarity.score(prediction: "# comment\nx = 1\n", references: ["x = 2"]), 0.8)
        // "//" anywhere in the line disqualifies it, as do backticks.
        assertClose(Metric.codeSimilarity.score(prediction: "```\na = b // 2\nx = 2", references: ["x = 2"]), 1)
        // One matching character out of 8 + 8: 100·2/16 = 12.5, Python rounds half to even → 12.
        assertClose(Metric.codeSimilarity.score(prediction: "abcdefgh", references: ["hzzzzzzz"]), 0.12)
        // No qualifying line → "" → fuzz.ratio 0.
        XCTAssertEqual(Metric.codeSimilarity.score(prediction: "# only", references: ["x"]), 0)
    }

    func testRulerStringMatch() {
        // References found (case-insensitive): "1234", "ABC" of three → 2/3.
        let references = ["1234", "5678", "ABC"]
        assertClose(Metric.stringMatchAll.score(prediction: "the numbers are 1234 and abc", references: references), 2.0 / 3.0)
        assertClose(Metric.stringMatchPart.score(prediction: "the numbers are 1234 and abc", references: references), 1)
        XCTAssertEqual(Metric.stringMatchPart.score(prediction: "nothing here", references: references), 0)
    }

    func testFirstLineRuleOnlyForItsDatasets() throws {
        let classes = ["Location", "Number"]
        let trec = try DatasetScorer.named("trec")
        XCTAssertTrue(trec.firstLineOnly)
        // First line after leading newlines is "Location" → one class named, right → 1.
        assertClose(trec.score(prediction: "\n\nLocation\nNumber is also possible", references: ["Location"], allClasses: classes), 1)
        // The bare metric sees both classes → 1/2.
        assertClose(Metric.classification.score(prediction: "\n\nLocation\nNumber is also possible", references: ["Location"],
                                                allClasses: classes), 0.5)
        // hotpotqa has no first-line rule: the answer on line 2 counts.
        let hotpot = try DatasetScorer.named("hotpotqa")
        assertClose(hotpot.score(prediction: "Answer:\nParis", references: ["Paris"]), 2.0 * 0.5 / 1.5)
        XCTAssertEqual(try DatasetScorer.named("hotpotqa_e").metric, .qaF1)
        XCTAssertEqual(try DatasetScorer.named("niah_single_1").metric, .stringMatchAll)
    }

    func testNameLookupSuggests() throws {
        XCTAssertEqual(try Metric.named("qa_f1_score"), .qaF1)
        XCTAssertThrowsError(try Metric.named("qa-f1")) { error in
            XCTAssertEqual((error as? ScoringError)?.description.contains("did you mean \"qa_f1\""), true)
        }
        XCTAssertThrowsError(try DatasetScorer.named("hotpot_qa")) { error in
            XCTAssertEqual((error as? ScoringError)?.description.contains("did you mean \"hotpotqa\""), true)
        }
    }
}
