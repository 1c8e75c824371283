import Foundation
import Models
import Testing

@Suite("Tokenizers")
struct TokenizerTests {
    struct Case: Decodable { let text: String; let ids: [Int]; let ids_padded: [Int] }
    struct Cases: Decodable { let pad_token_id: Int; let cases: [Case] }

    /// Same ids as Hugging Face's CLIPTokenizer on a committed test set (punctuation, case,
    /// unicode, CJK, emoji, empty text, prompts past 77 tokens), unpadded and padded.
    @Test func clipTokenizerMatchesHuggingFace() throws {
        let folder = try fixtureFolder("tokenizer")
        let tokenizer = try CLIPTokenizer(folder: folder)
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/cases.json"))
        let fixture = try JSONDecoder().decode(Cases.self, from: data)
        tokenizer.pad = fixture.pad_token_id
        #expect(fixture.cases.count >= 40)
        var longSeen = false
        for c in fixture.cases {
            #expect(tokenizer.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            #expect(tokenizer.encode(c.text, padToMaxLength: true) == c.ids_padded, "\(c.text.debugDescription) padded")
            if c.ids.count == 77 { longSeen = true }
        }
        #expect(longSeen, "the set includes a prompt truncated to 77 ids")
    }

    @Test func clipTokenizerReportsBadFiles() {
        #expect(throws: CLIPTokenizer.TokenizerError.self) { try CLIPTokenizer(folder: "/nonexistent") }
        #expect(throws: CLIPTokenizer.TokenizerError.self) { try CLIPTokenizer(vocabulary: ["a": 0], merges: []) }
    }

    @Test func wordTokenizer() {
        let t = WordTokenizer(words: ["a", "red", "circle", "on", "white", "background", "red"], maxLength: 8)
        #expect(t.vocabularySize == 4 + 6)
        #expect(t.encode("A red, RED circle!") == [1, 4, 5, 5, 6, 2, 0, 0])
        #expect(t.encode("a purple circle") == [1, 4, 3, 6, 2, 0, 0, 0])
        #expect(t.encode("a a a a a a a a a a").count == 8)
        #expect(t.encode("a a a a a a a a a a").last == 2)
        #expect(t.decode(t.encode("red circle on white")) == "red circle on white")
    }
}
