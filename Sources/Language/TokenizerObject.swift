import Diffusion
import Models

/// A tokenizer as a `.snp` value: CLIP's byte-level BPE (from a folder with `vocab.json` and
/// `merges.txt`) or the shapes world's word tokenizer. `encode(text)` gives the ids.
final class TokenizerObject: NativeObject {
    enum Kind {
        case clip(CLIPTokenizer, source: String)
        case words(WordTokenizer)
    }
    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    var typeName: String { "tokenizer" }
    var summary: String {
        switch kind {
        case .clip(_, let source): return "tokenizer: CLIP byte-level BPE from \(source)"
        case .words(let w): return "tokenizer: the shapes world's words (\(w.words.count) words, \(w.maxLength) tokens)"
        }
    }
    var memberNames: [String] { ["encode", "tokens"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "encode":
            return Builtin.method("tokenizer", "encode", "text, max_length: 77, pad: false",
                                  doc: "The token ids of `text` with start and end tokens, truncated to `max_length` (and padded to it with `pad`).") { args in
                let text = try args.string("text"), maxLength = try args.int("max_length")
                guard maxLength >= 2 else { throw args.mistake("max_length", "an integer ≥ 2") }
                switch self.kind {
                case .clip(let t, _): return .numbers(t.encode(text, maxLength: maxLength, padToMaxLength: try args.bool("pad")))
                case .words(let w): return .numbers(w.encode(text).prefix(maxLength))
                }
            }
        case "tokens":
            return Builtin.method("tokenizer", "tokens", "text", doc: "The pieces `text` is cut into (before ids).") { args in
                let text = try args.string("text")
                switch self.kind {
                case .clip(let t, _): return .list(t.tokens(of: text).map { .string($0) })
                case .words: return .list(WordTokenizer.split(text).map { .string($0) })
                }
            }
        default: return nil
        }
    }
}
