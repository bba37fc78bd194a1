/// RULER's question answering (`qa.py`): the gold documents of one question among
/// distractor documents, "Document i:\n…", shuffled.
final class QAFamily: RulerFamily {
    private let template: String
    private let set: RulerResources.QASet

    init(template: String, set: RulerResources.QASet) {
        self.template = template
        self.set = set
    }

    func prepare(seed: UInt64, length: Int, maxNewTokens: Int) throws {}
    var minimumSize: Int { 2 }
    func partialLimit(size: Int) -> Int { 4096 }

    func render(random start: SeededRandom, sample: Int, size: Int, partial: Int) -> RulerRendering {
        var random = start
        // RULER takes question `index` of its set; ours is small, so samples cycle through it.
        let item = set.items[sample % set.items.count]
        let gold = item.context
        var chosen: [Int]
        let others = (0..<set.docs.count).filter { !gold.contains($0) }
        if size < set.docs.count {
            chosen = gold + random.sample(others, count: max(0, size - gold.count))
        } else {
            chosen = (0..<size).map { $0 % set.docs.count }
        }
        var docs = chosen.map { set.docs[$0] }
        random.shuffle(&docs)
        if partial > 0 {
            // One more distractor document made of the first `partial` words of further
            // distractors, so the prompt can reach 98% of L (tokens jump by whole documents).
            var pool = others.isEmpty ? Array(0..<set.docs.count) : others
            random.shuffle(&pool)
            var words: [Substring] = []
            for index in pool where words.count < partial {
                words += set.docs[index].split(separator: " ").prefix(partial - words.count)
            }
            docs.append(words.joined(separator: " "))
        }
        let context = docs.enumerated().map { "Document \($0.offset + 1):\n\($0.element)" }.joined(separator: "\n\n")
        let text = formatTemplate(template, ["context": context, "query": item.query])
        return RulerRendering(text: text, outputs: item.outputs)
    }
}
