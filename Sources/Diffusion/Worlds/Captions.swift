import Foundation
import Models

/// The shapes world's caption grammar. A caption names any subset of an image's attributes, in a
/// fixed order, inside one of a few templates:
/// "a red circle", "a circle", "a small blue square on a white background", "a photo of a shape".
public struct CaptionGrammar: Sendable {
    public enum Template: String, CaseIterable, Sendable {
        case plain = "a {}", photo = "a photo of a {}", image = "an image of a {}", picture = "a picture of a {}"
    }

    /// The world's word-level tokenizer: every grammar word, sequences of 16 ids.
    public static var tokenizer: WordTokenizer { WordTokenizer(words: vocabulary, maxLength: 16) }

    /// The words any caption can use (the world's text vocabulary).
    public static var vocabulary: [String] {
        var words = ["a", "an", "photo", "of", "image", "picture", "shape", "in", "the", "on", "at", "background"]
        for k in ShapeAttributes.Shape.allCases { words.append(k.rawValue) }
        for k in ShapeAttributes.Colour.allCases { words.append(k.rawValue) }
        for k in ShapeAttributes.Size.allCases { words.append(k.rawValue) }
        for k in ShapeAttributes.Position.allCases { words.append(k.rawValue) }
        for k in ShapeAttributes.Background.allCases where !words.contains(k.rawValue) { words.append(k.rawValue) }
        return words
    }

    static func positionPhrase(_ p: ShapeAttributes.Position) -> String {
        switch p {
        case .center: return "in the center"
        case .left: return "on the left"
        case .right: return "on the right"
        case .top: return "at the top"
        case .bottom: return "at the bottom"
        }
    }

    /// The caption of `attributes` naming only the kinds in `mentioned`.
    public static func caption(_ a: ShapeAttributes, mentioning mentioned: Set<ShapeAttributes.Kind>, template: Template = .plain) -> String {
        var words: [String] = []
        if mentioned.contains(.size) { words.append(a.size.rawValue) }
        if mentioned.contains(.colour) { words.append(a.colour.rawValue) }
        words.append(mentioned.contains(.shape) ? a.shape.rawValue : "shape")
        if mentioned.contains(.position) { words.append(positionPhrase(a.position)) }
        if mentioned.contains(.background) { words += ["on", "a", a.background.rawValue, "background"] }
        var text = template.rawValue.replacingOccurrences(of: "{}", with: words.joined(separator: " "))
        // "a orange" → "an orange", "a image" stays in its template.
        for vowel in ["a", "e", "i", "o", "u"] { text = text.replacingOccurrences(of: " a \(vowel)", with: " an \(vowel)") }
        if text.hasPrefix("a ") && "aeiou".contains(text.dropFirst(2).first ?? "x") { text = "an " + text.dropFirst(2) }
        return text
    }

    /// The attributes a caption states (nil where it does not say), read back from its words.
    public static func parse(_ caption: String) -> (shape: ShapeAttributes.Shape?, colour: ShapeAttributes.Colour?, size: ShapeAttributes.Size?,
                                                   position: ShapeAttributes.Position?, background: ShapeAttributes.Background?) {
        let words = caption.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
        var background: ShapeAttributes.Background?
        var rest = words
        if let b = words.firstIndex(of: "background"), b >= 1, let bg = ShapeAttributes.Background(rawValue: words[b - 1]) {
            background = bg
            rest.remove(at: b - 1)
        }
        func first<T: RawRepresentable>(_: T.Type) -> T? where T.RawValue == String { rest.lazy.compactMap { T(rawValue: $0) }.first }
        return (first(ShapeAttributes.Shape.self), first(ShapeAttributes.Colour.self), first(ShapeAttributes.Size.self),
                first(ShapeAttributes.Position.self), background)
    }
}
