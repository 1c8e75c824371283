import Engine

/// transformers `T5EncoderModel` (the text encoder of PixArt-α, T5 v1.1): token embeddings
/// (`shared`), a stack of pre-norm blocks with relative-position self-attention and a
/// feed-forward ("gated-gelu" or "relu"), T5's RMS norm at the end. Returns last_hidden_state.
///
/// Keys are transformers': `shared.weight`; `encoder.block.N.layer.0.SelfAttention.{q,k,v,o}.weight`,
/// `encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight` (block 0 only: its bias
/// serves every block), `encoder.block.N.layer.0.layer_norm.weight`,
/// `encoder.block.N.layer.1.DenseReluDense.{wi_0,wi_1,wo}.weight` (gated-gelu) or `{wi,wo}` (relu),
/// `encoder.block.N.layer.1.layer_norm.weight`, `encoder.final_layer_norm.weight`.
/// `encoder.embed_tokens.weight` is tied to `shared.weight` (save_pretrained writes only the
/// latter): loading accepts either or both (`untie`).
///
/// NOTE: `dropout_rate` is read and not applied: the model always computes what transformers
/// computes in eval mode (PixArt's text encoder is frozen). Fresh weights use PyTorch's layer
/// defaults (and N(0, 1) embeddings), not T5's initialisation: a T5 here is meant to be loaded.
public final class T5EncoderModel: Module {
    public static let architecture = "T5EncoderModel"
    /// The `feed_forward_proj` values built.
    public static let feedForwardKinds = ["gated-gelu", "relu"]
    public let config: ModelConfig
    public let vocabularySize: Int, dModel: Int, heads: Int
    public let relativeBuckets: Int, relativeMaxDistance: Int
    let shared: Embedding
    let blocks: ModuleList<T5Block>
    let finalLayerNorm: RMSNorm

