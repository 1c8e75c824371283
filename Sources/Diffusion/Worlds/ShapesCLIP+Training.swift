import Engine
import Foundation
import Models

/// How `ShapesCLIP` is trained. The plain recipe (CLIP's contrastive loss alone) learns colour,
/// size, position and background but reads shape at 51 % zero-shot, 2 % on held-out shape–colour
/// pairs (Docs/results.md): at 16 px colour is the easy cue and the training pairs tie each colour
/// to four shapes, so the towers learn "this colour is never that shape". The default recipe adds
/// two things, both measured there:
///
/// - **Colour-free grayscale pairs**: every batch also holds its images in grayscale, captioned
///   without their colour ("a small red circle" → "a small circle"). To match those the image
///   tower must read shape, size, position and background without colour — the same cue on any
///   colour, held-out pairs included (grayscale makes no new colour, so the held-out pairs stay
///   unseen).
/// - **Attribute heads** (training only, not saved): a linear head per attribute kind on the
///   pooled text state, trained with cross-entropy on the attributes the caption names, and one on
///   the image features (colour on the colour images, every other kind on the grayscale ones).
///   The text head makes the end token — and the token states the teachers attend to — carry
///   every named attribute; the image head gives shape a direct signal.
public struct ShapesCLIPRecipe: Sendable {
    /// Weight of the attribute heads' cross-entropy beside the contrastive loss (0: no heads).
    public var attributeWeight: Float = 1
    /// Adds the colour-free grayscale pairs to every batch.
    public var grayscalePairs = true

    public init(attributeWeight: Float = 1, grayscalePairs: Bool = true) {
        self.attributeWeight = attributeWeight
        self.grayscalePairs = grayscalePairs
    }

    /// CLIP's loss alone (the recipe of the first shipped encoder).
    public static let contrastiveOnly = ShapesCLIPRecipe(attributeWeight: 0, grayscalePairs: false)
}

/// The attribute heads of the default recipe: [B, width] text states and [B, 128] image features
/// to logits of all five kinds (5 + 8 + 2 + 5 + 3).
final class ShapesCLIPAttributeHeads: Module {
    let textHead: Linear, imageHead: Linear
    let clip: ShapesCLIP

    init(_ clip: ShapesCLIP, seed: UInt64) throws {
        self.clip = clip
        let classes = AttributeClassifier.kindClasses.reduce(0) { $0 + $1.1 }
        (textHead, imageHead) = try Initialization.withSeed(seed &+ 0xA77) { (Linear(clip.width, classes), Linear(128, classes)) }
        super.init()
        child("clip", clip)
        child("text_head", textHead)
        child("image_head", imageHead)
    }

    /// Summed cross-entropy of the heads of `kinds` on `logits` [B, 23] for the rows where the
    /// attribute is known (`known(row, kind)`).
    static func loss(_ logits: Tensor, _ attributes: [ShapeAttributes], kinds: Set<ShapeAttributes.Kind>,
                     known: (Int, ShapeAttributes.Kind) -> Bool) throws -> Tensor? {
        let pieces = try logits.split(sizes: AttributeClassifier.kindClasses.map(\.1), axis: 1)
        var total: Tensor?
        for ((kind, _), piece) in zip(AttributeClassifier.kindClasses, pieces) where kinds.contains(kind) {
            let rows = attributes.indices.filter { known($0, kind) }
            guard !rows.isEmpty else { continue }
            let ce = try Tensor.crossEntropy(piece.indexSelect(axis: 0, indices: rows),
                                             targets: rows.map { AttributeClassifier.index(of: attributes[$0], kind) })
            total = try total.map { try $0 + ce } ?? ce
        }
        return total
    }
}

