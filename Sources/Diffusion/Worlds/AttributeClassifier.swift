import Checkpoints
import Engine
import Foundation
import Models

/// Reads a shapes-world image's attributes: the judge of the removal rate ("does this image still
/// show the negative attribute?"). The shared `ImageClassifier` CNN with one head per attribute
/// kind (5 shapes, 8 colours, 2 sizes, 5 positions, 3 backgrounds), trained with cross-entropy on
/// the world's ground truth. images: [B, 3, side, side] in [−1, 1].
///
/// NOTE: the judge must be right on every attribute combination, including the pairs held out of
/// the generators' training images; trained on the training split alone it learns "this colour is
/// never that shape" and misreads held-out pairs (2 % shape accuracy, measured). So it trains on
/// both splits (7 : 1, the split sizes) and is measured on samples it never saw
/// (`evaluationStart` onwards).
public final class AttributeClassifier: ImageClassifier {
    /// Classes per attribute kind, in `ShapeAttributes.Kind` order.
    static let kindClasses: [(ShapeAttributes.Kind, Int)] = [
        (.shape, ShapeAttributes.Shape.allCases.count), (.colour, ShapeAttributes.Colour.allCases.count),
        (.size, ShapeAttributes.Size.allCases.count), (.position, ShapeAttributes.Position.allCases.count),
        (.background, ShapeAttributes.Background.allCases.count),
    ]

    public init(side: Int, seed: UInt64 = 0) throws {
        try super.init(side: side, classCounts: AttributeClassifier.kindClasses.map(\.1), seed: seed, what: "attribute classifier")
    }

    /// Logits per attribute kind: [B, classes of that kind].
    public func logits(_ images: Tensor) throws -> [(kind: ShapeAttributes.Kind, logits: Tensor)] {
        zip(AttributeClassifier.kindClasses, try headLogits(images)).map { ($0.0, $1) }
    }

    /// The summed cross-entropy of all five heads against the true attributes.
    public func loss(_ images: Tensor, _ attributes: [ShapeAttributes]) throws -> Tensor {
        try headLoss(images, targets: AttributeClassifier.kindClasses.map { kind, _ in attributes.map { AttributeClassifier.index(of: $0, kind) } })
    }

    /// The most likely attributes of each image.
    public func predict(_ images: Tensor) throws -> [ShapeAttributes] {
        let picks = try predictedClasses(images)
        return (0..<images.shape[0]).map { i in
            ShapeAttributes(shape: ShapeAttributes.Shape.allCases[picks[0][i]], colour: ShapeAttributes.Colour.allCases[picks[1][i]],
                            size: ShapeAttributes.Size.allCases[picks[2][i]], position: ShapeAttributes.Position.allCases[picks[3][i]],
                            background: ShapeAttributes.Background.allCases[picks[4][i]])
        }
    }

    static func index(of a: ShapeAttributes, _ kind: ShapeAttributes.Kind) -> Int {
        switch kind {
        case .shape: return ShapeAttributes.Shape.allCases.firstIndex(of: a.shape)!
        case .colour: return ShapeAttributes.Colour.allCases.firstIndex(of: a.colour)!
        case .size: return ShapeAttributes.Size.allCases.firstIndex(of: a.size)!
        case .position: return ShapeAttributes.Position.allCases.firstIndex(of: a.position)!
        case .background: return ShapeAttributes.Background.allCases.firstIndex(of: a.background)!
        }
    }

    /// Where evaluation samples start: far past any index training reaches.
    public static let evaluationStart = 1 << 30

    /// A batch covering every attribute combination: 7/8 from the training split, 1/8 from the
    /// held-out split, from sample `start` on.
    static func mixedBatch(_ world: ShapesWorld, _ count: Int, start: Int) throws -> ShapesBatch {
        let heldOut = Swift.max(1, count / 8), seen = count - heldOut
        let a = try world.batch(seen, split: .train, start: start * 7 / 8), b = try world.batch(heldOut, split: .test, start: start / 8)
        return ShapesBatch(images: try Tensor.concat([a.images, b.images]), captions: a.captions + b.captions,
                           attributes: a.attributes + b.attributes)
    }

    /// Fraction of correct predictions per attribute kind on `count` samples the classifier never
    /// trained on (both splits, 7 : 1), or on one split when `split` is given.
    public func accuracy(world: ShapesWorld, count: Int, split: ShapesWorld.Split? = nil,
                         start: Int = AttributeClassifier.evaluationStart) throws -> [ShapeAttributes.Kind: Double] {
        var correct = [ShapeAttributes.Kind: Int]()
        for first in stride(from: start, to: start + count, by: 256) {
            let n = Swift.min(256, start + count - first)
            let batch = try split.map { try world.batch(n, split: $0, start: first) } ?? AttributeClassifier.mixedBatch(world, n, start: first)
            for (p, t) in zip(try predict(batch.images), batch.attributes) {
                for kind in ShapeAttributes.Kind.allCases where p.value(of: kind) == t.value(of: kind) { correct[kind, default: 0] += 1 }
            }
        }
        return Dictionary(uniqueKeysWithValues: ShapeAttributes.Kind.allCases.map { ($0, Double(correct[$0, default: 0]) / Double(count)) })
    }

    /// Trains on both splits (see the NOTE above) with AdamW; `progress(step, loss)` after every step.
    /// Returns the loss of each step.
    @discardableResult
    public func train(world: ShapesWorld, steps: Int, batchSize: Int = 64, learningRate: Float = 2e-3,
                      progress: (Int, Float) -> Void = { _, _ in }) throws -> [Float] {
        guard world.side == side else {
            throw DiffusionError.invalidArgument(name: "attribute classifier", reason: "built for side \(side), the world draws \(world.side)")
        }
        return try trainWithAdamW(steps: steps, learningRate: learningRate, loss: { step in
            let batch = try AttributeClassifier.mixedBatch(world, batchSize, start: step * batchSize)
            return try loss(batch.images, batch.attributes)
        }, progress: progress)
    }

    public static let architecture = "ShapesAttributeClassifier"

    /// Saves the weights as a Snoopi checkpoint (architecture `ShapesAttributeClassifier`).
    public func save(to path: String) throws {
        try saveWorldModel(architecture: Self.architecture, config: ["side": side], to: path)
    }

    /// Loads a classifier saved with `save(to:)`.
    public static func load(_ path: String) throws -> AttributeClassifier {
        let (tensors, config) = try loadWorldModel(path, architecture: architecture, keys: ["side"])
        let classifier = try AttributeClassifier(side: config["side"]!)
        try classifier.load(tensors)
        classifier.eval()
        return classifier
    }
}
