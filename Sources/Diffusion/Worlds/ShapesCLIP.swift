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
    /// The text tower's tokenizer: the world's (or a dataset's) `WordTokenizer`, or a real CLIP's
    /// byte-level BPE (`CLIPTokenizer`) with a pre-trained text tower.
    public let tokenizer: any TextTokenizer
    /// The words its tokenizer knows when they are not the shapes world's (an encoder trained on
    /// another dataset); nil: the world's grammar, or a CLIP BPE tokenizer.
    public let vocabulary: [String]?
    public let text: CLIPTextModel
    /// True when the text tower is a given, pre-trained CLIPTextModel (a real CLIP's, converted
    /// with `snp convert`): it stays frozen while the encoder trains.
    public let pretrainedText: Bool
    /// Where the pre-trained text tower and its tokenizer were read from, when known (for the record).
    public let textSource: String?, tokenizerSource: String?
    let textProjection: Linear
    let imageTrunk: SmallImageTrunk, imageProjection: Linear
    /// log(1/temperature), learned (CLIP's `logit_scale`, initialised at log(1/0.07)).
    public let logitScale: Tensor

    typealias Towers = (textProjection: Linear, imageTrunk: SmallImageTrunk, imageProjection: Linear)

    /// The text projection and the image tower, drawn in this order from the current seed.
    static func makeTowers(side: Int, width: Int) throws -> Towers {
        (Linear(width, width, bias: false), try SmallImageTrunk(side: side, what: "ShapesCLIP"),
         Linear(SmallImageTrunk.features, width, bias: false))
    }

    static func checkSide(_ side: Int) throws { try SmallImageTrunk.checkSide(side, what: "ShapesCLIP") }

    private init(side: Int, text: CLIPTextModel, tokenizer: any TextTokenizer, vocabulary: [String]?, pretrainedText: Bool,
                 textSource: String?, tokenizerSource: String?, towers: Towers) throws {
        self.side = side
        width = text.hiddenSize
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.text = text
        self.pretrainedText = pretrainedText
        (self.textSource, self.tokenizerSource) = (textSource, tokenizerSource)
        (textProjection, imageTrunk, imageProjection) = towers
        logitScale = try Tensor([Float(Foundation.log(Double(1 / 0.07)))], shape: [1])
        super.init()
        child("text", text)
        child("text_projection", textProjection)
        imageTrunk.register(on: self, hiddenName: "image_hidden")
        child("image_projection", imageProjection)
        parameter("logit_scale", logitScale)
        if pretrainedText { try text.freeze() }
    }

    /// A fresh encoder for `side`-pixel images. `vocabulary` and `maxLength` give it another
    /// dataset's words (`ImageTextDataset.vocabulary`, captions of up to `maxLength` − 2 words);
    /// nil: the shapes world's grammar, 16 tokens.
    public convenience init(side: Int, width: Int = 64, seed: UInt64 = 0, vocabulary: [String]? = nil, maxLength: Int = 16) throws {
        try Self.checkSide(side)
        guard width >= 4, width % 4 == 0 else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "width must be a multiple of 4 (four heads), got \(width)")
        }
        guard (3...512).contains(maxLength) else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "max length must be 3…512 tokens, got \(maxLength)")
        }
        if let vocabulary, vocabulary.isEmpty {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "the vocabulary is empty")
        }
        let tokenizer = vocabulary.map { WordTokenizer(words: $0, maxLength: maxLength) } ?? CaptionGrammar.tokenizer
        let config = ModelConfig(architecture: CLIPTextModel.architecture, values: [
            "vocab_size": tokenizer.vocabularySize, "hidden_size": width, "intermediate_size": 2 * width,
            "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": tokenizer.maxLength,
            "hidden_act": "gelu", "eos_token_id": tokenizer.eos, "bos_token_id": tokenizer.bos, "pad_token_id": tokenizer.pad,
        ])
        // The text tower first, then the rest, from one seed (as every shipped encoder was drawn).
        let (text, towers) = try Initialization.withSeed(seed) {
            (try CLIPTextModel(config: config, seed: seed), try Self.makeTowers(side: side, width: width))
        }
        try self.init(side: side, text: text, tokenizer: tokenizer, vocabulary: vocabulary, pretrainedText: false,
                      textSource: nil, tokenizerSource: nil, towers: towers)
    }

    /// An encoder whose text tower is a given, pre-trained CLIPTextModel (a real CLIP's, converted
    /// with `snp convert`) over its CLIP BPE tokenizer: the tower is frozen (contrastive training
    /// moves only the text projection, the image tower and the temperature), the width is its
    /// hidden size. `maxLength`: the ids per caption (nil: the tokenizer's, at most the model's
    /// max_position_embeddings). The pooled state is read at each caption's first end token —
    /// transformers' rule for a model whose eos_token_id is the tokenizer's (and, with CLIP's
    /// end token the largest id, for legacy configs with eos_token_id 2).
    public convenience init(side: Int, pretrainedText text: CLIPTextModel, tokenizer: CLIPTokenizer, maxLength: Int? = nil,
                            seed: UInt64 = 0, textSource: String? = nil, tokenizerSource: String? = nil) throws {
        try Self.checkSide(side)
        let length = maxLength ?? Swift.min(tokenizer.maxLength, text.maxPositions)
        guard length <= text.maxPositions else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "max length \(length) exceeds the text model's max_position_embeddings \(text.maxPositions)")
        }
        guard length >= 3 else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "max length must be ≥ 3 tokens, got \(length)")
        }
        guard tokenizer.vocabularySize <= text.vocabularySize else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "the tokenizer's vocabulary size \(tokenizer.vocabularySize) exceeds the text model's vocab_size \(text.vocabularySize): they are not a pair")
        }
        guard tokenizer.tokensByID != nil else {
            throw DiffusionError.invalidArgument(name: "ShapesCLIP", reason: "the tokenizer's ids are not exactly 0..<\(tokenizer.vocabulary.count) (vocab.json has gaps or repeats)")
        }
        let sized = tokenizer.maxLength == length ? tokenizer : try tokenizer.withMaxLength(length)
        let towers = try Initialization.withSeed(seed) { try Self.makeTowers(side: side, width: text.hiddenSize) }
        text.eval()
        try self.init(side: side, text: text, tokenizer: sized, vocabulary: nil, pretrainedText: true,
                      textSource: textSource, tokenizerSource: tokenizerSource, towers: towers)
    }

    /// A new encoder on a pre-trained CLIP text tower read from files: `textEncoder` is a
    /// CLIPTextModel checkpoint converted with `snp convert` (.h5) or a transformers folder
    /// (config.json + safetensors); `tokenizer` a folder with vocab.json and merges.txt (nil: the
    /// text encoder's folder, or the `tokenizer` folder beside it, as in a Stable Diffusion folder).
    public static func pretrained(side: Int, textEncoder: String, tokenizer: String? = nil, maxLength: Int? = nil,
                                  seed: UInt64 = 0) throws -> ShapesCLIP {
        let model = try loadTextModel(textEncoder)
        let folder = try tokenizer ?? tokenizerFolder(near: textEncoder)
        return try ShapesCLIP(side: side, pretrainedText: model, tokenizer: CLIPTokenizer(folder: folder), maxLength: maxLength, seed: seed,
                              textSource: textEncoder, tokenizerSource: folder)
    }

    /// The CLIPTextModel at `path`: a checkpoint converted with `snp convert` (.h5) or a
    /// transformers folder (config.json + safetensors).
    public static func loadTextModel(_ textEncoder: String) throws -> CLIPTextModel {
        let checkpoint: Checkpoint
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: textEncoder, isDirectory: &isFolder), isFolder.boolValue {
            checkpoint = try ModelFolder(path: textEncoder).checkpoint()
        } else {
            checkpoint = try Checkpoint.load(textEncoder, loadTraining: false)
        }
        guard case .clipText(let model) = try LoadedModel.load(checkpoint) else {
            throw DiffusionError.invalidArgument(name: textEncoder, reason: "holds a \(checkpoint.architecture), not a \(CLIPTextModel.architecture)")
        }
        model.eval()
        return model
    }

    /// The folder holding vocab.json and merges.txt for a text encoder at `path`: the path itself
    /// (a folder), its folder, or a `tokenizer` folder beside either.
    public static func tokenizerFolder(near path: String) throws -> String {
        var isFolder: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue ? path : (path as NSString).deletingLastPathComponent
        let parent = (base as NSString).deletingLastPathComponent
        for candidate in [base, (base as NSString).appendingPathComponent("tokenizer"), (parent as NSString).appendingPathComponent("tokenizer")]
            where FileManager.default.fileExists(atPath: (candidate as NSString).appendingPathComponent("vocab.json")) {
            return candidate
        }
        throw DiffusionError.invalidArgument(name: path, reason: "no tokenizer given and no vocab.json beside it (give the folder with vocab.json and merges.txt)")
    }

    /// One line on the text side: tokenizer and text tower, where they came from.
    public var textDescription: String {
        let tower = "\(CLIPTextModel.architecture) (\(text.layerCount) layers, width \(width), \(text.vocabularySize) ids, \(text.maxPositions) positions)"
        if pretrainedText {
            return "pre-trained \(tower), frozen" + (textSource.map { ", from \($0)" } ?? "")
                + "; CLIP BPE tokenizer (\(tokenizer.vocabularySize) ids, \(tokenizer.maxLength) tokens" + (tokenizerSource.map { ", from \($0)" } ?? "") + ")"
        }
        let words = vocabulary == nil ? "the shapes world's words" : "a dataset's words"
        return "\(tower) trained with the image tower; word tokenizer (\(words), \(tokenizer.vocabularySize) ids, \(tokenizer.maxLength) tokens)"
    }

    /// Token ids [B, maxLength] of captions (16 for the world's tokenizer).
    public func tokens(_ captions: [String]) throws -> Tensor {
        try Tensor(captions.flatMap { tokenizer.paddedIDs($0).map(Float.init) }, shape: [captions.count, tokenizer.maxLength])
    }

    /// The per-token text features [B, maxLength, width]: what a teacher's cross-attention reads.
    public func context(_ captions: [String]) throws -> Tensor { try text(tokens(captions)).lastHiddenState }

    /// The hidden state at each caption's end token [B, width], before projection.
    public func pooledText(_ captions: [String]) throws -> Tensor {
        let (last, _) = try text(tokens(captions))
        let rows = captions.enumerated().map { i, caption in
            i * tokenizer.maxLength + (tokenizer.paddedIDs(caption).firstIndex(of: tokenizer.eos) ?? 0)
        }
        return try last.reshape([-1, width]).indexSelect(axis: 0, indices: rows)
    }

    /// Unit-length text embeddings [B, width] (the projected hidden state at each caption's end token).
    public func encodeText(_ captions: [String]) throws -> Tensor { try normalize(textProjection(pooledText(captions))) }

    /// Image features before projection [B, 128]: the space Fréchet distance is measured in.
    public func imageFeatures(_ images: Tensor) throws -> Tensor {
        try imageTrunk(images, what: "ShapesCLIP image")
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

    /// What rebuilds this encoder's shape: side, width, the tokenizer's kind ("word" or
    /// "clip-bpe") and the text tower's architecture; for another dataset's words its vocabulary
    /// and maximum length; for a pre-trained text tower its config, maximum length, pad id and
    /// sources (the keys of `save(to:)`'s config; the BPE vocabulary and merges go in
    /// `tokenizerStrings`). No `tokenizer` key (files from before) means the word tokenizer.
    public var configValues: [String: Any] {
        var values: [String: Any] = ["side": side, "width": width, "tokenizer": tokenizer.kind, "text_architecture": CLIPTextModel.architecture]
        if let vocabulary {
            values["vocabulary"] = vocabulary
            values["max_length"] = tokenizer.maxLength
        }
        if pretrainedText {
            values["max_length"] = tokenizer.maxLength
            values["text_config"] = text.config.values
            values["text_frozen"] = true
            values["tokenizer_pad"] = tokenizer.pad
            if let textSource { values["text_source"] = textSource }
            if let tokenizerSource { values["tokenizer_source"] = tokenizerSource }
        }
        return values
    }

    /// The names of the BPE tokenizer's lists in a checkpoint's `strings`.
    public static let vocabularyStrings = "tokenizer.vocab", mergeStrings = "tokenizer.merges"

    /// The lists of strings a checkpoint keeps beside the weights: a CLIP BPE tokenizer's tokens
    /// in id order and its merges ("a b", by rank); none for the word tokenizer.
    public var tokenizerStrings: [String: [String]] {
        guard let bpe = tokenizer as? CLIPTokenizer, let tokens = bpe.tokensByID else { return [:] }
        return [Self.vocabularyStrings: tokens, Self.mergeStrings: bpe.merges.map { "\($0.0) \($0.1)" }]
    }

    /// A fresh encoder of the shape `configValues` describe (`name`: the file, for errors);
    /// `strings`: the checkpoint's `tokenizerStrings` (a CLIP BPE tokenizer's vocabulary and merges).
    public static func make(configValues values: [String: Any], strings: [String: [String]] = [:], name: String) throws -> ShapesCLIP {
        guard let side = values["side"] as? Int, let width = values["width"] as? Int else {
            throw DiffusionError.invalidArgument(name: name, reason: "the text encoder's config has no integer side and width")
        }
        switch values["tokenizer"] as? String ?? "word" {
        case "word":
            var vocabulary: [String]?
            if let v = values["vocabulary"] {
                guard let words = v as? [String] else {
                    throw DiffusionError.invalidArgument(name: name, reason: "the text encoder's vocabulary is not a list of strings")
                }
                vocabulary = words
            }
            return try ShapesCLIP(side: side, width: width, vocabulary: vocabulary, maxLength: values["max_length"] as? Int ?? 16)
        case "clip-bpe":
            guard let textConfig = values["text_config"] as? [String: Any] else {
                throw DiffusionError.invalidArgument(name: name, reason: "the text encoder uses a CLIP BPE tokenizer but its config has no text_config")
            }
            guard let tokens = strings[vocabularyStrings], let mergeLines = strings[mergeStrings] else {
                throw DiffusionError.invalidArgument(name: name, reason: "the text encoder uses a CLIP BPE tokenizer but the file holds no \(vocabularyStrings) and \(mergeStrings) strings")
            }
            let merges = try mergeLines.map { line -> (String, String) in
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw DiffusionError.invalidArgument(name: name, reason: "merge \"\(line)\" is not two tokens") }
                return (parts[0], parts[1])
            }
            let vocabulary = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            let tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: merges)
            if let pad = values["tokenizer_pad"] as? Int { tokenizer.pad = pad }
            let text = try CLIPTextModel(config: ModelConfig(architecture: CLIPTextModel.architecture, values: textConfig))
            guard text.hiddenSize == width else {
                throw DiffusionError.invalidArgument(name: name, reason: "the text encoder's width \(width) is not its text_config's hidden_size \(text.hiddenSize)")
            }
            return try ShapesCLIP(side: side, pretrainedText: text, tokenizer: tokenizer, maxLength: values["max_length"] as? Int,
                                  textSource: values["text_source"] as? String, tokenizerSource: values["tokenizer_source"] as? String)
        case let other:
            throw DiffusionError.invalidArgument(name: name, reason: "the text encoder's tokenizer is \"\(other)\"; this Snoopi knows \"word\" and \"clip-bpe\"")
        }
    }

    /// Saves the weights (architecture `ShapesCLIP`, config `configValues`, the tokenizer's
    /// `tokenizerStrings` as string datasets).
    public func save(to path: String) throws {
        try Checkpoint(architecture: Self.architecture, config: ModelConfig(architecture: Self.architecture, values: configValues).json,
                       tensors: NamedTensors(stateDict()), strings: tokenizerStrings).save(path)
    }

    /// Loads an encoder saved with `save(to:)`.
    public static func load(_ path: String) throws -> ShapesCLIP {
        let checkpoint = try Checkpoint.load(path, loadTraining: false)
        guard checkpoint.architecture == architecture else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds a \(checkpoint.architecture), not a \(architecture)")
        }
        let model = try make(configValues: checkpoint.configDictionary(), strings: checkpoint.strings, name: path)
        try model.load(checkpoint.tensors.dictionary)
        model.eval()
        return model
    }
}
