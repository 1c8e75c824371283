import Engine
import Foundation
import Models

/// A built-in world of captioned images where the truth is known: a coloured shape of some size
/// at some position on a background (5 shapes × 8 colours × 2 sizes × 5 positions × 3
/// backgrounds), drawn anti-aliased at `side`×`side` pixels in [−1, 1], with a caption naming a
/// random subset of its attributes. Unlimited and seeded: sample i of a split depends only on
/// (seed, split, i).
///
/// Held-out splits: the **image split** keeps five shape–colour pairs (`heldOutPairs`) out of
/// training images; the **prompt split** keeps the "a picture of a …" template out of training
/// captions. `.train` draws neither; `.test` draws only held-out pairs and template.
public final class ShapesWorld {
    /// The world's splits are the datasets' (`DataSplit`).
    public typealias Split = DataSplit

    public let side: Int
    public let seed: UInt64
    /// Shape–colour pairs never seen in training images.
    public let heldOutPairs: Set<String>
    /// The template never seen in training captions.
    public let heldOutTemplate = CaptionGrammar.Template.picture
    /// The world's word-level tokenizer (all grammar words).
    public let tokenizer: WordTokenizer

    public init(side: Int = 16, seed: UInt64 = 0) throws {
        guard side >= 8 && side <= 64 && side % 8 == 0 else {
            throw DiffusionError.invalidArgument(name: "shapes world", reason: "side must be a multiple of 8 from 8 to 64 (16 or 32 usual), got \(side)")
        }
        self.side = side
        self.seed = seed
        var pairs = Set<String>()
        for (i, s) in ShapeAttributes.Shape.allCases.enumerated() {
            let c = ShapeAttributes.Colour.allCases[(i * 3 + 1) % ShapeAttributes.Colour.allCases.count]
            pairs.insert("\(s.rawValue)-\(c.rawValue)")
        }
        heldOutPairs = pairs
        tokenizer = CaptionGrammar.tokenizer
    }

    public func isHeldOut(_ a: ShapeAttributes) -> Bool { heldOutPairs.contains("\(a.shape.rawValue)-\(a.colour.rawValue)") }

    /// One sample's attributes, caption and jitter, drawn from its own Philox stream position.
    public func draw(_ index: Int, split: Split) -> (attributes: ShapeAttributes, caption: String, jitter: (Float, Float)) {
        let g = RandomGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ (split == .train ? 1 : 2))
        g.state = RandomState(seed: g.seed, offset: UInt64(index) * 64)
        func pick<T>(_ all: [T]) -> T { all[g.integer(below: all.count)] }
        var a: ShapeAttributes
        repeat {
            a = ShapeAttributes(shape: pick(ShapeAttributes.Shape.allCases), colour: pick(ShapeAttributes.Colour.allCases),
                                size: pick(ShapeAttributes.Size.allCases), position: pick(ShapeAttributes.Position.allCases),
                                background: pick(ShapeAttributes.Background.allCases))
        } while isHeldOut(a) != (split == .test)
        // Each attribute is named with probability 0.6; a fifth of captions name none of them.
        var mentioned = Set<ShapeAttributes.Kind>()
        if g.uniform() >= 0.2 { for k in ShapeAttributes.Kind.allCases where g.uniform() < 0.6 { mentioned.insert(k) } }
        let templates = CaptionGrammar.Template.allCases.filter { ($0 == heldOutTemplate) == (split == .test) }
        let caption = CaptionGrammar.caption(a, mentioning: mentioned, template: pick(templates))
        return (a, caption, ((g.uniform() - 0.5) * 2, (g.uniform() - 0.5) * 2))
    }

    /// The image of `attributes` ([3, side, side] in [−1, 1]); `jitter` moves the centre in pixels.
    public func render(_ attributes: ShapeAttributes, jitter: (Float, Float) = (0, 0)) -> Tensor {
        let out = Tensor.zeros([3, side, side])
        ShapeRenderer.render(attributes, side: side, jitter: jitter, into: out.storage.pointer)
        return out
    }

    /// Samples `start ..< start + count` of a split: images [count, 3, side, side], captions,
    /// attributes.
    public func batch(_ count: Int, split: Split = .train, start: Int = 0) throws -> ShapesBatch {
        guard count >= 1 else { throw DiffusionError.invalidArgument(name: "shapes world", reason: "batch size must be ≥ 1, got \(count)") }
        guard start >= 0 else { throw DiffusionError.invalidArgument(name: "shapes world", reason: "start must be ≥ 0, got \(start)") }
        let images = Tensor.zeros([count, 3, side, side])
        var captions: [String] = [], attributes: [ShapeAttributes] = []
        for i in 0..<count {
            let (a, caption, jitter) = draw(start + i, split: split)
            ShapeRenderer.render(a, side: side, jitter: jitter, into: images.storage.pointer + i * 3 * side * side)
            captions.append(caption)
            attributes.append(a)
        }
        return ShapesBatch(images: images, captions: captions, attributes: attributes)
    }
}

/// A batch drawn from the shapes world.
public struct ShapesBatch {
    /// [B, 3, side, side] in [−1, 1].
    public let images: Tensor
    public let captions: [String]
    public let attributes: [ShapeAttributes]
}
