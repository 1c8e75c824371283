/// What a text encoder's tokenizer gives it: every text as exactly `maxLength` ids — the start
/// token if the tokenizer has one, the text's pieces, end token, padding — over ids
/// `0..<vocabularySize`. `WordTokenizer` (the shapes world's words, or a dataset's),
/// `CLIPTokenizer` (OpenAI CLIP's byte-level BPE) and `T5Tokenizer` (SentencePiece unigram, no
/// start token) conform.
public protocol TextTokenizer {
    /// "word", "clip-bpe" or "t5-unigram": how a checkpoint names the kind.
    var kind: String { get }
    /// How many ids the tokenizer can give (the largest + 1): at most the text model's `vocab_size`.
    var vocabularySize: Int { get }
    /// The ids of every encoded text, padding included.
    var maxLength: Int { get }
    var eos: Int { get }
    var pad: Int { get }
    /// `text` as exactly `maxLength` ids (start, pieces, end, padding; long texts are cut keeping
    /// the end token). The text's pooled state is read at the first `eos`.
    func paddedIDs(_ text: String) -> [Int]
    /// The words of `words` that the tokenizer cannot spell (they read as an unknown token).
    func unknownWords(in words: [String]) -> [String]
}

extension WordTokenizer: TextTokenizer {
    public var kind: String { "word" }
    public func paddedIDs(_ text: String) -> [Int] { encode(text) }
    public func unknownWords(in words: [String]) -> [String] { words.filter { ids[$0.lowercased()] == nil } }
}

extension CLIPTokenizer: TextTokenizer {
    public var kind: String { "clip-bpe" }
    public var vocabularySize: Int { (vocabulary.values.max() ?? -1) + 1 }
    /// `encode(text, maxLength: maxLength, padToMaxLength: true)`.
    public func paddedIDs(_ text: String) -> [Int] { encode(text, maxLength: maxLength, padToMaxLength: true) }
    public func unknownWords(in words: [String]) -> [String] {
        words.filter { word in tokens(of: word).contains { vocabulary[$0] == nil } }
    }
}

extension T5Tokenizer: TextTokenizer {
    public var kind: String { "t5-unigram" }
    public func unknownWords(in words: [String]) -> [String] { words.filter { pieceIDs($0).contains(T5Tokenizer.unknownID) } }
}