extension CaptionGrammar {
    /// The attribute values a caption names, by kind ("a small red circle": shape, colour, size).
    public static func namedValues(_ caption: String) -> [ShapeAttributes.Kind: String] {
        let p = parse(caption)
        let values: [(ShapeAttributes.Kind, String?)] = [(.shape, p.shape?.rawValue), (.colour, p.colour?.rawValue), (.size, p.size?.rawValue),
                                                         (.position, p.position?.rawValue), (.background, p.background?.rawValue)]
        return Dictionary(uniqueKeysWithValues: values.compactMap { kind, value in value.map { (kind, $0) } })
    }

    /// The template a caption was written in.
    public static func template(of caption: String) -> Template {
        for template in Template.allCases where template != .plain {
            let prefix = template.rawValue.replacingOccurrences(of: " a {}", with: " ")
            if caption.hasPrefix(prefix) { return template }
        }
        return .plain
    }

    /// `caption` (of an image with `attributes`) with its colour left out, in the same template.
    public static func withoutColour(_ caption: String, _ attributes: ShapeAttributes) -> String {
        self.caption(attributes, mentioning: Set(namedValues(caption).keys).subtracting([.colour]), template: template(of: caption))
    }
}

extension ShapesCLIP {
    /// Images [B, 3, H, W] in grayscale (ITU-R 601 luma), still 3 channels in [−1, 1].
    static func grayscale(_ images: Tensor) throws -> Tensor {
        let luma = try Tensor([0.299, 0.587, 0.114], shape: [1, 3, 1, 1])
        let gray = try (images * luma).sum(axes: [1], keepDims: true)
        return try Tensor.concat([gray, gray, gray], axis: 1)
    }

    /// Trains both towers on the world's training split with AdamW by `recipe`; `progress(step,
    /// loss)` after each step. Returns the losses.
    @discardableResult
    public func train(world: ShapesWorld, steps: Int, batchSize: Int = 64, learningRate: Float = 1e-3,
                      recipe: ShapesCLIPRecipe = ShapesCLIPRecipe(), seed: UInt64 = 0,
                      progress: (Int, Float) -> Void = { _, _ in }) throws -> [Float] {
        guard world.side == side else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "built for side \(side), the world draws \(world.side)")
        }
        guard recipe.attributeWeight >= 0, recipe.attributeWeight.isFinite else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP recipe", reason: "attribute weight must be ≥ 0, got \(recipe.attributeWeight)")
        }
        if pretrainedText { try text.freeze() }
        let maxScale = Float(Foundation.log(Double(100)))
        let heads = try ShapesCLIPAttributeHeads(self, seed: seed)
        let trained: Module = recipe.attributeWeight > 0 ? heads : self
        defer { eval() }
        return try trained.trainWithAdamW(steps: steps, learningRate: learningRate, clipNorm: 1, loss: { step in
            let batch = try world.batch(batchSize, split: .train, start: step * batchSize)
            let b = batch.captions.count
            var images = batch.images, captions = batch.captions
            if recipe.grayscalePairs {
                images = try Tensor.concat([images, Self.grayscale(batch.images)])
                captions += zip(batch.captions, batch.attributes).map { CaptionGrammar.withoutColour($0, $1) }
            }
            // Each tower runs once: its outputs feed both the contrastive loss and the heads.
            let features = try imageFeatures(images), pooled = try pooledText(captions)
            var loss = try contrastiveLoss(imageEmbeddings: normalize(imageProjection(features)),
                                           textEmbeddings: normalize(textProjection(pooled)), captions)
            guard recipe.attributeWeight > 0 else { return loss }
            let named = batch.captions.map { CaptionGrammar.namedValues($0) }
            let all = Set(ShapeAttributes.Kind.allCases), rest = all.subtracting([.colour])
            let colourLogits = try heads.imageHead(features.slice(axis: 0, start: 0, end: b))
            // Every kind but colour is read from the grayscale half when there is one.
            let restLogits = recipe.grayscalePairs ? try heads.imageHead(features.slice(axis: 0, start: b, end: 2 * b)) : colourLogits
            let terms = [
                try ShapesCLIPAttributeHeads.loss(heads.textHead(pooled.slice(axis: 0, start: 0, end: b)), batch.attributes,
                                                  kinds: all, known: { named[$0][$1] != nil }),
                try ShapesCLIPAttributeHeads.loss(colourLogits, batch.attributes, kinds: [.colour], known: { _, _ in true }),
                try ShapesCLIPAttributeHeads.loss(restLogits, batch.attributes, kinds: rest, known: { _, _ in true }),
            ].compactMap { $0 }
            for term in terms { loss = try loss + term * recipe.attributeWeight }
            return loss
        }, afterStep: {
            // CLIP clamps the temperature so logits stay ≤ 100.
            try logitScale.assign(try noGrad { try logitScale.clamp(min: 0, max: maxScale) })
        }, progress: progress)
    }
}

