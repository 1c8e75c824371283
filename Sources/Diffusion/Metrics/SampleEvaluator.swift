import Engine

/// Measures generated images against real ones of a dataset (the shapes world's, or one's own), as the paper measures its
/// models on COCO: N held-out real images and their captions; the model draws one image per
/// caption; Fréchet distance and precision/recall (k = 3) compare the two sets in the
/// contrastive encoder's image-feature space; the CLIP score compares each image with its caption;
/// the mean |Laplacian| (`hf`) measures per-pixel static; with an attribute classifier (`judge`),
/// prompt accuracy checks that each image shows what its caption names; on a dataset with labels,
/// a `LabelClassifier` (`labelJudge`) reads label accuracy: each image should show the labels of
/// the dataset's images with its caption.
///
/// The real images are the dataset's `evaluationImages`: in the shapes world the training split at
/// indices far beyond any training run's (`realStart`), in a finite set its held-out examples.
///
/// FD and precision/recall are measured in `featureSpace`: the encoder's image features unless
/// another space is given — e.g. `CLIPImageFeatures`, a real CLIP image tower. The CLIP score is
/// measured by `clipScorer` when one is given (a real CLIP: a `CLIPModel` and its tokenizer), else
/// in the encoder (`ShapesCLIP`).
public final class SampleEvaluator {
    public let encoder: ShapesCLIP
    /// Where FD and precision/recall are measured (`encoder` unless another was given).
    public let featureSpace: any ImageFeatureSpace
    /// What measures the CLIP score (nil: the encoder, ShapesCLIP).
    public let clipScorer: CLIPScorer?
    /// The real images' captions: generate one image for each, in order.
    public let captions: [String]
    /// The real images [N, 3, side, side] (captioned by `captions`) and their features [N, D] in
    /// `featureSpace` (D = 128 in the encoder's).
    public let realImages: Tensor
    public let realFeatures: Tensor
    /// The first index of the real images in the world's training split.
    public static let realStart = 1 << 30
    /// The attribute classifier that reads prompt accuracy (nil: not measured).
    public let judge: AttributeClassifier?
    /// The label classifier that reads label accuracy on a labelled dataset (nil: not measured),
    /// and the labels each caption stands for.
    public let labelJudge: LabelClassifier?
    let captionLabels: [String: [Int]]
    /// Mean |Laplacian| of the real images (the level `hf` of generated images is compared with).
    public let realHighFrequency: Double

    /// Takes `count` real evaluation images of `data` (the same ones every time, never trained on)
    /// and encodes them. `split: .test` takes the held-out split instead (in the shapes world: the
    /// held-out shape–colour pairs and template, for compositional prompt accuracy). `features`:
    /// the space FD and precision/recall are measured in (nil: the encoder's image features);
    /// `clipScorer`: a real CLIP that measures the CLIP score (nil: the encoder).
    public init(encoder: ShapesCLIP, data: any ImageTextDataset, count: Int, judge: AttributeClassifier? = nil,
                labelJudge: LabelClassifier? = nil, split: DataSplit = .train, features: (any ImageFeatureSpace)? = nil,
                clipScorer: CLIPScorer? = nil) throws {
        guard count >= 8 else { throw DiffusionError.invalidArgument(name: "evaluation count", reason: "needs at least 8 images, got \(count)") }
        guard data.side == encoder.side else {
            throw DiffusionError.invalidArgument(name: "evaluation", reason: "the encoder sees side \(encoder.side), \(data.name) holds side \(data.side)")
        }
        if let judge, judge.side != data.side {
            throw DiffusionError.invalidArgument(name: "evaluation", reason: "the attribute classifier reads side \(judge.side), \(data.name) holds side \(data.side)")
        }
        if let labelJudge {
            guard let set = data as? CaptionedImageSet, let rows = set.labelRows else {
                throw DiffusionError.invalidArgument(name: "evaluation", reason: "a label classifier needs a dataset with labels; \(data.name) has none")
            }
            guard labelJudge.side == data.side, rows[0].count == labelJudge.columns else {
                throw DiffusionError.invalidArgument(name: "evaluation", reason: "the label classifier reads \(labelJudge.columns) label column(s) of \(labelJudge.side)×\(labelJudge.side) images, \(data.name) has \(rows[0].count) of \(data.side)×\(data.side)")
            }
            captionLabels = set.labelsByCaption
        } else {
            captionLabels = [:]
        }
        self.labelJudge = labelJudge
        self.encoder = encoder
        featureSpace = features ?? encoder
        self.clipScorer = clipScorer
        // The judge reads the shapes world's attributes from its caption grammar: other data has none.
        self.judge = data is ShapesWorld ? judge : nil
        let real = try data.evaluationImages(count, split: split)
        captions = real.captions
        realImages = real.images
        realFeatures = try Self.features(in: featureSpace, real.images)
        realHighFrequency = try meanAbsoluteLaplacian(real.images)
    }

