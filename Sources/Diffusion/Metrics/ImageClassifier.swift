import Checkpoints
import Engine
import Models

/// The small CNN the judges share — three 3×3 convolutions (two with stride 2), group norm and
/// SiLU, a Linear layer on the flattened features, and one softmax head per thing it reads — over
/// images [B, 3, side, side] in [−1, 1]. The shapes world's `AttributeClassifier` (five heads:
/// shape, colour, size, position, background) and a dataset's `LabelClassifier` (one head per
/// label column) are this network with their own heads and their own ground truth.
public class ImageClassifier: Module {
    public let side: Int
    /// The number of classes of each head, in order.
    public let classCounts: [Int]
    let conv1: Conv2d, norm1: GroupNorm, conv2: Conv2d, norm2: GroupNorm, conv3: Conv2d, norm3: GroupNorm
    let hidden: Linear, heads: Linear

    init(side: Int, classCounts: [Int], seed: UInt64, what: String) throws {
        guard side >= 8, side % 4 == 0 else {
            throw DiffusionError.invalidArgument(name: what, reason: "side must be a multiple of 4 ≥ 8, got \(side)")
        }
        guard !classCounts.isEmpty, classCounts.allSatisfy({ $0 >= 2 }) else {
            throw DiffusionError.invalidArgument(name: what, reason: "every head needs at least 2 classes, got \(classCounts)")
        }
        self.side = side
        self.classCounts = classCounts
        (conv1, norm1, conv2, norm2, conv3, norm3, hidden, heads) = try Initialization.withSeed(seed) {
            (Conv2d(3, 32, kernelSize: 3, padding: 1), try GroupNorm(groups: 8, channels: 32),
             Conv2d(32, 64, kernelSize: 3, stride: 2, padding: 1), try GroupNorm(groups: 8, channels: 64),
             Conv2d(64, 64, kernelSize: 3, stride: 2, padding: 1), try GroupNorm(groups: 8, channels: 64),
             Linear(64 * (side / 4) * (side / 4), 128), Linear(128, classCounts.reduce(0, +)))
        }
        super.init()
        for (name, m) in [("conv1", conv1), ("norm1", norm1), ("conv2", conv2), ("norm2", norm2), ("conv3", conv3),
                          ("norm3", norm3), ("hidden", hidden), ("heads", heads)] as [(String, Module)] { child(name, m) }
    }

    /// Each head's logits, [B, classCounts[h]].
    public func headLogits(_ images: Tensor) throws -> [Tensor] {
        guard images.rank == 4, images.shape[1] == 3, images.shape[2] == side, images.shape[3] == side else {
            throw DiffusionError.shapeMismatch(what: "\(typeName) input", shapes: [images.shape, [-1, 3, side, side]],
                                               reason: "images must be [B, 3, \(side), \(side)]")
        }
        var h = try norm1(conv1(images)).silu()
        h = try norm2(conv2(h)).silu()
        h = try norm3(conv3(h)).silu()
        return try heads(hidden(h.flatten(from: 1)).silu()).split(sizes: classCounts, axis: 1)
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
        let architecture = try Checkpoint.load(path, loadTraining: false).architecture
        switch architecture {
        case AttributeClassifier.architecture: return try AttributeClassifier.load(path)
        case LabelClassifier.architecture: return try LabelClassifier.load(path)
        default:
            throw DiffusionError.invalidArgument(name: path, reason: "holds a \(architecture), not a classifier (\(AttributeClassifier.architecture) or \(LabelClassifier.architecture))")
        }
    }
}