extension ShapesCLIP {
    /// Trains both towers on `data`'s training split (a pre-trained text tower stays frozen: its
    /// projection, the image tower and the temperature learn). The shapes world trains by `recipe` (its
    /// grayscale pairs and attribute heads read the world's attributes); any other dataset by
    /// CLIP's contrastive loss alone, whatever `recipe` says (a user's captions name no attributes
    /// the heads could learn).
    @discardableResult
    public func train(data: any ImageTextDataset, steps: Int, batchSize: Int = 64, learningRate: Float = 1e-3,
                      recipe: ShapesCLIPRecipe = ShapesCLIPRecipe(), seed: UInt64 = 0,
                      progress: (Int, Float) -> Void = { _, _ in }) throws -> [Float] {
        if let world = data as? ShapesWorld {
            return try train(world: world, steps: steps, batchSize: batchSize, learningRate: learningRate, recipe: recipe, seed: seed, progress: progress)
        }
        try data.requireSide(side, for: "ShapesCLIP")
        let unknown = Set(tokenizer.unknownWords(in: data.vocabulary))
        guard unknown.isEmpty else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "its tokenizer does not know \(unknown.count) word(s) of \(data.name) (e.g. \"\(unknown.sorted().first!)\"): make it with the dataset's vocabulary")
        }
        // A pre-trained text tower stays as it is: only the projection, image tower and temperature learn.
        if pretrainedText { try text.freeze() }
        let maxScale = Float(Foundation.log(Double(100)))
        defer { eval() }
        return try trainWithAdamW(steps: steps, learningRate: learningRate, clipNorm: 1, loss: { step in
            let batch = try data.examples(batchSize, split: .train, start: step * batchSize)
            return try contrastiveLoss(batch.images, batch.captions)
        }, afterStep: {
            try logitScale.assign(try noGrad { try logitScale.clamp(min: 0, max: maxScale) })
        }, progress: progress)
    }

    /// Top-1 image → caption retrieval: the share of `examples`' images whose best-matching caption,
    /// among the distinct captions of `examples`, is their own (chance: 1 / distinct captions).
    public func retrievalAccuracy(_ examples: CaptionedImages) throws -> Double {
        let distinct = Array(Set(examples.captions)).sorted()
        let best = try noGrad {
            try Tensor.matmul(encodeImage(examples.images), encodeText(distinct), transposeB: true).argmax(axis: 1)
        }.scalars.map { Int($0) }
        let right = zip(best, examples.captions).filter { distinct[$0.0] == $0.1 }.count
        return Double(right) / Double(examples.captions.count)
    }

    /// A fresh encoder for `data`: its side, and for data other than the shapes world its
    /// vocabulary and captions' length (+ the start and end tokens).
    public static func fresh(for data: any ImageTextDataset, width: Int = 64, seed: UInt64 = 0) throws -> ShapesCLIP {
        if data is ShapesWorld { return try ShapesCLIP(side: data.side, width: width, seed: seed) }
        return try ShapesCLIP(side: data.side, width: width, seed: seed, vocabulary: data.vocabulary,
                              maxLength: Swift.min(512, Swift.max(8, data.longestCaption + 2)))
    }
}
