import Engine

/// transformers `CLIPVisionModel`: the CLIP image tower (a ViT). The image is cut into
/// patch_size × patch_size patches by a strided convolution without bias (`patch_embedding`), a
/// learned class token (`class_embedding`, [D]) goes in front, learned positions
/// (`position_embedding`, num_patches + 1 rows) are added, then `pre_layrnorm` (transformers'
/// spelling), the pre-norm transformer layers without a mask, and `post_layernorm` on the class
/// token. Returns `last_hidden_state` [B, 1 + N, D] (not normalised, as in transformers) and
/// `pooler_output` [B, D]; N = (image_size / patch_size)².
public final class CLIPVisionModel: Module {
    public static let architecture = "CLIPVisionModel"
    public let config: ModelConfig
    public let hiddenSize: Int, imageSize: Int, patchSize: Int, numChannels: Int, numPatches: Int
    let patchEmbedding: Conv2d, classEmbedding: Tensor, positionEmbedding: Embedding
    let preLayerNorm: LayerNorm, layers: ModuleList<CLIPEncoderLayer>, postLayerNorm: LayerNorm

    static let knownKeys: Set<String> = transformersCommonKeys.union([
        "hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers", "num_attention_heads", "num_channels",
        "image_size", "patch_size", "hidden_act", "layer_norm_eps", "attention_dropout", "dropout", "initializer_range",
        "initializer_factor",
        // PretrainedConfig attributes old transformers wrote into every config (null for vision)
        "pad_token_id", "bos_token_id", "eos_token_id",
    ])

    /// Builds the tower from a CLIPVisionConfig (transformers' defaults for missing keys: ViT-B/32).
    /// Fresh weights follow transformers' CLIP initialisation for the embeddings (class token
    /// N(0, D^-½), patches and positions N(0, initializer_range)), PyTorch's defaults elsewhere.
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        hiddenSize = try c.int("hidden_size", 768)
        imageSize = try c.int("image_size", 224)
        patchSize = try c.int("patch_size", 32)
        numChannels = try c.int("num_channels", 3)
        let heads = try c.int("num_attention_heads", 12), intermediate = try c.int("intermediate_size", 3072)
        let count = try c.int("num_hidden_layers", 12), eps = try c.float("layer_norm_eps", 1e-5)
        let range = try c.float("initializer_range", 0.02), factor = try c.float("initializer_factor", 1)
        let act = try c.string("hidden_act", "quick_gelu")
        guard CLIPEncoderLayer.activations.contains(act) else { throw c.fail("hidden_act \(act) is not supported") }
        guard hiddenSize >= 1, heads >= 1, hiddenSize % heads == 0 else { throw c.fail("hidden_size \(hiddenSize) is not divisible by \(heads) heads") }
        guard numChannels >= 1 else { throw c.fail("num_channels must be at least 1, got \(numChannels)") }
        guard patchSize >= 1, imageSize >= patchSize else { throw c.fail("patch_size \(patchSize) must be between 1 and image_size \(imageSize)") }
        let grid = imageSize / patchSize
        numPatches = grid * grid
        self.config = c
        let (d, channels, p, positions) = (hiddenSize, numChannels, patchSize, numPatches + 1)
        (patchEmbedding, classEmbedding, positionEmbedding, preLayerNorm, layers, postLayerNorm) = Initialization.withSeed(seed) {
            let conv = Conv2d(channels, d, kernelSize: p, stride: p, bias: false)
            try! conv.weight.assign(Initialization.normal(conv.weight.shape, std: range * factor))
            return (conv, Initialization.normal([d], std: factor / Float(d).squareRoot()), Embedding(positions, d, std: range * factor),
                    LayerNorm(d, eps: eps),
                    ModuleList((0..<count).map { _ in CLIPEncoderLayer(dim: d, heads: heads, intermediate: intermediate, eps: eps, activation: act) }),
                    LayerNorm(d, eps: eps))
        }
        super.init()
        // transformers 5 names: no `vision_model.` prefix (`canonicalName` maps older checkpoints).
        let embeddings = Module(), encoder = Module()
        embeddings.parameter("class_embedding", classEmbedding)
        embeddings.child("patch_embedding", patchEmbedding)
        embeddings.child("position_embedding", positionEmbedding)
        encoder.child("layers", layers)
        child("embeddings", embeddings)
        child("pre_layrnorm", preLayerNorm)
        child("encoder", encoder)
        child("post_layernorm", postLayerNorm)
    }

    public override var typeName: String { Self.architecture }

    /// A checkpoint name in this model's naming: transformers before 5 prefixed every key with
    /// `vision_model.`; returns nil for the `position_ids` buffer old checkpoints carry.
    public static func canonicalName(_ name: String) -> String? {
        let bare = name.hasPrefix("vision_model.") ? String(name.dropFirst("vision_model.".count)) : name
        return bare == "embeddings.position_ids" ? nil : bare
    }

    /// pixel_values: [B, num_channels, image_size, image_size] → (last_hidden_state [B, 1 + N, D],
    /// pooler_output [B, D]). Other image sizes are an error (transformers' position
    /// interpolation is not built).
    public func callAsFunction(_ pixelValues: Tensor) throws -> (lastHiddenState: Tensor, pooled: Tensor) {
        let x = pixelValues
        guard x.rank == 4, x.shape[0] >= 1, x.shape[1] == numChannels, x.shape[2] == imageSize, x.shape[3] == imageSize else {
            throw ModelError.invalidInput(model: config.architecture,
                                          reason: "pixel_values must be [B, \(numChannels), \(imageSize), \(imageSize)] (B ≥ 1: batch, channels, height, width), got \(shapeText(x.shape))")
        }
        let (b, d) = (x.shape[0], hiddenSize)
        // [B, D, g, g] → [B, N, D]: patches in row-major order, as transformers' flatten(2).
        let patches = try patchEmbedding(x).reshape([b, d, numPatches]).permute([0, 2, 1])
        let classToken = try classEmbedding.reshape([1, 1, d]).expand([b, 1, d])
        var h = try Tensor.concat([classToken, patches], axis: 1) + positionEmbedding.weight
        h = try preLayerNorm(h)
        for layer in layers.items { h = try layer(h, mask: nil) }
        let pooled = try postLayerNorm(h.slice(axis: 1, start: 0, end: 1).reshape([b, d]))
        return (h, pooled)
    }
}

