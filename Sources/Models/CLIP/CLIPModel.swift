import Engine

/// transformers `CLIPTextModelWithProjection`: `CLIPTextModel` under `text_model.` and
/// `text_projection` (Linear D → projection_dim, no bias) applied to its pooled output, giving
/// `text_embeds` [B, projection_dim] (the text side of CLIP's joint embedding space).
public final class CLIPTextModelWithProjection: Module {
    public static let architecture = "CLIPTextModelWithProjection"
    public let config: ModelConfig
    public let projectionDim: Int
    public let textModel: CLIPTextModel
    let textProjection: Linear

    /// Builds the text tower and the projection from a CLIPTextConfig (projection_dim default 512).
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        projectionDim = try config.int("projection_dim", 512)
        guard projectionDim >= 1 else { throw config.fail("projection_dim must be at least 1, got \(projectionDim)") }
        textModel = try CLIPTextModel(config: config, seed: seed)
        let (d, e) = (textModel.hiddenSize, projectionDim)
        textProjection = Initialization.withSeed(seed &+ 1) { Linear(d, e, bias: false) }
        self.config = config
        super.init()
        // transformers keeps the `text_model.` prefix for this class in every version.
        child("text_model", textModel)
        child("text_projection", textProjection)
    }

    public override var typeName: String { Self.architecture }

    /// A checkpoint name in this model's naming; nil for the `position_ids` buffer old checkpoints carry.
    public static func canonicalName(_ name: String) -> String? {
        name == "text_model.embeddings.position_ids" ? nil : name
    }

    /// input_ids [B, L] → (last_hidden_state [B, L, D], pooler_output [B, D], text_embeds [B, projection_dim]).
    public func callAsFunction(_ inputIDs: Tensor) throws -> (lastHiddenState: Tensor, pooled: Tensor, textEmbeds: Tensor) {
        let (last, pooled) = try textModel(inputIDs)
        return (last, pooled, try textProjection(pooled))
    }
}

/// transformers `CLIPModel`: the text tower (`text_model.*`, a `CLIPTextModel`) and the image
/// tower (`vision_model.*`, a `CLIPVisionModel`), each projected without bias into one joint
/// space of `projection_dim` (`text_projection.weight`, `visual_projection.weight`), and the
/// learned temperature `logit_scale` (a 0-d tensor, the log of the logits' scale).
///
/// The config holds `text_config` and `vision_config` (a CLIPTextConfig and a CLIPVisionConfig,
/// transformers' defaults for missing keys), `projection_dim` (512) and
/// `logit_scale_init_value` (2.6592, the fresh `logit_scale`).
public final class CLIPModel: Module {
    public static let architecture = "CLIPModel"
    public let config: ModelConfig
    public let projectionDim: Int
    public let textModel: CLIPTextModel
    public let visionModel: CLIPVisionModel
    let textProjection: Linear, visualProjection: Linear
    /// log of the scale of the logits (0-d).
    public let logitScale: Tensor

    static let knownKeys: Set<String> = transformersCommonKeys.union([
        "text_config", "vision_config", "projection_dim", "logit_scale_init_value", "initializer_factor", "initializer_range",
        // transformers 4 wrote these too (null, or copies of text_config / vision_config)
        "text_config_dict", "vision_config_dict", "pad_token_id", "bos_token_id", "eos_token_id",
    ])

    /// Builds both towers, the projections and `logit_scale` from a CLIPConfig.
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        func sub(_ key: String) throws -> ModelConfig {
            guard !c.isNull(key) else { return ModelConfig(architecture: "\(Self.architecture) \(key)", values: [:]) }
            guard let dict = c.values[key] as? [String: Any] else { throw c.fail("\(key) must be a JSON object (a transformers sub-config)") }
            return ModelConfig(architecture: "\(Self.architecture) \(key)", values: dict)
        }
        projectionDim = try c.int("projection_dim", 512)
        guard projectionDim >= 1 else { throw c.fail("projection_dim must be at least 1, got \(projectionDim)") }
        let (textConfig, visionConfig) = (try sub("text_config"), try sub("vision_config"))
        textModel = try CLIPTextModel(config: textConfig, seed: seed)
        visionModel = try CLIPVisionModel(config: visionConfig, seed: seed &+ 1)
        let scale = try c.float("logit_scale_init_value", 2.6592)
        let (e, dt, dv) = (projectionDim, textModel.hiddenSize, visionModel.hiddenSize)
        (visualProjection, textProjection) = Initialization.withSeed(seed &+ 2) { (Linear(dv, e, bias: false), Linear(dt, e, bias: false)) }
        logitScale = Tensor(scalar: scale)
        self.config = c
        super.init()
        // transformers' state_dict order: logit_scale, text_model, vision_model, visual_projection, text_projection.
        parameter("logit_scale", logitScale)
        child("text_model", textModel)
        child("vision_model", visionModel)
        child("visual_projection", visualProjection)
        child("text_projection", textProjection)
    }

    public override var typeName: String { Self.architecture }

    /// A checkpoint name in this model's naming; nil for the `position_ids` buffers old checkpoints carry.
    public static func canonicalName(_ name: String) -> String? {
        name == "text_model.embeddings.position_ids" || name == "vision_model.embeddings.position_ids" ? nil : name
    }

    /// The text tower's end-token state projected (`get_text_features`): input_ids [B, L] → [B, projection_dim], not normalised.
    public func textFeatures(_ inputIDs: Tensor) throws -> Tensor {
        try textProjection(textModel(inputIDs).pooled)
    }

    /// The image tower's class-token state projected (`get_image_features`): pixel_values
    /// [B, C, S, S] → [B, projection_dim], not normalised.
    public func imageFeatures(_ pixelValues: Tensor) throws -> Tensor {
        try visualProjection(visionModel(pixelValues).pooled)
    }

    /// transformers' `CLIPModel.forward`: input_ids [T, L] and pixel_values [I, C, S, S] →
    /// text_embeds [T, E] and image_embeds [I, E] (L2-normalised, as transformers returns them),
    /// logits_per_image = exp(logit_scale) · image_embeds · text_embedsᵀ [I, T] and its transpose
    /// logits_per_text [T, I].
    public func callAsFunction(inputIDs: Tensor, pixelValues: Tensor) throws
        -> (logitsPerImage: Tensor, logitsPerText: Tensor, textEmbeds: Tensor, imageEmbeds: Tensor) {
        let text = try Self.normalized(textFeatures(inputIDs)), image = try Self.normalized(imageFeatures(pixelValues))
        let logitsPerText = try Tensor.matmul(text, image, transposeB: true) * logitScale.exp()
        return (try logitsPerText.transpose(), logitsPerText, text, image)
    }

    /// Rows divided by their L2 norm.
    static func normalized(_ x: Tensor) throws -> Tensor {
        try x / x.square().sum(axis: -1, keepDims: true).sqrt()
    }
}
