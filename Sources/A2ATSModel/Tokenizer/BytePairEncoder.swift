import Foundation

/// The BPE model: turns one pre-tokenized word (its UTF-8 bytes) into token ids by applying
/// the merges in rank order, lowest rank first and leftmost first among equals, which is
/// what Hugging Face `tokenizers` and llama.cpp do. Results are cached per word because
/// natural text repeats a small set of words; the cache is shared and lock-protected.
final class BytePairEncoder: @unchecked Sendable {
    /// How a word's bytes become the first symbols, before any merge.
    enum Alphabet {
        /// GPT-2 byte-level BPE: every byte is a vocabulary entry (spelled by `ByteLevelAlphabet`).
        case byteLevel
        /// SentencePiece-style BPE over Unicode scalars: a scalar missing from the vocabulary
        /// becomes its UTF-8 bytes' `<0xNN>` tokens when `byteFallback` and all exist, else
        /// `unknownID` (consecutive unknowns fused into one when `fuseUnknown`), else is dropped.
        case characters(byteFallback: Bool, unknownID: Int32?, fuseUnknown: Bool)
    }

    /// Token id of each single byte, or -1 where the vocabulary lacks it (such bytes are
    /// dropped, as Hugging Face does for a BPE model without an unknown token).
    private let byteTokenIDs: [Int32]
    private let alphabet: Alphabet
    /// Scalar spelling → id, for the `.characters` alphabet (empty for byte-level).
    private let scalarIDs: [UInt32: Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
    /// Byte spelling → id of every vocabulary entry, when words found whole skip merging.
    private let wholeWordIDs: [ArraySlice<UInt8>: Int32]?
    private var cache: [ArraySlice<UInt8>: [Int32]] = [:]
    private let cacheLock = NSLock()
    /// Bounds the cache's memory on text with endlessly new words (random strings).
    private static let cacheLimit = 200_000

    /// Reusable work arrays for one encode call (one per caller, so no sharing).
    struct Scratch {
        var symbols: [Int32] = []
        var pairRanks: [UInt32] = []
        var pairMerged: [Int32] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        var heap: [UInt64] = []
    }

    /// Words longer than this (in bytes) merge with a heap instead of rescanning all pairs.
    private static let longWord = 64

    /// A byte-level encoder from GGUF fields: `merges` are "left right" texts in rank order.
    convenience init(tokens: [String], merges mergeTexts: [String], ignoreMerges: Bool) throws {
        var idOfToken = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() { idOfToken[token] = Int32(id) }  // last wins, as HF
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(mergeTexts.count)
        for (rank, text) in mergeTexts.enumerated() {
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.badMerge(index: rank, merge: text, problem: "expected two tokens separated by one space")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        try self.init(idOfToken: idOfToken, merges: pairs, ignoreMerges: ignoreMerges, alphabet: .byteLevel)
    }

    /// - Parameters: `idOfToken` = the vocabulary, `merges` = (left, right) in rank order.
    /// - Throws: `TokenizerError.badMerge` for a merge whose operands or result are not in the vocabulary.
    init(idOfToken: [String: Int32], merges pairs: [(String, String)], ignoreMerges: Bool, alphabet: Alphabet) throws {
        self.alphabet = alphabet
        byteTokenIDs = (0..<256).map { byte in
            switch alphabet {
            case .byteLevel: return idOfToken[String(ByteLevelAlphabet.scalarForByte[byte])] ?? -1
            case .characters: return idOfToken[String(format: "<0x%02X>", byte)] ?? -1
            }
        }
        if case .characters = alphabet {
            var scalars: [UInt32: Int32] = [:]
            for (token, id) in idOfToken where token.unicodeScalars.count == 1 {
                scalars[token.unicodeScalars.first!.value] = id
            }
            scalarIDs = scalars
        } else {
            scalarIDs = [:]
        }

        var table = [UInt64: UInt64](minimumCapacity: pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard let leftID = idOfToken[left], let rightID = idOfToken[right] else {
                throw TokenizerError.badMerge(index: rank, merge: left + " " + right, problem: "token not in the vocabulary")
            }
            guard let mergedID = idOfToken[left + right] else {
                throw TokenizerError.badMerge(index: rank, merge: left + " " + right,
                                              problem: "merged token \"\(left + right)\" not in the vocabulary")
            }
            let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
            if table[key] == nil {  // a repeated merge keeps its first (lowest) rank
                table[key] = UInt64(rank) << 32 | UInt64(UInt32(mergedID))
            }
        }
        merges = table

        if ignoreMerges {
            var whole = [ArraySlice<UInt8>: Int32](minimumCapacity: idOfToken.count)
            for (token, id) in idOfToken {
                switch alphabet {
                case .byteLevel: whole[ArraySlice(ByteLevelAlphabet.bytes(ofToken: token))] = id
                case .characters: whole[ArraySlice(Array(token.utf8))] = id
                }
            }
            wholeWordIDs = whole
        } else {
            wholeWordIDs = nil
        }
    }

    /// The encoding loop of every BPE tokenizer here (GGUF's and tokenizer.json's): special
    /// tokens cut `bytes` into pieces; each text piece becomes the bytes to split (`prepare`: the
    /// piece itself, or normalized and rewritten; told whether it starts the text), `split` cuts
    /// them into words, and each word is merged into ids.
    func encode(_ bytes: [UInt8], specials: SpecialTokenMatcher,
                prepare: (_ piece: ArraySlice<UInt8>, _ atStart: Bool) -> ArraySlice<UInt8>,
                split: (ScalarText, inout [Range<Int>]) -> Void) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(bytes.count / 3)
        var scalars = ScalarText()
        var words: [Range<Int>] = []
        var scratch = Scratch()
        for piece in specials.pieces(of: bytes) {
            switch piece {
            case .special(let id):
                ids.append(id)
            case .text(let range):
                let text = prepare(bytes[range], range.lowerBound == 0)
                text.withUnsafeBufferPointer { scalars.load($0) }
                words.removeAll(keepingCapacity: true)
                split(scalars, &words)
                let base = text.startIndex
                for word in words {
                    let wordBytes = text[(base + scalars.byteOffsets[word.lowerBound])..<(base + scalars.byteOffsets[word.upperBound])]
                    encode(word: wordBytes, into: &ids, scratch: &scratch)
                }
            }
        }
        return ids
    }

    /// Appends the ids of `word` (a slice of the input's UTF-8 bytes) to `ids`.
    func encode(word: ArraySlice<UInt8>, into ids: inout [Int], scratch: inout Scratch) {
        if let whole = wholeWordIDs?[word] {
            ids.append(Int(whole))
            return
        }
        cacheLock.lock()
        let cached = cache[word]
        cacheLock.unlock()
        if let cached {
            for id in cached { ids.append(Int(id)) }
            return
        }
        merge(word, &scratch)
        let result = scratch.symbols
        for id in result { ids.append(Int(id)) }
        cacheLock.lock()
        if cache.count >= BytePairEncoder.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[ArraySlice(Array(word))] = result  // own copy: do not keep the caller's text alive
        cacheLock.unlock()
    }

    /// Hugging Face BPE's first symbols for a word over characters (`merge_word`): each scalar's
    /// own token, else its bytes' `<0xNN>` tokens, else the unknown token.
    private func symbolizeCharacters(_ word: ArraySlice<UInt8>, _ scratch: inout Scratch,
                                     byteFallback: Bool, unknownID: Int32?, fuseUnknown: Bool) {
        var i = word.startIndex
        var lastWasUnknown = false
        while i < word.endIndex {
            let lead = word[i]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            let end = min(i + length, word.endIndex)
            var value = UInt32(length == 1 ? lead : length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07)
            for k in (i + 1)..<max(end, i + 1) { value = (value << 6) | UInt32(word[k] & 0x3F) }
            if let id = scalarIDs[value] {
                scratch.symbols.append(id)
                lastWasUnknown = false
            } else if byteFallback, word[i..<end].allSatisfy({ byteTokenIDs[Int($0)] >= 0 }) {
                for byte in word[i..<end] { scratch.symbols.append(byteTokenIDs[Int(byte)]) }
                lastWasUnknown = false
            } else if let unknownID {
                if !(fuseUnknown && lastWasUnknown) { scratch.symbols.append(unknownID) }
                lastWasUnknown = true
            }
            i = end
        }
    }

    @inline(__always)
    private func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32) {
        guard let entry = merges[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] else {
            return (UInt32.max, -1)
        }
        return (UInt32(entry >> 32), Int32(truncatingIfNeeded: entry))
    }

