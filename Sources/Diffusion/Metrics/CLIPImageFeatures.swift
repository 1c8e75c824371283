import Checkpoints
import Engine
import Foundation
import Models

/// The image features of a real CLIP image tower (transformers' `CLIPVisionModelWithProjection`:
/// `image_embeds`, `CLIPVisionModel`: `pooler_output`, or a whole `CLIPModel`: its
/// `image_embeds`, `get_image_features`, not normalised), with CLIP's preprocessing done in the
/// engine, so that FD and precision/recall can be measured in the space FID-style metrics of
/// text-to-image models use (FD_CLIP) instead of the shapes world's small encoder.
///
/// Preprocessing of images [N, C, H, W] in [−1, 1]:
/// 1. to [0, 1]: (x + 1) / 2;
/// 2. channels: a grey tower (num_channels 1) takes the mean of R, G and B; one-channel images
///    fed to an RGB tower are repeated to three channels; other counts are an error;
/// 3. resized to the tower's image_size × image_size by bicubic interpolation, exactly as
///    `torch.nn.functional.interpolate(mode="bicubic", align_corners=False)` (`resizeBicubic`;
///    no antialiasing, no crop: a non-square image is stretched; values are not clamped);
/// 4. normalised per channel, (x − mean) / std: by default OpenAI CLIP's image_mean / image_std
///    (`CLIPImageProcessor`'s), for a grey tower the mean of those three values.
///
/// Unlike `CLIPImageProcessor` there is no uint8 rounding and no PIL (antialiased) resize: the
/// features match transformers given the same bicubic-resized, normalised `pixel_values`.
/// Features are computed without gradient, at most 64 images per forward pass.
public final class CLIPImageFeatures: ImageFeatureSpace {
    /// OpenAI CLIP's per-channel normalisation (`CLIPImageProcessor` defaults).
    public static let openAIMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let openAIStd: [Float] = [0.26862954, 0.26130258, 0.27577711]
    /// The most images one forward pass of the tower sees.
    public static let batchSize = 64
    /// The architectures this wraps.
    public static let architectures = [CLIPVisionModelWithProjection.architecture, CLIPVisionModel.architecture, CLIPModel.architecture]

    enum Tower {
        case projected(CLIPVisionModelWithProjection)
        case pooled(CLIPVisionModel)
        case joint(CLIPModel)
    }

    let tower: Tower
    /// The tower's input side, its channel count (1 or more) and its feature dimension D.
    public let imageSize: Int, channels: Int, dimension: Int
    /// The per-channel normalisation, one value per tower channel.
    public let mean: [Float], std: [Float]
    public let featureSpaceName: String

    /// Features = `image_embeds` [N, projection_dim]. `source` (e.g. the checkpoint's path) is
    /// named in `featureSpaceName`.
    public convenience init(_ model: CLIPVisionModelWithProjection, mean: [Float]? = nil, std: [Float]? = nil, source: String? = nil) throws {
        try self.init(.projected(model), vision: model.visionModel, dimension: model.projectionDim,
                      architecture: CLIPVisionModelWithProjection.architecture, mean: mean, std: std, source: source)
    }

    /// Features = `pooler_output` [N, hidden_size].
    public convenience init(_ model: CLIPVisionModel, mean: [Float]? = nil, std: [Float]? = nil, source: String? = nil) throws {
        try self.init(.pooled(model), vision: model, dimension: model.hiddenSize,
                      architecture: CLIPVisionModel.architecture, mean: mean, std: std, source: source)
    }

    /// Features = a CLIPModel's `image_embeds` [N, projection_dim] (its image tower projected into
    /// the space its text is projected into; `CLIPScorer` measures the CLIP score there).
    public convenience init(_ model: CLIPModel, mean: [Float]? = nil, std: [Float]? = nil, source: String? = nil) throws {
        try self.init(.joint(model), vision: model.visionModel, dimension: model.projectionDim,
                      architecture: CLIPModel.architecture, mean: mean, std: std, source: source)
    }

    /// A loaded CLIP image tower (or CLIPModel); any other architecture is an error naming it.
    public convenience init(_ loaded: LoadedModel, mean: [Float]? = nil, std: [Float]? = nil, source: String? = nil) throws {
        switch loaded {
        case .clipVisionWithProjection(let m): try self.init(m, mean: mean, std: std, source: source)
        case .clipVision(let m): try self.init(m, mean: mean, std: std, source: source)
        case .clip(let m): try self.init(m, mean: mean, std: std, source: source)
        default: throw Self.notATower(loaded.architecture, source: source)
        }
    }

