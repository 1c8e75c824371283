import Engine
import Foundation

/// transformers 5's `T5Tokenizer` (the `tokenizers`-backed one; PixArt-α's text side), giving
/// the same ids: special tokens (`<pad>`, `</s>`, `<unk>`, `<extra_id_N>`) cut out of the raw
/// text first; each piece between them normalised by the SentencePiece charsmap
/// (`PrecompiledCharsMap`), split on whitespace, each word prefixed with "▁" and split before
/// any further "▁"; each such word cut by the unigram model (`UnigramModel`, unknown id 2); then
/// `</s>` appended. `encode(_:maxLength:)` truncates keeping `</s>`; `batch` pads to `maxLength`
/// with `<pad>` and gives the attention mask, as `padding="max_length", truncation=True` does
/// (PixArt-α: 120 tokens).
///
/// It reads a folder as transformers writes or ships it: `tokenizer.json` (a Unigram model's
/// vocabulary and scores, the charsmap of its Precompiled normaliser, its added tokens) or,
/// without one, `spiece.model` (the SentencePiece model: pieces, scores, charsmap; the
/// `extra_ids` sentinels of `tokenizer_config.json`, 100 by default, appended as
/// `<extra_id_99>` … `<extra_id_0>`).
/// NOTE: like transformers 5, it takes only the vocabulary and the charsmap from tokenizer.json
/// and applies T5's own pipeline: an older file's `Replace` normaliser or lone `Metaspace` is not
/// followed (`tokenizers` alone would give a trailing space a "▁" of its own; transformers does
/// not). Unknown characters are `<unk>` (no byte fallback: T5Tokenizer has none).
public final class T5Tokenizer {
    public let model: UnigramModel
    public let charsMap: PrecompiledCharsMap?
    /// Tokens matched on the raw text before normalisation (UTF-8 bytes → id), and the same
    /// grouped by first byte, longest first.
    let addedTokens: [[UInt8]: Int]
    private let addedByFirstByte: [UInt8: [(bytes: [UInt8], id: Int)]]
    public let eos: Int, pad: Int
    /// The ids `paddedIDs` and `batch` give per text.
    public let maxLength: Int

    /// T5Tokenizer's unknown id, whatever the file says (transformers builds its Unigram with unk_id=2).
    public static let unknownID = 2
    public static let defaultMaxLength = 120

    public init(model: UnigramModel, charsMap: PrecompiledCharsMap?, addedTokens: [String: Int], eos: Int, pad: Int,
                maxLength: Int = T5Tokenizer.defaultMaxLength) throws {
        guard maxLength >= 2 else {
            throw ModelError.invalidInput(model: "T5Tokenizer", reason: "max length must be ≥ 2 (a token and </s>), got \(maxLength)")
        }
        (self.model, self.charsMap, self.eos, self.pad, self.maxLength) = (model, charsMap, eos, pad, maxLength)
        var byBytes: [[UInt8]: Int] = [:]
        for (token, id) in addedTokens where !token.isEmpty { byBytes[Array(token.utf8)] = id }
        self.addedTokens = byBytes
        addedByFirstByte = Dictionary(grouping: byBytes.map { (bytes: $0.key, id: $0.value) }, by: { $0.bytes[0] })
            .mapValues { $0.sorted { $0.bytes.count > $1.bytes.count } }
    }

    /// Reads a tokenizer folder: `tokenizer.json` if there is one, else `spiece.model`; the
    /// special tokens' names and `extra_ids` from `tokenizer_config.json` when present.
    public convenience init(folder: String, maxLength: Int = T5Tokenizer.defaultMaxLength) throws {
        let config = try Self.readConfig(folder + "/tokenizer_config.json")
        func name(_ key: String, _ fallback: String) -> String {
            (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String) ?? fallback
        }
        let (eosName, padName) = (name("eos_token", "</s>"), name("pad_token", "<pad>"))
        let json = folder + "/tokenizer.json", spiece = folder + "/spiece.model"
        if FileManager.default.fileExists(atPath: json) {
            try self.init(tokenizerJSON: json, eosToken: eosName, padToken: padName, maxLength: maxLength)
        } else if FileManager.default.fileExists(atPath: spiece) {
            try self.init(sentencePieceModel: spiece, extraIDs: config["extra_ids"] as? Int ?? 100,
                          eosToken: eosName, padToken: padName, maxLength: maxLength)
        } else {
            throw ModelError.badTokenizer(path: folder, reason: "holds neither tokenizer.json nor spiece.model")
        }
    }