/// transformers `CLIPVisionModelWithProjection`: `CLIPVisionModel` under `vision_model.` and
/// `visual_projection` (Linear D → projection_dim, no bias) applied to its pooled output, giving
/// `image_embeds` [B, projection_dim] (the image side of CLIP's joint embedding space).
public final class CLIPVisionModelWithProjection: Module {
    public static let architecture = "CLIPVisionModelWithProjection"
    public let config: ModelConfig
    public let projectionDim: Int
    public let visionModel: CLIPVisionModel
    let visualProjection: Linear

    /// Builds the tower and the projection from a CLIPVisionConfig (projection_dim default 512).
    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        visionModel = try CLIPVisionModel(config: config, seed: seed)
        projectionDim = try config.int("projection_dim", 512)
        guard projectionDim >= 1 else { throw config.fail("projection_dim must be at least 1, got \(projectionDim)") }
        let (d, e) = (visionModel.hiddenSize, projectionDim)
        visualProjection = Initialization.withSeed(seed &+ 1) { Linear(d, e, bias: false) }
        self.config = config
        super.init()
        // transformers 5 keeps the `vision_model.` prefix for this class.
        child("vision_model", visionModel)
        child("visual_projection", visualProjection)
    }

    public override var typeName: String { Self.architecture }

    /// A checkpoint name in this model's naming (the same in every transformers version); nil for
    /// the `position_ids` buffer old checkpoints carry.
    public static func canonicalName(_ name: String) -> String? {
        name == "vision_model.embeddings.position_ids" ? nil : name
    }

    /// pixel_values: [B, num_channels, image_size, image_size] → (last_hidden_state [B, 1 + N, D],
    /// pooler_output [B, D], image_embeds [B, projection_dim]).
    public func callAsFunction(_ pixelValues: Tensor) throws -> (lastHiddenState: Tensor, pooled: Tensor, imageEmbeds: Tensor) {
        let (last, pooled) = try visionModel(pixelValues)
        return (last, pooled, try visualProjection(pooled))
    }
}
