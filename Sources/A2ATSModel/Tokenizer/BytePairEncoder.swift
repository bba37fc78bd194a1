import Foundation

/// The BPE model: turns one pre-tokenized word (its UTF-8 bytes) into token ids by applying
/// the merges in rank order, lowest rank first and leftmost first among equals, which is
/// what Hugging Face `tokenizers` and llama.cpp do. Results are cached per word because
/// natural text repeats a small set of words; the cache is shared and lock-protected.
final class BytePairEncoder: @unchecked Sendable {
    /// Token id of each single byte, or -1 where the vocabulary lacks it (such bytes are
    /// dropped, as Hugging Face does for a BPE model without an unknown token).
    private let byteTokenIDs: [Int32]
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
    }

    init(tokens: [String], merges mergeTexts: [String], ignoreMerges: Bool) throws {
        var idOfToken = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() { idOfToken[token] = Int32(id) }  // last wins, as HF

        byteTokenIDs = ByteLevelAlphabet.scalarForByte.map { idOfToken[String($0)] ?? -1 }

        var table = [UInt64: UInt64](minimumCapacity: mergeTexts.count)
        for (rank, text) in mergeTexts.enumerated() {
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.badMerge(index: rank, merge: text, problem: "expected two tokens separated by one space")
            }
            let left = String(parts[0]), right = String(parts[1])
            guard let leftID = idOfToken[left], let rightID = idOfToken[right] else {
                throw TokenizerError.badMerge(index: rank, merge: text, problem: "token not in the vocabulary")
            }
            guard let mergedID = idOfToken[left + right] else {
                throw TokenizerError.badMerge(index: rank, merge: text, problem: "merged token \"\(left + right)\" not in the vocabulary")
            }
            let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
            if table[key] == nil {  // a repeated merge keeps its first (lowest) rank
                table[key] = UInt64(rank) << 32 | UInt64(UInt32(mergedID))
            }
        }
        merges = table

        if ignoreMerges {
            var whole = [ArraySlice<UInt8>: Int32](minimumCapacity: tokens.count)
            for (id, token) in tokens.enumerated() {
                whole[ArraySlice(ByteLevelAlphabet.bytes(ofToken: token))] = Int32(id)
            }
            wholeWordIDs = whole
        } else {
            wholeWordIDs = nil
        }
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

    @inline(__always)
    private func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32) {
        guard let entry = merges[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] else {
            return (UInt32.max, -1)
        }
        return (UInt32(entry >> 32), Int32(truncatingIfNeeded: entry))
    }

    /// Leaves the merged ids of `word` in `scratch.symbols`. Quadratic in the word's length
    /// with a tiny constant (one linear scan of pair ranks per merge, no hashing in the scan).
    private func merge(_ word: ArraySlice<UInt8>, _ scratch: inout Scratch) {
        scratch.symbols.removeAll(keepingCapacity: true)
        for byte in word {
            let id = byteTokenIDs[Int(byte)]
            if id >= 0 { scratch.symbols.append(id) }
        }
        scratch.pairRanks.removeAll(keepingCapacity: true)
        scratch.pairMerged.removeAll(keepingCapacity: true)
        guard scratch.symbols.count > 1 else { return }
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
}