    static let knownKeys: Set<String> = transformersCommonKeys.union([
        "vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads",
        "relative_attention_num_buckets", "relative_attention_max_distance", "dropout_rate", "layer_norm_epsilon",
        "initializer_factor", "feed_forward_proj", "dense_act_fn", "is_gated_act", "use_cache", "pad_token_id",
        "eos_token_id", "bos_token_id", "classifier_dropout", "scale_decoder_outputs", "n_positions", "output_past",
        "gradient_checkpointing",
    ])

    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        try c.requireDefault("is_decoder", false, "a causal T5 stack")
        vocabularySize = try c.int("vocab_size", 32128)
        dModel = try c.int("d_model", 512)
        heads = try c.int("num_heads", 8)
        let headDim = try c.int("d_kv", 64), dFF = try c.int("d_ff", 2048), layers = try c.int("num_layers", 6)
        relativeBuckets = try c.int("relative_attention_num_buckets", 32)
        relativeMaxDistance = try c.int("relative_attention_max_distance", 128)
        let eps = try c.float("layer_norm_epsilon", 1e-6)
        let feedForward = try c.string("feed_forward_proj", "relu")
        guard Self.feedForwardKinds.contains(feedForward) else {
            throw c.fail("feed_forward_proj \(feedForward) is not supported (Snoopi builds \(Self.feedForwardKinds.joined(separator: ", ")))")
        }
        for (key, value) in [("vocab_size", vocabularySize), ("d_model", dModel), ("num_heads", heads), ("d_kv", headDim),
                             ("d_ff", dFF), ("num_layers", layers)] where value < 1 {
            throw c.fail("\(key) must be ≥ 1, got \(value)")
        }
        // Fewer than 4 buckets leave no exact bucket (PyTorch divides by zero); a max distance
        // within the exact range has no logarithmic part.
        guard relativeBuckets >= 4 else { throw c.fail("relative_attention_num_buckets must be ≥ 4, got \(relativeBuckets)") }
        guard relativeMaxDistance > relativeBuckets / 4 else {
            throw c.fail("relative_attention_max_distance \(relativeMaxDistance) must exceed a quarter of the buckets (\(relativeBuckets / 4))")
        }
        self.config = c
        let (v, d, h, buckets) = (vocabularySize, dModel, heads, relativeBuckets)
        (shared, blocks, finalLayerNorm) = Initialization.withSeed(seed) {
            (Embedding(v, d),
             ModuleList((0..<layers).map { i in
                 T5Block(dModel: d, heads: h, headDim: headDim, dFF: dFF, gated: feedForward == "gated-gelu", eps: eps,
                         relativeBuckets: i == 0 ? buckets : nil)
             }),
             RMSNorm(d, eps: eps))
        }
        super.init()
        child("shared", shared)
        let encoder = Module()
        encoder.child("block", blocks)
        encoder.child("final_layer_norm", finalLayerNorm)
        child("encoder", encoder)
    }

    public override var typeName: String { Self.architecture }

    /// num_layers.
    public var layerCount: Int { blocks.count }

    /// The checkpoint's tensors in this model's naming: `encoder.embed_tokens.weight` (tied to
    /// `shared.weight`) becomes `shared.weight` when that is absent and is dropped when it is
    /// the same tensor; two different ones are an error (this model cannot untie them).
    public static func untie(_ tensors: [String: Tensor]) throws -> [String: Tensor] {
        let tiedName = "encoder.embed_tokens.weight", sharedName = "shared.weight"
        guard let tied = tensors[tiedName] else { return tensors }
        var named = tensors
        named[tiedName] = nil
        if let shared = tensors[sharedName] {
            guard shared.shape == tied.shape, shared.scalars == tied.scalars else {
                throw ModelError.invalidInput(model: architecture, reason: "\(tiedName) differs from \(sharedName); T5EncoderModel ties them")
            }
        } else {
            named[sharedName] = tied
        }
        return named
    }

    /// The relative position bias every block adds, [1, heads, L, L]: block 0's
    /// `relative_attention_bias` looked up at each (query, key) pair's bucket.
    func positionBias(length l: Int) throws -> Tensor {
        var indices = [Float](repeating: 0, count: l * l)
        for i in 0..<l {
            for j in 0..<l {
                indices[i * l + j] = Float(Self.relativePositionBucket(j - i, buckets: relativeBuckets, maxDistance: relativeMaxDistance))
            }
        }
        let table = blocks[0].selfAttention.relativeAttentionBias!
        return try table(Tensor(indices, shape: [l, l])).permute([2, 0, 1]).reshape([1, heads, l, l])
    }

    /// input_ids: [B, L] integral ids in 0..<vocab_size; attentionMask: [B, L] of 1 (a token)
    /// and 0 (padding, which no position attends to), nil for all ones → last_hidden_state
    /// [B, L, d_model]. Padded positions get an output too (they attend to the tokens), as in
    /// transformers.
    public func callAsFunction(_ inputIDs: Tensor, attentionMask: Tensor? = nil) throws -> Tensor {
        guard inputIDs.rank == 2, inputIDs.shape[0] >= 1, inputIDs.shape[1] >= 1 else {
            throw ModelError.invalidInput(model: Self.architecture, reason: "input_ids must be [B, L] with B, L ≥ 1, got \(shapeText(inputIDs.shape))")
        }
        if let bad = inputIDs.scalars.first(where: { $0 < 0 || $0 >= Float(vocabularySize) || $0 != $0.rounded() }) {
            let shown = bad == bad.rounded() && Swift.abs(bad) < 1e15 ? String(Int(bad)) : String(bad)
            throw ModelError.invalidInput(model: Self.architecture, reason: "token id \(shown) is outside the vocabulary 0..<\(vocabularySize)")
        }
        let (b, l) = (inputIDs.shape[0], inputIDs.shape[1])
        var bias = try positionBias(length: l)
        if let attentionMask {
            guard attentionMask.shape == inputIDs.shape else {
                throw ModelError.invalidInput(model: Self.architecture, reason: "attention_mask must have input_ids' shape \(shapeText(inputIDs.shape)), got \(shapeText(attentionMask.shape))")
            }
            guard attentionMask.scalars.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw ModelError.invalidInput(model: Self.architecture, reason: "attention_mask must hold only 0 and 1")
            }
            // transformers' SDPA path puts the dtype's minimum on masked keys (not −∞: a row
            // with every key masked stays finite, as there).
            let padding = try Tensor(attentionMask.scalars.map { $0 == 1 ? 0 : -Float.greatestFiniteMagnitude }, shape: [b, 1, 1, l])
            bias = try bias + padding
        }
        var h = try shared(inputIDs)
        for block in blocks.items { h = try block(h, positionBias: bias) }
        return try finalLayerNorm(h)
    }
}