    /// An evaluator in `teacher`'s encoder's feature space (or `features`), judged by `judge` or,
    /// when nil, by the shipped classifier beside the teacher's encoder (none when there is no such file).
    public convenience init(teacher: WorldTeacher, data: any ImageTextDataset, count: Int, judge: AttributeClassifier? = nil,
                            labelJudge: LabelClassifier? = nil, split: DataSplit = .train, features: (any ImageFeatureSpace)? = nil,
                            clipScorer: CLIPScorer? = nil) throws {
        let shipped = judge == nil && data is ShapesWorld ? try AttributeClassifier.beside(teacher.encoderPath, side: teacher.side) : nil
        try self.init(encoder: teacher.encoder, data: data, count: count, judge: judge ?? shipped, labelJudge: labelJudge, split: split,
                      features: features, clipScorer: clipScorer)
    }

    /// Image features of `space` in batches of 256 (a space may split them further), without gradient.
    public static func features(in space: any ImageFeatureSpace, _ images: Tensor) throws -> Tensor {
        try noGrad {
            let n = images.shape[0]
            let parts = try stride(from: 0, to: n, by: 256).map { start in
                try space.imageFeatures(images.slice(axis: 0, start: start, end: Swift.min(n, start + 256)))
            }
            return try Tensor.concat(parts)
        }
    }

    /// FD, CLIP score, precision, recall and mean |Laplacian| (`hf`) of `images` [N, 3, side, side]
    /// generated for `captions` (in order; `prompts` overrides the captions for the CLIP score and
    /// prompt accuracy). FD and precision/recall are in `featureSpace`, the CLIP score by
    /// `clipScorer` (a real CLIP) or else in the encoder's (ShapesCLIP's text and image towers).
    /// With a judge prompt accuracy (`prompt_acc`, `acc_shape`, …), with a label judge label
    /// accuracy (`label_acc`, …; prompts whose caption has no labels are left out).
    public func evaluate(_ images: Tensor, prompts: [String]? = nil) throws -> [String: Double] {
        guard images.rank == 4, images.shape[0] == captions.count else {
            throw DiffusionError.shapeMismatch(what: "SampleEvaluator", shapes: [images.shape],
                                               reason: "needs one image per evaluation caption (\(captions.count))")
        }
        let fake = try Self.features(in: featureSpace, images)
        let (precision, recall) = try precisionRecall(real: realFeatures, fake: fake, k: 3)
        let texts = prompts ?? captions
        let score = try noGrad {
            if let clipScorer {
                // The same model's image_embeds when FD is measured in them too.
                return try clipScorer.score(images, prompts: texts, imageFeatures: featureSpace === clipScorer.imageSpace ? fake : nil)
            }
            return try clipScore(imageFeatures: encoder.encodeImage(images), textFeatures: encoder.encodeText(texts))
        }
        var metrics = ["fd": try frechetDistance(realFeatures, fake), "clip_score": score, "precision": precision, "recall": recall,
                       "hf": try meanAbsoluteLaplacian(images)]
        if let judge { metrics.merge(try judge.promptAccuracy(images, prompts: texts).metrics) { $1 } }
        if let labelJudge { metrics.merge(try labelJudge.accuracy(images, expected: texts.map { captionLabels[$0] }).metrics) { $1 } }
        return metrics
    }
}
