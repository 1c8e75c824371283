import Engine

/// transformers `CLIPAttention`: multi-head attention with q_proj, k_proj, v_proj, out_proj
/// (all with bias) and an optional additive mask (nil: every position attends to every other).
/// x: [B, L, D] → [B, L, D].
final class CLIPAttention: Module {
    let heads: Int, headDim: Int
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear

    init(dim: Int, heads: Int) {
        (self.heads, headDim) = (heads, dim / heads)
        qProj = Linear(dim, dim); kProj = Linear(dim, dim); vProj = Linear(dim, dim); outProj = Linear(dim, dim)
        super.init()
        child("k_proj", kProj)
        child("v_proj", vProj)
        child("q_proj", qProj)
        child("out_proj", outProj)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) throws -> Tensor {
        let (b, l) = (x.shape[0], x.shape[1])
        func split(_ t: Tensor) throws -> Tensor { try t.reshape([b, l, heads, headDim]).permute([0, 2, 1, 3]) }
        let z = try Tensor.scaledDotProductAttention(query: split(qProj(x)), key: split(kProj(x)), value: split(vProj(x)), mask: mask)
        return try outProj(z.permute([0, 2, 1, 3]).reshape([b, l, heads * headDim]))
    }
}

/// transformers `CLIPEncoderLayer`: pre-norm attention and MLP (fc1 → act → fc2), residuals.
/// The text model passes its causal mask, the vision model none.
final class CLIPEncoderLayer: Module {
    /// The `hidden_act` values built (others are a config error).
    static let activations: Set<String> = ["quick_gelu", "gelu", "gelu_pytorch_tanh", "gelu_new"]
    let layerNorm1: LayerNorm, selfAttn: CLIPAttention, layerNorm2: LayerNorm, fc1: Linear, fc2: Linear
    let activation: String

    init(dim: Int, heads: Int, intermediate: Int, eps: Float, activation: String) {
        selfAttn = CLIPAttention(dim: dim, heads: heads)
        layerNorm1 = LayerNorm(dim, eps: eps)
        fc1 = Linear(dim, intermediate)
        fc2 = Linear(intermediate, dim)
        layerNorm2 = LayerNorm(dim, eps: eps)
        self.activation = activation
        super.init()
        child("self_attn", selfAttn)
        child("layer_norm1", layerNorm1)
        let mlp = Module()
        mlp.child("fc1", fc1)
        mlp.child("fc2", fc2)
        child("mlp", mlp)
        child("layer_norm2", layerNorm2)
    }

    func callAsFunction(_ x: Tensor, mask: Tensor?) throws -> Tensor {
        let h = try selfAttn(layerNorm1(x), mask: mask) + x
        var m = try fc1(layerNorm2(h))
        switch activation {
        case "quick_gelu": m = m.quickGelu()
        case "gelu_pytorch_tanh", "gelu_new": m = m.gelu(approximate: .tanh)
        default: m = m.gelu()
        }
        return try fc2(m) + h
    }
}

/// Keys every transformers config may carry (PretrainedConfig's own attributes), known to every
/// transformers architecture Snoopi builds and ignored by it.
let transformersCommonKeys: Set<String> = [
    "architectures", "model_type", "torch_dtype", "dtype", "transformers_version", "return_dict", "output_hidden_states",
    "output_attentions", "torchscript", "use_bfloat16", "tie_word_embeddings", "is_encoder_decoder", "is_decoder",
    "add_cross_attention", "tie_encoder_decoder", "chunk_size_feed_forward", "pruned_heads", "id2label", "label2id",
    "problem_type", "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id", "task_specific_params",
    "finetuning_task", "cross_attention_hidden_size", "max_length", "min_length", "do_sample", "early_stopping",
    "num_beams", "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p", "typical_p",
    "repetition_penalty", "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
    "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id",
    "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
]

/// transformers `CLIPTextModel`: token + position embeddings, causal pre-norm transformer,
/// final LayerNorm. Returns `last_hidden_state` [B, L, D] and `pooler_output` [B, D], the hidden
/// state at the end-of-text token: the position of the largest id when eos_token_id is 2
/// (transformers' rule for legacy configs, where EOS is the largest id), else the first EOS.
public final class CLIPTextModel: Module {
    public static let architecture = "CLIPTextModel"
    public let config: ModelConfig
    public let vocabularySize: Int, hiddenSize: Int, maxPositions: Int, eosTokenId: Int
    let tokenEmbedding: Embedding, positionEmbedding: Embedding
    let layers: ModuleList<CLIPEncoderLayer>
    let finalLayerNorm: LayerNorm

