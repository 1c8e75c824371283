import Engine
import Foundation
import Models

/// A finite dataset of captioned images held in memory: read from an h5py file or a folder of
/// PNGs (`CaptionedImageSet.load`), or built from tensors. A seeded permutation puts
/// `heldOut` of the examples aside as the test split (what generated images are measured
/// against); the training split is read in a new seeded order on every pass.
///
///     let data = try CaptionedImageSet.load("flowers.h5")          // images + captions
///     data.count(of: .train)   // 90 % of them; data.count(of: .test) the other 10 %
public final class CaptionedImageSet: ImageTextDataset {
    public let name: String
    public let side: Int
    /// Every example [N, 3, side, side] in [−1, 1], in the order given.
    public let images: Tensor
    public let captions: [String]
    /// Integer labels [N] or [N, K], when given.
    public let labels: Tensor?
    public let seed: UInt64
    /// Indices (into `images`) of the training and held-out examples.
    public let trainIndices: [Int], testIndices: [Int]
    private let trainOrder: PassShuffle, testOrder: PassShuffle?

    /// The set of `images` [N, 3, H, H] (values in [−1, 1]) with one caption each; `heldOut` (a
    /// fraction in [0, 1)) of them, chosen by `seed`, form the test split — at least one when
    /// the fraction is above 0 and there are two or more examples.
    public init(images: Tensor, captions: [String], labels: Tensor? = nil, heldOut: Double = 0.1, seed: UInt64 = 0,
                name: String = "the dataset") throws {
        func bad(_ reason: String) -> DiffusionError { .invalidArgument(name: name, reason: reason) }
        guard images.rank == 4, images.shape[1] == 3 else {
            throw bad("images must be [N, 3, H, W] (RGB; grey images are repeated to RGB when read), got \(images.shape)")
        }
        let n = images.shape[0]
        guard n >= 1 else { throw bad("holds no images") }
        guard images.shape[2] == images.shape[3] else {
            throw bad("images must be square (the models draw side × side pictures), got \(images.shape[2])×\(images.shape[3])")
        }
        guard captions.count == n else { throw bad("has \(n) images but \(captions.count) captions (one caption per image)") }
        if let labels, labels.rank == 0 || labels.shape[0] != n {
            throw bad("has \(n) images but labels of shape \(labels.shape) (one row per image)")
        }
        guard heldOut >= 0, heldOut < 1, heldOut.isFinite else { throw bad("the held-out fraction must be in [0, 1), got \(heldOut)") }
        guard images.scalars.allSatisfy({ $0.isFinite && $0 >= -1.0001 && $0 <= 1.0001 }) else {
            throw bad("image values must be finite and in [−1, 1]")
        }
        self.name = name
        self.side = images.shape[2]
        self.images = images
        self.captions = captions
        self.labels = labels
        self.seed = seed
        let order = RandomGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x5EED).permutation(n)
        let testCount = heldOut == 0 || n < 2 ? 0 : Swift.min(n - 1, Swift.max(1, Int((Double(n) * heldOut).rounded())))
        testIndices = Array(order.prefix(testCount)).sorted()
        trainIndices = Array(order.dropFirst(testCount)).sorted()
        trainOrder = PassShuffle(seed: seed, stream: 1, count: Swift.max(1, trainIndices.count))
        testOrder = testCount > 0 ? PassShuffle(seed: seed, stream: 2, count: testCount) : nil
    }

    public func count(of split: DataSplit) -> Int? { indices(split).count }

    /// The indices (into `images`) of `split`'s examples, in file order.
    public func indices(_ split: DataSplit) -> [Int] { split == .train ? trainIndices : testIndices }

    /// The example (index into `images`) at position `index` of `split`'s endless order: pass
    /// p = index / count reads the split in its own seeded shuffle.
    public func example(_ index: Int, split: DataSplit) throws -> Int {
        let pool = indices(split)
        guard !pool.isEmpty else {
            throw DiffusionError.invalidArgument(name: name, reason: "has no \(split == .train ? "training" : "held-out") examples (held-out fraction \(split == .train ? "too large" : "0"))")
        }
        guard index >= 0 else { throw DiffusionError.invalidArgument(name: name, reason: "example index must be ≥ 0, got \(index)") }
        return pool[(split == .train ? trainOrder : testOrder!).item(at: index)]
    }

    public func caption(_ index: Int, split: DataSplit) throws -> String { captions[try example(index, split: split)] }

    public func examples(_ count: Int, split: DataSplit, start: Int) throws -> CaptionedImages {
        guard count >= 1 else { throw DiffusionError.invalidArgument(name: name, reason: "batch size must be ≥ 1, got \(count)") }
        return try take((start..<(start + count)).map { try example($0, split: split) })
    }

    /// The first `count` held-out examples, in file order (whatever `split` is: a finite set's
    /// training images are seen in training, so only the held-out ones measure a model).
    public func evaluationImages(_ count: Int, split: DataSplit) throws -> CaptionedImages {
        guard count >= 1, count <= testIndices.count else {
            throw DiffusionError.invalidArgument(name: name, reason: "an evaluation of \(count) images needs that many held-out examples; it holds \(testIndices.count) (raise the held-out fraction or lower the evaluation count)")
        }
        return try take(Array(testIndices.prefix(count)))
    }

    /// The examples at `rows` of `images`, with their captions and labels.
    public func take(_ rows: [Int]) throws -> CaptionedImages {
        CaptionedImages(images: try images.indexSelect(axis: 0, indices: rows), captions: rows.map { captions[$0] },
                        labels: try labels.map { try $0.indexSelect(axis: 0, indices: rows) })
    }

    /// The captions' words, in order of first appearance.
    public var vocabulary: [String] {
        var seen = Set<String>(), words: [String] = []
        for caption in captions { for w in WordTokenizer.split(caption) where seen.insert(w).inserted { words.append(w) } }
        return words
    }

    /// The longest caption in words (a word-level text encoder needs this many + 2 positions).
    public var longestCaption: Int { captions.map { WordTokenizer.split($0).count }.max() ?? 0 }
}
