/// A SentencePiece unigram language model over pieces with log-probability scores: a word is
/// cut into the pieces of highest total score (Viterbi), exactly as the `tokenizers` library's
/// `Unigram` model cuts it (its `encode_optimized`, after sentencepiece's): scores summed in
/// Float64; a position no piece covers one character of costs min(score) − 10 as `unk`; on
/// equal scores the earlier start and then the shorter piece win; consecutive unknown
/// characters fuse into one `unk`. Pieces are matched on UTF-8 bytes, never on Swift `String`
/// equality (which would equate "é" and "e\u{301}").
public struct UnigramModel: Sendable {
    /// The pieces in id order, as UTF-8 bytes, and their scores.
    public let pieces: [[UInt8]]
    public let scores: [Double]
    public let unknownID: Int
    let ids: [[UInt8]: Int]
    let trie: ByteTrie
    let unknownScore: Double

    /// The unknown piece's penalty below the lowest score (sentencepiece's kUnkPenalty).
    static let unknownPenalty = 10.0

    /// `pieces` with their scores; the unknown id must be one of them. A piece listed twice
    /// means its last id (as `tokenizers`' token → id map, filled in order).
    public init(pieces: [(piece: String, score: Double)], unknownID: Int) {
        self.pieces = pieces.map { Array($0.piece.utf8) }
        scores = pieces.map(\.score)
        self.unknownID = unknownID
        var ids: [[UInt8]: Int] = [:]
        for (id, piece) in self.pieces.enumerated() { ids[piece] = id }
        var trie = ByteTrie()
        for (piece, id) in ids { trie.insert(piece, id: id) }
        self.ids = ids
        self.trie = trie
        unknownScore = (scores.min() ?? 0) - Self.unknownPenalty
    }

    /// The id of a piece (its bytes), if it is in the vocabulary.
    public func id(of piece: [UInt8]) -> Int? { ids[piece] }

    /// The ids of the best segmentation of `word` (one pre-tokenised word, "▁" included).
    public func encode(_ word: String) -> [Int] {
        let bytes = Array(word.utf8)
        guard !bytes.isEmpty else { return [] }
        // best[e]: the best path over bytes[..<e]: its score, where its last piece starts, the piece's id.
        var best = [(score: Double, start: Int, id: Int)?](repeating: nil, count: bytes.count + 1)
        best[0] = (0, 0, unknownID)
        var start = 0
        while start < bytes.count {
            let scoreHere = best[start]?.score ?? 0
            let characterLength = Self.utf8Length(leading: bytes[start])
            var coversCharacter = false
            for (end, id) in trie.prefixes(of: bytes, from: start) {
                let candidate = scoreHere + scores[id]
                if best[end] == nil || candidate > best[end]!.score { best[end] = (candidate, start, id) }
                if end - start == characterLength { coversCharacter = true }
            }
            let characterEnd = Swift.min(start + characterLength, bytes.count)
            if !coversCharacter {
                let candidate = scoreHere + unknownScore
                if best[characterEnd] == nil || candidate > best[characterEnd]!.score { best[characterEnd] = (candidate, start, unknownID) }
            }
            start = characterEnd
        }
        var out: [Int] = [], end = bytes.count, previousUnknown = false
        while end > 0, let node = best[end] {
            let isUnknown = node.id == unknownID
            if !(isUnknown && previousUnknown) { out.append(node.id) }
            previousUnknown = isUnknown
            end = node.start
        }
        return out.reversed()
    }

    /// The byte length of the UTF-8 sequence a leading byte starts.
    static func utf8Length(leading byte: UInt8) -> Int {
        switch byte {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }
}

/// A trie over byte strings: every stored key that is a prefix of some bytes, shortest first.
struct ByteTrie: Sendable {
    private var children: [[UInt8: Int]] = [[:]]
    private var values: [Int?] = [nil]

    mutating func insert(_ key: [UInt8], id: Int) {
        var node = 0
        for byte in key {
            if let next = children[node][byte] {
                node = next
            } else {
                children.append([:])
                values.append(nil)
                children[node][byte] = children.count - 1
                node = children.count - 1
            }
        }
        values[node] = id
    }

    /// (end, id) of each key equal to bytes[start..<end], by increasing end.
    func prefixes(of bytes: [UInt8], from start: Int) -> [(end: Int, id: Int)] {
        var out: [(Int, Int)] = [], node = 0, i = start
        while i < bytes.count, let next = children[node][bytes[i]] {
            node = next
            i += 1
            if let id = values[node] { out.append((i, id)) }
        }
        return out
    }
}
