import Checkpoints
import Engine
import Foundation
import Models

/// The shapes world's own CLIP (Radford et al. 2021) in miniature: a text tower — transformers'
/// `CLIPTextModel` over the world's word tokens, the frozen text encoder of the world's teachers
/// as CLIP's is for Stable Diffusion — and an image tower — a small CNN — trained with the
/// symmetric contrastive (InfoNCE) loss and a learned temperature. The image tower gives the CLIP
/// score, the features for Fréchet distance, and SBv2's clamped CLIP loss.
public final class ShapesCLIP: Module {
    public static let architecture = "ShapesCLIP"
    public let side: Int, width: Int
    public let tokenizer: WordTokenizer
    /// The words its tokenizer knows when they are not the shapes world's (an encoder trained on
    /// another dataset); nil: the world's grammar.
    public let vocabulary: [String]?
    public let text: CLIPTextModel
    let textProjection: Linear
    let conv1: Conv2d, norm1: GroupNorm, conv2: Conv2d, norm2: GroupNorm, conv3: Conv2d, norm3: GroupNorm
    let imageHidden: Linear, imageProjection: Linear
    /// log(1/temperature), learned (CLIP's `logit_scale`, initialised at log(1/0.07)).
    public let logitScale: Tensor

    /// A fresh encoder for `side`-pixel images. `vocabulary` and `maxLength` give it another
    /// dataset's words (`ImageTextDataset.vocabulary`, captions of up to `maxLength` − 2 words);
    /// nil: the shapes world's grammar, 16 tokens.
    public init(side: Int, width: Int = 64, seed: UInt64 = 0, vocabulary: [String]? = nil, maxLength: Int = 16) throws {
        guard side >= 8, side % 4 == 0 else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "side must be a multiple of 4 ≥ 8, got \(side)")
        }
        guard width >= 4, width % 4 == 0 else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "width must be a multiple of 4 (four heads), got \(width)")
        }
        guard (3...512).contains(maxLength) else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "max length must be 3…512 tokens, got \(maxLength)")
        }
        if let vocabulary, vocabulary.isEmpty {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "the vocabulary is empty")
        }
        self.side = side
        self.width = width
        self.vocabulary = vocabulary
        tokenizer = vocabulary.map { WordTokenizer(words: $0, maxLength: maxLength) } ?? CaptionGrammar.tokenizer
        let config = ModelConfig(architecture: CLIPTextModel.architecture, values: [
            "vocab_size": tokenizer.vocabularySize, "hidden_size": width, "intermediate_size": 2 * width,
            "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": tokenizer.maxLength,
            "hidden_act": "gelu", "eos_token_id": tokenizer.eos, "bos_token_id": tokenizer.bos, "pad_token_id": tokenizer.pad,
        ])
        (text, textProjection, conv1, norm1, conv2, norm2, conv3, norm3, imageHidden, imageProjection) = try Initialization.withSeed(seed) {
            (try CLIPTextModel(config: config, seed: seed), Linear(width, width, bias: false),
             Conv2d(3, 32, kernelSize: 3, padding: 1), try GroupNorm(groups: 8, channels: 32),
             Conv2d(32, 64, kernelSize: 3, stride: 2, padding: 1), try GroupNorm(groups: 8, channels: 64),
             Conv2d(64, 64, kernelSize: 3, stride: 2, padding: 1), try GroupNorm(groups: 8, channels: 64),
             Linear(64 * (side / 4) * (side / 4), 128), Linear(128, width, bias: false))
        }
        logitScale = try Tensor([Float(Foundation.log(Double(1 / 0.07)))], shape: [1])
        super.init()
        for (name, m) in [("text", text), ("text_projection", textProjection), ("conv1", conv1), ("norm1", norm1), ("conv2", conv2),
                          ("norm2", norm2), ("conv3", conv3), ("norm3", norm3), ("image_hidden", imageHidden),
                          ("image_projection", imageProjection)] as [(String, Module)] { child(name, m) }
        parameter("logit_scale", logitScale)
    }

    /// Token ids [B, 16] of captions.
    public func tokens(_ captions: [String]) throws -> Tensor {
        try Tensor(captions.flatMap { tokenizer.encode($0).map(Float.init) }, shape: [captions.count, tokenizer.maxLength])
    }

    /// The per-token text features [B, 16, width]: what a teacher's cross-attention reads.
    public func context(_ captions: [String]) throws -> Tensor { try text(tokens(captions)).lastHiddenState }

    /// The hidden state at each caption's end token [B, width], before projection.
    public func pooledText(_ captions: [String]) throws -> Tensor {
        let (last, _) = try text(tokens(captions))
        let rows = captions.enumerated().map { i, caption in
            i * tokenizer.maxLength + (tokenizer.encode(caption).firstIndex(of: tokenizer.eos) ?? 0)
        }
        return try last.reshape([-1, width]).indexSelect(axis: 0, indices: rows)
    }

    /// Unit-length text embeddings [B, width] (the projected hidden state at each caption's end token).
    public func encodeText(_ captions: [String]) throws -> Tensor { try normalize(textProjection(pooledText(captions))) }

    /// Image features before projection [B, 128]: the space Fréchet distance is measured in.
    public func imageFeatures(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 3, images.shape[2] == side, images.shape[3] == side else {
            throw DiffusionError.shapeMismatch(what: "ShapesCLIP image input", shapes: [images.shape, [-1, 3, side, side]],
                                               reason: "images must be [B, 3, \(side), \(side)]")
        }
        var h = try norm1(conv1(images)).silu()
        h = try norm2(conv2(h)).silu()
        h = try norm3(conv3(h)).silu()
        return try imageHidden(h.flatten(from: 1)).silu()
    }

    /// Unit-length image embeddings [B, width].
    public func encodeImage(_ images: Tensor) throws -> Tensor { try normalize(imageProjection(imageFeatures(images))) }

    func normalize(_ x: Tensor) throws -> Tensor { try x / (x.square().sum(axes: [1], keepDims: true) + 1e-12).sqrt() }

    /// CLIP's symmetric cross-entropy over the batch's image–caption similarity matrix, with every
    /// caption identical to an image's own counted as a positive (the world's captions repeat —
    /// "a photo of a shape" — and treating a repeat as a negative gives conflicting targets).
    public func contrastiveLoss(_ images: Tensor, _ captions: [String]) throws -> Tensor {
        try contrastiveLoss(imageEmbeddings: encodeImage(images), textEmbeddings: encodeText(captions), captions)
    }

    /// The same loss from unit-length embeddings [B, width] already computed (training reuses the
    /// towers' outputs for its attribute heads).
    func contrastiveLoss(imageEmbeddings: Tensor, textEmbeddings: Tensor, _ captions: [String]) throws -> Tensor {
        let logits = try Tensor.matmul(imageEmbeddings, textEmbeddings, transposeB: true) * logitScale.exp()
        let n = captions.count
        var weights = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            let same = (0..<n).filter { captions[$0] == captions[i] }
            for j in same { weights[i * n + j] = 1 / Float(same.count) }
        }
        let targets = try Tensor(weights, shape: [n, n])  // symmetric
        let imageToText = try -(logits.logSoftmax(axis: 1) * targets).sum(axes: [1]).mean()
        let textToImage = try -(logits.logSoftmax(axis: 0) * targets).sum(axes: [0]).mean()
        return try (imageToText + textToImage) * 0.5
    }

    /// Zero-shot attribute accuracy: each image is matched against "a red shape"-style captions
    /// naming only that attribute, one per possible value; the best match is the answer.
    public func zeroShotAccuracy(world: ShapesWorld, count: Int, split: ShapesWorld.Split = .test) throws -> [ShapeAttributes.Kind: Double] {
        let example = ShapeAttributes(shape: .circle, colour: .red, size: .small, position: .center, background: .white)
        var result: [ShapeAttributes.Kind: Double] = [:]
        let batch = try world.batch(count, split: split, start: 1 << 30)
        let images = try noGrad { try encodeImage(batch.images) }
        for kind in ShapeAttributes.Kind.allCases {
            let values = ShapeAttributes.all.filter { a in
                ShapeAttributes.Kind.allCases.allSatisfy { $0 == kind || a.value(of: $0) == example.value(of: $0) }
            }
            let prompts = values.map { CaptionGrammar.caption($0, mentioning: [kind]) }
            let texts = try noGrad { try encodeText(prompts) }
            let best = try noGrad { try Tensor.matmul(images, texts, transposeB: true).argmax(axis: 1) }.scalars.map { Int($0) }
            let correct = zip(best, batch.attributes).filter { values[$0.0].value(of: kind) == $0.1.value(of: kind) }.count
            result[kind] = Double(correct) / Double(count)
        }
        return result
    }

    /// The shipped encoder files for `side`, preferred first: the default recipe's
    /// (`shapes-clip-SIDE-attr.h5`), then the first, contrastive-only one, kept so older teachers load.
    public static func shippedFileNames(side: Int) -> [String] { ["shapes-clip-\(side)-attr.h5", "shapes-clip-\(side).h5"] }

    /// What rebuilds this encoder's shape: side, width and, for another dataset's words, its
    /// vocabulary and maximum length (the keys of `save(to:)`'s config).
    public var configValues: [String: Any] {
        var values: [String: Any] = ["side": side, "width": width]
        if let vocabulary {
            values["vocabulary"] = vocabulary
            values["max_length"] = tokenizer.maxLength
        }
        return values
    }

    /// A fresh encoder of the shape `configValues` describe (`name`: the file, for errors).
    public static func make(configValues values: [String: Any], name: String) throws -> ShapesCLIP {
        guard let side = values["side"] as? Int, let width = values["width"] as? Int else {
            throw DiffusionError.invalidArgument(name: name, reason: "the text encoder's config has no integer side and width")
        }
        var vocabulary: [String]?
        if let v = values["vocabulary"] {
            guard let words = v as? [String] else {
                throw DiffusionError.invalidArgument(name: name, reason: "the text encoder's vocabulary is not a list of strings")
            }
            vocabulary = words
        }
        return try ShapesCLIP(side: side, width: width, vocabulary: vocabulary, maxLength: values["max_length"] as? Int ?? 16)
    }

    /// Saves the weights (architecture `ShapesCLIP`, config `configValues`).
    public func save(to path: String) throws {
        try Checkpoint(architecture: Self.architecture, config: ModelConfig(architecture: Self.architecture, values: configValues).json,
                       tensors: NamedTensors(stateDict())).save(path)
    }

    /// Loads an encoder saved with `save(to:)`.
    public static func load(_ path: String) throws -> ShapesCLIP {
        let checkpoint = try Checkpoint.load(path, loadTraining: false)
        guard checkpoint.architecture == architecture else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds a \(checkpoint.architecture), not a \(architecture)")
        }
        let model = try make(configValues: checkpoint.configDictionary(), name: path)
        try model.load(checkpoint.tensors.dictionary)
        model.eval()
        return model
    }
}
