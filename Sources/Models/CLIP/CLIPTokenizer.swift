import Engine
import Foundation

/// OpenAI CLIP's byte-level BPE tokenizer, reading `vocab.json` and `merges.txt`, giving the same
/// ids as Hugging Face's `CLIPTokenizer` (transformers 5, backed by `tokenizers`): text
/// NFC-normalised, runs of whitespace made one space, lower-cased; then CLIP's pre-tokenising
/// pattern, bytes mapped to unicode characters (GPT-2's table), BPE merges by rank with `</w>`
/// ending each word, and `<|startoftext|>` … `<|endoftext|>`.
/// NOTE: the older Python tokenizer without ftfy also dropped control characters and spaced CJK
/// characters; transformers 5 no longer does, and neither do we.
public final class CLIPTokenizer {
    public let vocabulary: [String: Int]
    /// The merges by rank (duplicates dropped): with `vocabulary`, everything that rebuilds it.
    public let merges: [(String, String)]
    let ranks: [Pair: Int]
    public let bos: Int, eos: Int
    /// The length `paddedIDs` gives (a text encoder's; `encode` takes its own, 77 by default).
    public let maxLength: Int
    /// The id used for padding (CLIP's end-of-text by default, as SD 1.x's tokenizer).
    public var pad: Int
    private var cache: [String: [String]] = [:]

    struct Pair: Hashable { let a: String, b: String }