    private init(_ tower: Tower, vision: CLIPVisionModel, dimension: Int, architecture: String, mean: [Float]?, std: [Float]?, source: String?) throws {
        self.tower = tower
        imageSize = vision.imageSize
        channels = vision.numChannels
        self.dimension = dimension
        self.mean = try Self.perChannel(mean, Self.openAIMean, "image_mean", channels: vision.numChannels)
        self.std = try Self.perChannel(std, Self.openAIStd, "image_std", channels: vision.numChannels)
        guard self.std.allSatisfy({ $0 > 0 }) else {
            throw DiffusionError.invalidArgument(name: "CLIPImageFeatures image_std", reason: "values must be positive, got \(self.std)")
        }
        featureSpaceName = source.map { "\(architecture) (\($0))" } ?? architecture
    }

    /// One value per tower channel: the given ones (one value stands for every channel) or
    /// OpenAI's (their mean for a tower that is not RGB).
    private static func perChannel(_ given: [Float]?, _ openAI: [Float], _ name: String, channels: Int) throws -> [Float] {
        guard let given else {
            if channels == 3 { return openAI }
            return [Float](repeating: openAI.reduce(0, +) / 3, count: channels)
        }
        guard given.count == channels || given.count == 1 else {
            throw DiffusionError.invalidArgument(name: "CLIPImageFeatures \(name)",
                                                 reason: "needs one value or one per channel of the tower (\(channels)), got \(given.count)")
        }
        guard given.allSatisfy(\.isFinite) else {
            throw DiffusionError.invalidArgument(name: "CLIPImageFeatures \(name)", reason: "values must be finite, got \(given)")
        }
        return given.count == channels ? given : [Float](repeating: given[0], count: channels)
    }

    /// Reads a Snoopi checkpoint of a CLIP image tower (from `snp convert` of a transformers
    /// folder). A checkpoint of any other architecture is an error naming it, before anything
    /// is built.
    public static func load(path: String, mean: [Float]? = nil, std: [Float]? = nil) throws -> CLIPImageFeatures {
        let checkpoint = try Checkpoint.load(path, loadTraining: false)
        guard architectures.contains(checkpoint.architecture) else { throw notATower(checkpoint.architecture, source: path) }
        return try CLIPImageFeatures(LoadedModel.load(checkpoint), mean: mean, std: std, source: path)
    }

    static func notATower(_ architecture: String, source: String?) -> DiffusionError {
        .invalidArgument(name: source ?? "CLIPImageFeatures",
                         reason: (architecture.isEmpty ? "names no architecture, so it is" : "holds a \(architecture),") + " not a CLIP image tower "
                             + "(\(architectures.joined(separator: ", ").replacingOccurrences(of: ", CLIPModel", with: " or CLIPModel"))); "
                             + "convert a transformers CLIP vision (or CLIPModel) folder with `snp convert FOLDER OUT.h5`")
    }

    /// CLIP's preprocessing (see the type's documentation): images [N, C, H, W] in [−1, 1] →
    /// pixel_values [N, channels, image_size, image_size].
    public func pixelValues(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[0] >= 1, images.shape[1] == channels || images.shape[1] == 3 || images.shape[1] == 1 else {
            throw DiffusionError.shapeMismatch(what: "CLIPImageFeatures image input", shapes: [images.shape],
                                               reason: "images must be [N ≥ 1, C, H, W] with C = 1 or 3 (or the tower's \(channels))")
        }
        var x = (images + 1) * 0.5
        if channels == 1 && images.shape[1] != 1 { x = try x.mean(axis: 1, keepDims: true) }
        guard x.shape[1] == channels || x.shape[1] == 1 else {
            throw DiffusionError.shapeMismatch(what: "CLIPImageFeatures image input", shapes: [images.shape],
                                               reason: "a \(channels)-channel tower cannot read \(images.shape[1])-channel images")
        }
        x = try x.resizeBicubic(height: imageSize, width: imageSize)
        // A one-channel image broadcasts against the per-channel constants to every channel.
        let shape = [1, channels, 1, 1]
        return try (x - Tensor(mean, shape: shape)) / Tensor(std, shape: shape)
    }

    /// Features [N, D] of images [N, C, H, W] in [−1, 1]: `image_embeds` or `pooler_output` of
    /// the preprocessed images, at most 64 per pass, without gradient.
    public func imageFeatures(_ images: Tensor) throws -> Tensor {
        try noGrad {
            let n = images.rank == 4 ? images.shape[0] : 0
            guard n >= 1 else { return try tower(pixelValues(images)) }  // throws the shape error
            let parts = try stride(from: 0, to: n, by: Self.batchSize).map { start in
                try tower(pixelValues(images.slice(axis: 0, start: start, end: Swift.min(n, start + Self.batchSize))))
            }
            return parts.count == 1 ? parts[0] : try Tensor.concat(parts)
        }
    }

    private func tower(_ pixelValues: Tensor) throws -> Tensor {
        switch tower {
        case .projected(let m): return try m(pixelValues).imageEmbeds
        case .pooled(let m): return try m(pixelValues).pooled
        case .joint(let m): return try m.imageFeatures(pixelValues)
        }
    }
}
