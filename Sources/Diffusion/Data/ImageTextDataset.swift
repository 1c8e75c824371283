import Engine

/// The two parts of a dataset: what trains, and what is held out for measuring.
public enum DataSplit: String, Sendable, CaseIterable {
    case train, test
}

/// A batch of captioned images.
public struct CaptionedImages {
    /// [B, 3, side, side] in [−1, 1].
    public let images: Tensor
    public let captions: [String]
    /// Integer labels [B] (or [B, K]) when the dataset has them.
    public let labels: Tensor?

    public init(images: Tensor, captions: [String], labels: Tensor? = nil) {
        self.images = images
        self.captions = captions
        self.labels = labels
    }
}

/// Where the captions a model trains or distils on come from: a finite or endless sequence per
/// split, each index one fixed caption (so a resumed run reads the same ones). VSD needs only
/// this — prompts and the teacher's text encoder — so a plain prompt list (`PromptList`) can
/// drive a distillation; everything that also needs images is an `ImageTextDataset`.
public protocol PromptSource: AnyObject {
    /// What the source is called in messages (a file, "shapes world 16 px", "12 prompts").
    var name: String { get }
    /// The examples in `split` (nil: unlimited).
    func count(of split: DataSplit) -> Int?
    /// The caption of example `index` of `split` (indices past a finite split's end go round
    /// again in a new shuffled order, one per pass).
    func caption(_ index: Int, split: DataSplit) throws -> String
}

/// Images with captions, split into a training and a held-out part, each read in a seeded order:
/// what teachers train on, what the one-step students' prompts come from, and what their samples
/// are measured against. The shapes world is one (unlimited, generated); `CaptionedImageSet` is
/// another (finite: an h5py file, a PNG folder, tensors built in the language).
///
/// Every image is square, 3 channels (grey data is read as RGB), values in [−1, 1]. Index `i` of a
/// split is one fixed example for a given dataset and seed: reading the same indices again gives
/// the same images, which is what exact resume of a training run rests on.
public protocol ImageTextDataset: PromptSource {
    /// The images' height and width in pixels.
    var side: Int { get }
    /// Examples `start ..< start + count` of `split`.
    func examples(_ count: Int, split: DataSplit, start: Int) throws -> CaptionedImages
    /// `count` real images, with captions, that no training step sees: what generated images are
    /// measured against (FD, precision/recall), the same ones every time.
    func evaluationImages(_ count: Int, split: DataSplit) throws -> CaptionedImages
    /// The words of its captions (the vocabulary of a word-level text encoder trained on it).
    var vocabulary: [String] { get }
    /// Its longest caption in words (a word-level text encoder needs this many + 2 positions).
    var longestCaption: Int { get }
}

extension PromptSource {
    /// Captions `start ..< start + count` of `split`.
    public func captions(_ count: Int, split: DataSplit, start: Int) throws -> [String] {
        try (start..<(start + count)).map { try caption($0, split: split) }
    }
}

/// The endless order a finite pool of `count` items is read in: pass p = index / count visits every
/// item once, in a permutation seeded by (seed, stream, p). The last pass's permutation is kept, so
/// reading a batch costs one shuffle per pass.
final class PassShuffle {
    let seed: UInt64, stream: UInt64, count: Int
    private var cache: (pass: Int, order: [Int])?

    init(seed: UInt64, stream: UInt64 = 0, count: Int) {
        (self.seed, self.stream, self.count) = (seed, stream, count)
    }

    /// The item (0 ..< count) at position `index` ≥ 0 of the endless order.
    func item(at index: Int) -> Int {
        let pass = index / count
        if cache?.pass != pass {
            cache = (pass, RandomGenerator(seed: seed &+ UInt64(pass) &* 0xD1B5_4A32_D192_ED03 &+ stream).permutation(count))
        }
        return cache!.order[index % count]
    }
}

/// A list of prompts and nothing else: what `distill(prompts: [...])` reads. Both splits are the
/// whole list; each pass over it is in its own seeded order.
public final class PromptList: PromptSource {
    public let prompts: [String]
    public let seed: UInt64
    private let order: PassShuffle

    public init(_ prompts: [String], seed: UInt64 = 0) throws {
        guard !prompts.isEmpty else { throw DiffusionError.invalidArgument(name: "prompt list", reason: "is empty") }
        self.prompts = prompts
        self.seed = seed
        order = PassShuffle(seed: seed, count: prompts.count)
    }

    public var name: String { "a list of \(prompts.count) prompt\(prompts.count == 1 ? "" : "s")" }
    public func count(of split: DataSplit) -> Int? { prompts.count }

    public func caption(_ index: Int, split: DataSplit) throws -> String {
        guard index >= 0 else { throw DiffusionError.invalidArgument(name: name, reason: "prompt index must be ≥ 0, got \(index)") }
        return prompts[order.item(at: index)]
    }
}

extension ImageTextDataset {
    /// Checks that a model built for `side`-pixel images can read this dataset.
    public func requireSide(_ side: Int, for what: String) throws {
        guard side == self.side else {
            throw DiffusionError.invalidArgument(name: what, reason: "is built for \(side)×\(side) images, \(name) holds \(self.side)×\(self.side)")
        }
    }
}

extension ShapesWorld: ImageTextDataset {
    public var name: String { "the shapes world (\(side) px, seed \(seed))" }

    public func count(of split: DataSplit) -> Int? { nil }

    public func caption(_ index: Int, split: DataSplit) throws -> String { draw(index, split: split).caption }

    public func examples(_ count: Int, split: DataSplit, start: Int) throws -> CaptionedImages {
        let b: ShapesBatch = try batch(count, split: split, start: start)
        return CaptionedImages(images: b.images, captions: b.captions)
    }

    /// Images of the split from index 2³⁰ on: unseen images of the same distribution (a training
    /// run would need a billion images to reach them).
    public func evaluationImages(_ count: Int, split: DataSplit) throws -> CaptionedImages {
        try examples(count, split: split, start: SampleEvaluator.realStart)
    }

    public var vocabulary: [String] { CaptionGrammar.vocabulary }

    public var longestCaption: Int { CaptionGrammar.tokenizer.maxLength - 2 }
}