    /// Leaves the merged ids of `word` in `scratch.symbols`. Short words: quadratic in the word's length
    /// with a tiny constant (one linear scan of pair ranks per merge, no hashing in the scan).
    private func merge(_ word: ArraySlice<UInt8>, _ scratch: inout Scratch) {
        scratch.symbols.removeAll(keepingCapacity: true)
        if case .characters(let byteFallback, let unknownID, let fuseUnknown) = alphabet {
            symbolizeCharacters(word, &scratch, byteFallback: byteFallback, unknownID: unknownID, fuseUnknown: fuseUnknown)
        } else {
            for byte in word {
                let id = byteTokenIDs[Int(byte)]
                if id >= 0 { scratch.symbols.append(id) }
            }
        }
        guard scratch.symbols.count > 1 else { return }
        if scratch.symbols.count > BytePairEncoder.longWord {
            mergeLong(&scratch)
            return
        }
        scratch.pairRanks.removeAll(keepingCapacity: true)
        scratch.pairMerged.removeAll(keepingCapacity: true)
        for k in 0..<(scratch.symbols.count - 1) {
            let (rank, merged) = lookup(scratch.symbols[k], scratch.symbols[k + 1])
            scratch.pairRanks.append(rank)
            scratch.pairMerged.append(merged)
        }
        while true {
            var best = -1
            var bestRank = UInt32.max
            scratch.pairRanks.withUnsafeBufferPointer { ranks in
                for k in 0..<ranks.count where ranks[k] < bestRank {
                    bestRank = ranks[k]
                    best = k
                }
            }
            if best < 0 { return }
            // Symbols best and best+1 become one; pairs best and best+1 collapse into one.
            scratch.symbols[best] = scratch.pairMerged[best]
            scratch.symbols.remove(at: best + 1)
            scratch.pairRanks.remove(at: best)
            scratch.pairMerged.remove(at: best)
            if best < scratch.pairRanks.count {
                (scratch.pairRanks[best], scratch.pairMerged[best]) =
                    lookup(scratch.symbols[best], scratch.symbols[best + 1])
            }
            if best > 0 {
                (scratch.pairRanks[best - 1], scratch.pairMerged[best - 1]) =
                    lookup(scratch.symbols[best - 1], scratch.symbols[best])
            }
        }
    }

