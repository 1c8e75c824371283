import Engine

/// Measures generated images of the shapes world against real ones, as the paper measures its
/// models on COCO: N held-out real images and their captions; the model draws one image per
/// caption; Fréchet distance and precision/recall (k = 3) compare the two sets in the
/// contrastive encoder's image-feature space; the CLIP score compares each image with its caption.
///
/// The real images come from the training split at indices far beyond any training run's
/// (`realStart`), so they are unseen images of the training distribution.
public final class SampleEvaluator {
    public let encoder: ShapesCLIP
    /// The real images' captions: generate one image for each, in order.
    public let captions: [String]
    /// Features [N, 128] of the real images.
    public let realFeatures: Tensor
    /// The first index of the real images in the world's training split.
    public static let realStart = 1 << 30

    /// Draws `count` real images of `world` and encodes them.
    public init(encoder: ShapesCLIP, world: ShapesWorld, count: Int) throws {
        guard count >= 8 else { throw DiffusionError.invalidArgument(name: "evaluation count", reason: "needs at least 8 images, got \(count)") }
        guard world.side == encoder.side else {
            throw DiffusionError.invalidArgument(name: "evaluation", reason: "the encoder sees side \(encoder.side), the world draws \(world.side)")
        }
        self.encoder = encoder
        let real = try world.batch(count, split: .train, start: Self.realStart)
        captions = real.captions
        realFeatures = try Self.features(encoder, real.images)
    }

    /// Image features in batches of 256, without gradient.
    public static func features(_ encoder: ShapesCLIP, _ images: Tensor) throws -> Tensor {
        try noGrad {
            let n = images.shape[0]
            let parts = try stride(from: 0, to: n, by: 256).map { start in
                try encoder.imageFeatures(images.slice(axis: 0, start: start, end: Swift.min(n, start + 256)))
            }
            return try Tensor.concat(parts)
        }
    }

    /// FD, CLIP score, precision and recall of `images` [N, 3, side, side] generated for `captions`
    /// (in order; `prompts` overrides the captions for the CLIP score).
    public func evaluate(_ images: Tensor, prompts: [String]? = nil) throws -> [String: Double] {
        guard images.rank == 4, images.shape[0] == captions.count else {
            throw DiffusionError.shapeMismatch(what: "SampleEvaluator", shapes: [images.shape],
                                               reason: "needs one image per evaluation caption (\(captions.count))")
        }
        let fake = try Self.features(encoder, images)
        let (precision, recall) = try precisionRecall(real: realFeatures, fake: fake, k: 3)
        let texts = prompts ?? captions
        let score = try noGrad {
            try clipScore(imageFeatures: encoder.encodeImage(images), textFeatures: encoder.encodeText(texts))
        }
        return ["fd": try frechetDistance(realFeatures, fake), "clip_score": score, "precision": precision, "recall": recall]
    }
}
