import Checkpoints
import Engine
import Models

/// The judges: the shapes world's `SmallImageTrunk` and one softmax head per thing it reads,
/// over images [B, 3, side, side] in [−1, 1]. The shapes world's `AttributeClassifier` (five
/// heads: shape, colour, size, position, background) and a dataset's `LabelClassifier` (one head
/// per label column) are this network with their own heads and their own ground truth.
public class ImageClassifier: Module {
    public let side: Int
    /// The number of classes of each head, in order.
    public let classCounts: [Int]
    let trunk: SmallImageTrunk, heads: Linear

    init(side: Int, classCounts: [Int], seed: UInt64, what: String) throws {
        try SmallImageTrunk.checkSide(side, what: what)
        guard !classCounts.isEmpty, classCounts.allSatisfy({ $0 >= 2 }) else {
            throw DiffusionError.invalidArgument(name: what, reason: "every head needs at least 2 classes, got \(classCounts)")
        }
        self.side = side
        self.classCounts = classCounts
        (trunk, heads) = try Initialization.withSeed(seed) {
            (try SmallImageTrunk(side: side, what: what), Linear(SmallImageTrunk.features, classCounts.reduce(0, +)))
        }
        super.init()
        trunk.register(on: self, hiddenName: "hidden")
        child("heads", heads)
    }

    /// Each head's logits, [B, classCounts[h]].
    public func headLogits(_ images: Tensor) throws -> [Tensor] {
        try heads(trunk(images, what: typeName)).split(sizes: classCounts, axis: 1)
    }

    /// The summed cross-entropy of every head against `targets[h][i]`, the class of image i for head h.
    func headLoss(_ images: Tensor, targets: [[Int]]) throws -> Tensor {
        var total: Tensor?
        for (logits, t) in zip(try headLogits(images), targets) {
            let ce = try Tensor.crossEntropy(logits, targets: t)
            total = try total.map { try $0 + ce } ?? ce
        }
        return total!
    }

    /// The most likely class of every head for each image, [head][image], without gradient, 256
    /// images at a time.
    public func predictedClasses(_ images: Tensor) throws -> [[Int]] {
        let n = images.shape[0]
        var picks = [[Int]](repeating: [], count: classCounts.count)
        for start in stride(from: 0, to: n, by: 256) {
            let logits = try noGrad { try headLogits(images.slice(axis: 0, start: start, end: Swift.min(n, start + 256))) }
            for (h, l) in logits.enumerated() { picks[h] += try l.argmax(axis: 1).scalars.map { Int($0) } }
        }
        return picks
    }
}

extension ImageClassifier {
    /// The judge saved at `path`: the shapes world's `AttributeClassifier` or a dataset's
    /// `LabelClassifier`, by the checkpoint's architecture.
    public static func load(judge path: String) throws -> ImageClassifier {
        let architecture = try Checkpoint.architecture(at: path)
        switch architecture {
        case AttributeClassifier.architecture: return try AttributeClassifier.load(path)
        case LabelClassifier.architecture: return try LabelClassifier.load(path)
        default:
            throw DiffusionError.invalidArgument(name: path, reason: "holds a \(architecture), not a classifier (\(AttributeClassifier.architecture) or \(LabelClassifier.architecture))")
        }
    }
}