    public enum TokenizerError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case missingToken(String)
        public var description: String {
            switch self {
            case let .unreadable(path, reason): return "tokenizer: cannot read \(path): \(reason)"
            case let .missingToken(t): return "tokenizer: the vocabulary has no \(t) token"
            }
        }
    }

    public init(vocabulary: [String: Int], merges: [(String, String)], maxLength: Int = 77) throws {
        self.vocabulary = vocabulary
        var r: [Pair: Int] = [:], kept: [(String, String)] = []
        for (i, m) in merges.enumerated() where r[Pair(a: m.0, b: m.1)] == nil {
            r[Pair(a: m.0, b: m.1)] = i
            kept.append(m)
        }
        ranks = r
        self.merges = kept
        self.maxLength = maxLength
        guard let bos = vocabulary["<|startoftext|>"] else { throw TokenizerError.missingToken("<|startoftext|>") }
        guard let eos = vocabulary["<|endoftext|>"] else { throw TokenizerError.missingToken("<|endoftext|>") }
        (self.bos, self.eos, self.pad) = (bos, eos, eos)
    }

    /// Reads `vocab.json` and `merges.txt` (first line a `#version` header) from a folder.
    public convenience init(folder: String, maxLength: Int = 77) throws {
        let vocabPath = (folder as NSString).appendingPathComponent("vocab.json")
        let mergesPath = (folder as NSString).appendingPathComponent("merges.txt")
        guard let data = FileManager.default.contents(atPath: vocabPath),
              let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Int] else {
            throw TokenizerError.unreadable(path: vocabPath, reason: "not a JSON object of token → id")
        }
        guard let text = try? String(contentsOfFile: mergesPath, encoding: .utf8) else {
            throw TokenizerError.unreadable(path: mergesPath, reason: "missing or not UTF-8")
        }
        let merges = text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.hasPrefix("#version") }
            .compactMap { line -> (String, String)? in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
        FileAccessLog.read(vocabPath)
        FileAccessLog.read(mergesPath)
        try self.init(vocabulary: dict, merges: merges, maxLength: maxLength)
    }

    /// This tokenizer giving `maxLength` ids from `paddedIDs` (same vocabulary, merges and pad).
    public func withMaxLength(_ maxLength: Int) throws -> CLIPTokenizer {
        let copy = try CLIPTokenizer(vocabulary: vocabulary, merges: merges, maxLength: maxLength)
        copy.pad = pad
        return copy
    }

    /// The tokens in id order when the ids are exactly 0..<count (as every CLIP vocab.json's), else nil.
    public var tokensByID: [String]? {
        var list = [String?](repeating: nil, count: vocabulary.count)
        for (token, id) in vocabulary {
            guard id >= 0, id < list.count, list[id] == nil else { return nil }
            list[id] = token
        }
        return list.compactMap { $0 }
    }

    /// Ids with start and end tokens, truncated to `maxLength` (keeping the end token) and, when
    /// `padToMaxLength`, padded with `pad`.
    public func encode(_ text: String, maxLength: Int = 77, padToMaxLength: Bool = false) -> [Int] {
        var ids = [bos] + tokens(of: text).map { vocabulary[$0] ?? eos }
        if ids.count > maxLength - 1 { ids = Array(ids.prefix(maxLength - 1)) }
        ids.append(eos)
        if padToMaxLength && ids.count < maxLength { ids += Array(repeating: pad, count: maxLength - ids.count) }
        return ids
    }

    /// The BPE tokens of a text (no start/end tokens).
    public func tokens(of text: String) -> [String] {
        let cleaned = CLIPTokenizer.basicClean(text)
        var out: [String] = []
        for piece in CLIPTokenizer.preTokenize(cleaned) {
            let mapped = String(String.UnicodeScalarView(piece.utf8.map { CLIPTokenizer.byteToUnicode[Int($0)] }))
            out += bpe(mapped)
        }
        return out
    }

    // MARK: - Normalising (tokenizers' NFC → Replace(\s+, " ") → Lowercase)

    static func basicClean(_ text: String) -> String {
        let nfc = text.precomposedStringWithCanonicalMapping
        var scalars = String.UnicodeScalarView()
        var inSpace = false
        for s in nfc.unicodeScalars {
            if s.properties.isWhitespace {
                if !inSpace { scalars.append(" ") }
                inSpace = true
            } else {
                scalars.append(s)
                inSpace = false
            }
        }
        return String(scalars).lowercased()
    }

    // MARK: - CLIP's pattern: specials | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+

    static func preTokenize(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var out: [String] = [], i = 0
        func isLetter(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
        func isNumber(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: return true
            default: return false
            }
        }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
        func string(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(s[r])) }
        func hasPrefix(_ p: String, at i: Int, caseInsensitive: Bool) -> Bool {
            let ps = Array(p.unicodeScalars)
            guard i + ps.count <= s.count else { return false }
            for k in 0..<ps.count {
                let a = caseInsensitive ? String(s[i + k]).lowercased() : String(s[i + k])
                if a != String(ps[k]) { return false }
            }
            return true
        }
        outer: while i < s.count {
            for special in ["<|startoftext|>", "<|endoftext|>"] where hasPrefix(special, at: i, caseInsensitive: true) {
                out.append(string(i..<(i + special.unicodeScalars.count)))
                i += special.unicodeScalars.count
                continue outer
            }
            for c in ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"] where hasPrefix(c, at: i, caseInsensitive: true) {
                out.append(string(i..<(i + c.unicodeScalars.count)))
                i += c.unicodeScalars.count
                continue outer
            }
            let c = s[i]
            if isLetter(c) {
                var j = i + 1
                while j < s.count && isLetter(s[j]) { j += 1 }
                out.append(string(i..<j)); i = j
            } else if isNumber(c) {
                out.append(string(i..<(i + 1))); i += 1
            } else if isSpace(c) {
                i += 1
            } else {
                var j = i + 1
                while j < s.count && !isSpace(s[j]) && !isLetter(s[j]) && !isNumber(s[j]) { j += 1 }
                out.append(string(i..<j)); i = j
            }
        }
        return out
    }

    // MARK: - BPE

    func bpe(_ token: String) -> [String] {
        if let cached = cache[token] { return cached }
        if token == "<|startoftext|>" || token == "<|endoftext|>" { return [token] }
        var word = token.map(String.init)
        guard !word.isEmpty else { return [] }
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for k in 0..<(word.count - 1) {
                if let r = ranks[Pair(a: word[k], b: word[k + 1])], r < (best?.rank ?? .max) { best = (r, k) }
            }
            guard let best else { break }
            let (a, b) = (word[best.index], word[best.index + 1])
            var merged: [String] = [], k = 0
            while k < word.count {
                if k < word.count - 1 && word[k] == a && word[k + 1] == b { merged.append(a + b); k += 2 } else { merged.append(word[k]); k += 1 }
            }
            word = merged
        }
        cache[token] = word
        return word
    }

    /// GPT-2's reversible byte → printable unicode character table.
    static let byteToUnicode: [Unicode.Scalar] = {
        var bytes = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = bytes
        var n = 0
        for b in 0..<256 where !bytes.contains(b) {
            bytes.append(b)
            chars.append(256 + n)
            n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bytes, chars) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()
}