    static let knownKeys: Set<String> = transformersCommonKeys.union([
        "vocab_size", "hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers", "num_attention_heads",
        "max_position_embeddings", "hidden_act", "layer_norm_eps", "attention_dropout", "dropout", "initializer_range",
        "initializer_factor", "pad_token_id", "bos_token_id", "eos_token_id",
    ])

    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        let c = config
        try c.requireKnown(Self.knownKeys)
        vocabularySize = try c.int("vocab_size", 49408)
        hiddenSize = try c.int("hidden_size", 512)
        maxPositions = try c.int("max_position_embeddings", 77)
        eosTokenId = try c.int("eos_token_id", 49407)
        let heads = try c.int("num_attention_heads", 8), intermediate = try c.int("intermediate_size", 2048)
        let count = try c.int("num_hidden_layers", 12), eps = try c.float("layer_norm_eps", 1e-5)
        let act = try c.string("hidden_act", "quick_gelu")
        guard CLIPEncoderLayer.activations.contains(act) else { throw c.fail("hidden_act \(act) is not supported") }
        guard hiddenSize % heads == 0 else { throw c.fail("hidden_size \(hiddenSize) is not divisible by \(heads) heads") }
        self.config = c
        let (v, d, p) = (vocabularySize, hiddenSize, maxPositions)
        (tokenEmbedding, positionEmbedding, layers, finalLayerNorm) = Initialization.withSeed(seed) {
            // transformers' CLIP initialisation (std 0.02): with N(0, 1) embeddings the residual
            // stream at the end token is its own embedding and position, and a freshly trained
            // encoder learns caption length instead of words (measured on the shapes world).
            (Embedding(v, d, std: 0.02), Embedding(p, d, std: 0.02),
             ModuleList((0..<count).map { _ in CLIPEncoderLayer(dim: d, heads: heads, intermediate: intermediate, eps: eps, activation: act) }),
             LayerNorm(d, eps: eps))
        }
        super.init()
        // transformers 5 names (no `text_model.` prefix); `canonicalName` maps older checkpoints.
        let embeddings = Module(), encoder = Module()
        embeddings.child("token_embedding", tokenEmbedding)
        embeddings.child("position_embedding", positionEmbedding)
        encoder.child("layers", layers)
        child("embeddings", embeddings)
        child("encoder", encoder)
        child("final_layer_norm", finalLayerNorm)
    }

    public override var typeName: String { Self.architecture }

    /// num_hidden_layers.
    public var layerCount: Int { layers.items.count }

    /// A checkpoint name in this model's naming: transformers before 5 (and so most Stable
    /// Diffusion folders) prefix every key with `text_model.`; returns nil for the
    /// `position_ids` buffer some of them carry, which is not a parameter.
    public static func canonicalName(_ name: String) -> String? {
        let bare = name.hasPrefix("text_model.") ? String(name.dropFirst("text_model.".count)) : name
        return bare == "embeddings.position_ids" ? nil : bare
    }

    /// input_ids: [B, L] integral values → (last_hidden_state [B, L, D], pooler_output [B, D]).
    public func callAsFunction(_ inputIDs: Tensor) throws -> (lastHiddenState: Tensor, pooled: Tensor) {
        guard inputIDs.rank == 2, inputIDs.shape[1] >= 1, inputIDs.shape[1] <= maxPositions else {
            throw ModelError.invalidInput(model: Self.architecture, reason: "input_ids must be [B, L] with 1 ≤ L ≤ \(maxPositions), got \(shapeText(inputIDs.shape))")
        }
        let ids = inputIDs.scalars
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize || $0 != $0.rounded() }) {
            throw ModelError.invalidInput(model: Self.architecture, reason: "token id \(bad) is outside the vocabulary 0..<\(vocabularySize)")
        }
        let (b, l) = (inputIDs.shape[0], inputIDs.shape[1])
        let positions = try Tensor.arange(0, Float(l))
        var h = try tokenEmbedding(inputIDs) + positionEmbedding(positions)
        // Causal mask: position i attends to j ≤ i.
        var maskValues = [Float](repeating: 0, count: l * l)
        for i in 0..<l { for j in (i + 1)..<Swift.max(l, i + 1) { maskValues[i * l + j] = -.infinity } }
        let mask = try Tensor(maskValues, shape: [l, l])
        for layer in layers.items { h = try layer(h, mask: mask) }
        let last = try finalLayerNorm(h)
        var rows: [Int] = []
        for row in 0..<b {
            let r = Array(ids[(row * l)..<((row + 1) * l)])
            if eosTokenId == 2 {
                rows.append(row * l + r.indices.max { r[$0] < r[$1] || (r[$0] == r[$1] && $0 > $1) }!)
            } else {
                rows.append(row * l + (r.firstIndex(of: Float(eosTokenId)) ?? 0))
            }
        }
        let pooled = try last.reshape([b * l, hiddenSize]).indexSelect(axis: 0, indices: rows)
        return (last, pooled)
    }
}