    /// Reads a `tokenizer.json` written by `tokenizers` for a Unigram (SentencePiece) model.
    public convenience init(tokenizerJSON path: String, eosToken: String = "</s>", padToken: String = "<pad>",
                            maxLength: Int = T5Tokenizer.defaultMaxLength) throws {
        func fail(_ reason: String) -> ModelError { .badTokenizer(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("missing or unreadable") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("not a JSON object") }
        FileAccessLog.read(path)
        guard let spec = root["model"] as? [String: Any] else { throw fail("has no model") }
        let type = spec["type"] as? String ?? "(none)"
        guard type == "Unigram" else {
            throw fail("model type \(type) is not supported: T5's tokenizer is a Unigram (SentencePiece) model")
        }
        guard let entries = spec["vocab"] as? [[Any]] else { throw fail("the Unigram vocab is not a list of [piece, score]") }
        let pieces = try entries.enumerated().map { i, entry -> (piece: String, score: Double) in
            guard entry.count == 2, let piece = entry[0] as? String, let score = (entry[1] as? NSNumber)?.doubleValue else {
                throw fail("vocab entry \(i) is not [piece, score]")
            }
            return (piece, score)
        }
        let charsMap = try Self.precompiledCharsMap(in: root["normalizer"], fail: fail)
        var added: [String: Int] = [:]
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = entry["content"] as? String, let id = entry["id"] as? Int else { throw fail("an added token without content or id") }
            for flag in ["lstrip", "rstrip", "single_word", "normalized"] where entry[flag] as? Bool == true {
                throw fail("added token \(content) has \(flag) set; Snoopi matches added tokens exactly, on the raw text")
            }
            added[content] = id
        }
        try self.init(pieces: pieces, charsMap: charsMap, addedTokens: added, eosToken: eosToken, padToken: padToken,
                      maxLength: maxLength, fail: fail)
    }

    /// Reads a SentencePiece unigram model (`spiece.model`) as transformers converts it: its
    /// pieces, then `extraIDs` sentinels `<extra_id_{extraIDs−1}>` … `<extra_id_0>` (score 0);
    /// the pad, end, unknown, control and sentinel tokens matched on the raw text.
    public convenience init(sentencePieceModel path: String, extraIDs: Int = 100, eosToken: String = "</s>",
                            padToken: String = "<pad>", maxLength: Int = T5Tokenizer.defaultMaxLength) throws {
        func fail(_ reason: String) -> ModelError { .badTokenizer(path: path, reason: reason) }
        let file = try SentencePieceModelFile(path: path)
        guard file.modelType == 1 else {
            throw fail("model type \(SentencePieceModelFile.modelTypeNames[file.modelType] ?? String(file.modelType)) is not supported: T5's tokenizer is a unigram model")
        }
        guard extraIDs >= 0 else { throw fail("extra_ids must be ≥ 0, got \(extraIDs)") }
        let sentinels = (0..<extraIDs).reversed().map { "<extra_id_\($0)>" }
        let pieces = file.pieces.map { (piece: $0.piece, score: Double($0.score)) } + sentinels.map { ($0, 0) }
        var added: [String: Int] = [:]
        for (id, piece) in file.pieces.enumerated() where piece.type == SentencePieceModelFile.controlType { added[piece.piece] = id }
        for (k, name) in sentinels.enumerated() { added[name] = file.pieces.count + k }
        let charsMap = try file.precompiledCharsMap.isEmpty ? nil : Self.parseCharsMap(file.precompiledCharsMap, fail: fail)
        try self.init(pieces: pieces, charsMap: charsMap, addedTokens: added, eosToken: eosToken, padToken: padToken,
                      maxLength: maxLength, fail: fail)
    }

    private convenience init(pieces: [(piece: String, score: Double)], charsMap: PrecompiledCharsMap?, addedTokens: [String: Int],
                             eosToken: String, padToken: String, maxLength: Int, fail: (String) -> ModelError) throws {
        guard pieces.count > Self.unknownID else { throw fail("the vocabulary has \(pieces.count) pieces; T5's unknown id is \(Self.unknownID)") }
        let model = UnigramModel(pieces: pieces, unknownID: Self.unknownID)
        var added = addedTokens
        func id(_ token: String) throws -> Int {
            guard let id = addedTokens[token] ?? model.id(of: Array(token.utf8)) else { throw fail("the vocabulary has no \(token) token") }
            return id
        }
        let (eos, pad) = (try id(eosToken), try id(padToken))
        // transformers registers the pad, end and unknown tokens as special (matched in the text).
        added[eosToken] = eos
        added[padToken] = pad
        added[String(decoding: model.pieces[Self.unknownID], as: UTF8.self)] = Self.unknownID
        for (token, id) in added where id < 0 { throw fail("added token \(token) has a negative id \(id)") }
        try self.init(model: model, charsMap: charsMap, addedTokens: added, eos: eos, pad: pad, maxLength: maxLength)
    }