    /// The same merges for long words in O(n log n), as Hugging Face does it: symbols in a
    /// linked list, candidate pairs in a min-heap keyed (rank, left position), entries made
    /// stale by earlier merges skipped when popped.
    private func mergeLong(_ scratch: inout Scratch) {
        let n = scratch.symbols.count
        scratch.next = Array(1...Int32(n))
        scratch.prev = Array(-1..<Int32(n - 1))
        scratch.heap.removeAll(keepingCapacity: true)
        for k in 0..<(n - 1) {
            let rank = lookup(scratch.symbols[k], scratch.symbols[k + 1]).rank
            if rank != UInt32.max { BinaryHeap.push(UInt64(rank) << 32 | UInt64(k), &scratch.heap) }
        }
        var removed = [Bool](repeating: false, count: n)
        while let top = BinaryHeap.pop(&scratch.heap) {
            let position = Int(top & 0xFFFF_FFFF)
            let right = Int(scratch.next[position])
            guard !removed[position], right < n else { continue }
            let (rank, merged) = lookup(scratch.symbols[position], scratch.symbols[right])
            guard UInt64(rank) == top >> 32 else { continue }
            scratch.symbols[position] = merged
            removed[right] = true
            let after = Int(scratch.next[right])
            scratch.next[position] = Int32(after)
            if after < n {
                scratch.prev[after] = Int32(position)
                let r = lookup(merged, scratch.symbols[after]).rank
                if r != UInt32.max { BinaryHeap.push(UInt64(r) << 32 | UInt64(position), &scratch.heap) }
            }
            let before = Int(scratch.prev[position])
            if before >= 0 {
                let r = lookup(scratch.symbols[before], merged).rank
                if r != UInt32.max { BinaryHeap.push(UInt64(r) << 32 | UInt64(before), &scratch.heap) }
            }
        }
        var kept = 0
        var k = 0
        while k < n {
            scratch.symbols[kept] = scratch.symbols[k]
            kept += 1
            k = Int(scratch.next[k])
        }
        scratch.symbols.removeLast(n - kept)
    }
}

/// A min-heap of UInt64 keys in an array (the standard library has none).
enum BinaryHeap {
    static func push(_ key: UInt64, _ heap: inout [UInt64]) {
        heap.append(key)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent] <= heap[child] { break }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    static func pop(_ heap: inout [UInt64]) -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { return top }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
