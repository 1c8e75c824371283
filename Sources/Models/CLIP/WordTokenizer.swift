/// A word-level tokenizer for the built-in worlds, where the vocabulary is small and known:
/// lower-cased words split on anything that is not a letter or digit, each word one id, unknown
/// words `<unk>`; sequences start with `<bos>`, end with `<eos>` and pad with `<pad>`.
public struct WordTokenizer: Sendable {
    public static let specials = ["<pad>", "<bos>", "<eos>", "<unk>"]
    public let words: [String]
    public let ids: [String: Int]
    public let maxLength: Int
    public var pad: Int { 0 }
    public var bos: Int { 1 }
    public var eos: Int { 2 }
    public var unknown: Int { 3 }

    /// `words` (duplicates and specials dropped) get ids from 4 in the given order.
    public init(words: [String], maxLength: Int) {
        var list = WordTokenizer.specials, seen = Set(WordTokenizer.specials)
        for w in words.map({ $0.lowercased() }) where seen.insert(w).inserted { list.append(w) }
        self.words = list
        ids = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1, $0) })
        self.maxLength = maxLength
    }

    public var vocabularySize: Int { words.count }

    public static func split(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }

    /// `<bos> words… <eos> <pad>…`, exactly `maxLength` ids (words beyond it are dropped).
    public func encode(_ text: String) -> [Int] {
        var out = [bos] + WordTokenizer.split(text).map { ids[$0] ?? unknown }
        if out.count > maxLength - 1 { out = Array(out.prefix(maxLength - 1)) }
        out.append(eos)
        return out + Array(repeating: pad, count: maxLength - out.count)
    }

    public func decode(_ ids: [Int]) -> String {
        ids.filter { $0 >= WordTokenizer.specials.count && $0 < words.count }.map { words[$0] }.joined(separator: " ")
    }
}