    private static func readConfig(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        guard let config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.badTokenizer(path: path, reason: "not a JSON object")
        }
        FileAccessLog.read(path)
        return config
    }

    /// The charsmap of a tokenizer.json normaliser: a Precompiled one, alone or in a Sequence.
    private static func precompiledCharsMap(in normalizer: Any?, fail: (String) -> ModelError) throws -> PrecompiledCharsMap? {
        guard let normalizer = normalizer as? [String: Any] else { return nil }
        let steps = normalizer["type"] as? String == "Sequence" ? normalizer["normalizers"] as? [[String: Any]] ?? [] : [normalizer]
        guard let precompiled = steps.first(where: { $0["type"] as? String == "Precompiled" }) else { return nil }
        guard let text = precompiled["precompiled_charsmap"] as? String, let blob = Data(base64Encoded: text) else {
            throw fail("the Precompiled normaliser's charsmap is not base64")
        }
        return try parseCharsMap(Array(blob), fail: fail)
    }

    private static func parseCharsMap(_ blob: [UInt8], fail: (String) -> ModelError) throws -> PrecompiledCharsMap {
        guard let map = PrecompiledCharsMap(blob) else { throw fail("the precompiled charsmap is malformed") }
        return map
    }

    /// The tokens matched on the raw text (special tokens, sentinels) with their ids: what
    /// `init(model:charsMap:addedTokens:eos:pad:maxLength:)` takes back.
    public var addedTokenIDs: [String: Int] {
        Dictionary(addedTokens.map { (String(decoding: $0.key, as: UTF8.self), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// How many ids there are: every piece's and every added token's, 0..<vocabularySize.
    public var vocabularySize: Int { Swift.max(model.pieces.count, (addedTokens.values.max() ?? -1) + 1) }

    // MARK: - Encoding

    /// The ids of a text's pieces, no `</s>`, no truncation.
    public func pieceIDs(_ text: String) -> [Int] {
        let bytes = Array(text.utf8)
        var ids: [Int] = [], segmentStart = 0, i = 0
        while i < bytes.count {
            if let match = addedByFirstByte[bytes[i]]?.first(where: { i + $0.bytes.count <= bytes.count && bytes[i..<(i + $0.bytes.count)].elementsEqual($0.bytes) }) {
                ids += segmentIDs(bytes[segmentStart..<i])
                ids.append(match.id)
                i += match.bytes.count
                segmentStart = i
            } else {
                i += 1
            }
        }
        return ids + segmentIDs(bytes[segmentStart..<bytes.count])
    }

    /// A stretch of text between added tokens: normalised, split on whitespace, each word
    /// "▁"-prefixed and split before each further "▁" (Metaspace, prepend "always", split), cut.
    private func segmentIDs(_ bytes: ArraySlice<UInt8>) -> [Int] {
        guard !bytes.isEmpty else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        let normalized = charsMap?.normalize(text) ?? text
        var ids: [Int] = []
        for word in normalized.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }) {
            let marked = word.first == Self.metaspace ? Array(word) : [Self.metaspace] + Array(word)
            for piece in Self.splitBeforeMetaspace(marked) {
                ids += model.encode(String(String.UnicodeScalarView(piece)))
            }
        }
        return ids
    }

    static let metaspace: Unicode.Scalar = "\u{2581}"

    /// `tokenizers`' split on "▁" with MergedWithNext: each "▁" starts a piece, except that a
    /// "▁" followed by another "▁" (or ending the word) is a piece by itself.
    static func splitBeforeMetaspace(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var pieces: [[Unicode.Scalar]] = [], current: [Unicode.Scalar] = []
        for (i, s) in scalars.enumerated() {
            guard s == metaspace else { current.append(s); continue }
            if !current.isEmpty { pieces.append(current) }
            if i + 1 < scalars.count && scalars[i + 1] != metaspace { current = [s] } else { pieces.append([s]); current = [] }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// The text's ids with `</s>` appended; with `maxLength`, the pieces are cut to
    /// maxLength − 1 first, so `</s>` always ends them (transformers' `truncation=True`).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        var ids = pieceIDs(text)
        if let maxLength, ids.count > maxLength - 1 { ids = Array(ids.prefix(Swift.max(maxLength - 1, 0))) }
        return ids + [eos]
    }

    /// Exactly `maxLength` ids: the truncated ids, then `<pad>`.
    public func paddedIDs(_ text: String) -> [Int] {
        let ids = encode(text, maxLength: maxLength)
        return ids + Array(repeating: pad, count: maxLength - ids.count)
    }

    /// Texts as input_ids and attention_mask, both [B, maxLength] (mask 1 on the ids `encode`
    /// gives, 0 on the padding) — what T5EncoderModel reads.
    public func batch(_ texts: [String]) throws -> (inputIDs: Tensor, attentionMask: Tensor) {
        guard !texts.isEmpty else { throw ModelError.invalidInput(model: "T5Tokenizer", reason: "no texts to encode") }
        var ids: [Float] = [], mask: [Float] = []
        for text in texts {
            let encoded = encode(text, maxLength: maxLength)
            ids += (encoded + Array(repeating: pad, count: maxLength - encoded.count)).map(Float.init)
            mask += Array(repeating: 1, count: encoded.count) + Array(repeating: 0, count: maxLength - encoded.count)
        }
        return (try Tensor(ids, shape: [texts.count, maxLength]), try Tensor(mask, shape: [texts.count, maxLength]))
    }
}
