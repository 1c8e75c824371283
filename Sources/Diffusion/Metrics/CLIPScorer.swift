import Checkpoints
import Engine
import Foundation
import Models

/// CLIPScore (Hessel et al. 2021, `clipScore(imageFeatures:textFeatures:)`) measured with a real
/// CLIP: transformers' `CLIPModel` (converted with `snp convert`) and OpenAI CLIP's byte-level BPE
/// tokenizer (`vocab.json` + `merges.txt`), as torchmetrics' `CLIPScore` computes it:
///
///     CLIPScore = mean over i of 100 · max(cos(image_embedsᵢ, text_embedsᵢ), 0)
///
/// - images [N, C, H, W] in [−1, 1] → `image_embeds` after CLIP's preprocessing, exactly as
///   `CLIPImageFeatures` (to [0, 1], torch-bicubic resize to the tower's side, OpenAI mean/std);
/// - prompts → ids as transformers' `CLIPTokenizer(…, truncation=True, max_length=P)` with P the
///   text tower's `max_position_embeddings`: start token, pieces, end token, a long prompt cut to P
///   ids keeping the end token; padded with the tokenizer's pad token to the longest prompt of the
///   batch (the causal text tower reads nothing after the end token) → `text_embeds`.
///
/// `imageSpace` is the same model's image side as an `ImageFeatureSpace`: FD and precision/recall
/// measured in it share the CLIP score's embeddings.
public final class CLIPScorer {
    public let model: CLIPModel
    /// The tokenizer, giving at most the text tower's `max_position_embeddings` ids.
    public let tokenizer: CLIPTokenizer
    /// The model's `image_embeds` (not normalised) as a feature space for FD and precision/recall.
    public let imageSpace: CLIPImageFeatures
    /// What measures the score, for reports: "CLIPModel (clip.h5)".
    public let name: String
    /// Where the tokenizer was read from (nil when it was given as an object).
    public let tokenizerSource: String?
    /// The most prompts one forward pass of the text tower sees.
    public static let batchSize = 64

    /// `source` (e.g. the checkpoint's path) is named in `name`. The tokenizer must fit the text
    /// tower: its ids below `vocab_size`, and its end token the tower's `eos_token_id` (unless the
    /// config is a legacy one with eos_token_id 2, where the tower pools at the largest id).
    public init(_ model: CLIPModel, tokenizer: CLIPTokenizer, source: String? = nil, tokenizerSource: String? = nil) throws {
        let text = model.textModel
        let what = source.map { "\(CLIPModel.architecture) (\($0))" } ?? CLIPModel.architecture
        guard tokenizer.vocabularySize <= text.vocabularySize else {
            throw DiffusionError.invalidArgument(name: "CLIP score", reason: "the tokenizer\(tokenizerSource.map { " (\($0))" } ?? "") has \(tokenizer.vocabularySize) tokens, more than the text tower of \(what) reads (vocab_size \(text.vocabularySize))")
        }
        guard text.eosTokenId == 2 || text.eosTokenId == tokenizer.eos else {
            throw DiffusionError.invalidArgument(name: "CLIP score", reason: "the tokenizer's end token is id \(tokenizer.eos), the text tower of \(what) pools at eos_token_id \(text.eosTokenId): not its tokenizer")
        }
        self.model = model
        self.tokenizer = try tokenizer.withMaxLength(text.maxPositions)
        imageSpace = try CLIPImageFeatures(model, source: source)
        name = what
        self.tokenizerSource = tokenizerSource
    }

    /// Reads a Snoopi checkpoint of a CLIPModel and its tokenizer: `tokenizer` (a folder with
    /// vocab.json and merges.txt), else the one beside the checkpoint (`tokenizerFolder(beside:)`).
    /// Another architecture, or no tokenizer, is an error that says what is missing.
    public static func load(path: String, tokenizer: String? = nil) throws -> CLIPScorer {
        let checkpoint = try Checkpoint.load(path, loadTraining: false)
        guard checkpoint.architecture == CLIPModel.architecture else { throw notAModel(checkpoint.architecture, source: path) }
        guard let folder = tokenizer ?? tokenizerFolder(beside: path) else { throw missingTokenizer(path) }
        guard case .clip(let model) = try LoadedModel.load(checkpoint) else { throw notAModel(checkpoint.architecture, source: path) }
        return try CLIPScorer(model, tokenizer: CLIPTokenizer(folder: folder), source: path, tokenizerSource: folder)
    }

    /// The folder holding the CLIP tokenizer of the checkpoint at `path`: the checkpoint's own
    /// folder, else its `tokenizer/` subfolder (as a Hugging Face pipeline folder keeps it), when
    /// it holds both `vocab.json` and `merges.txt`; nil when neither does.
    public static func tokenizerFolder(beside path: String) -> String? {
        let folder = (path as NSString).deletingLastPathComponent
        let base = folder.isEmpty ? "." : folder
        return [base, (base as NSString).appendingPathComponent("tokenizer")].first { candidate in
            ["vocab.json", "merges.txt"].allSatisfy { FileManager.default.fileExists(atPath: (candidate as NSString).appendingPathComponent($0)) }
        }
    }

    /// The error for a CLIPModel without a tokenizer: names the checkpoint and where it looked.
    public static func missingTokenizer(_ path: String) -> DiffusionError {
        let folder = (path as NSString).deletingLastPathComponent
        let base = folder.isEmpty ? "." : folder
        return .invalidArgument(name: "CLIP score", reason: "\(CLIPModel.architecture) (\(path)) needs its CLIP tokenizer (vocab.json and merges.txt), "
                                + "found neither in \(base) nor in \((base as NSString).appendingPathComponent("tokenizer")); "
                                + "give the tokenizer's folder (snp eval --tokenizer FOLDER; tokenizer: in the language)")
    }

    /// The error for a checkpoint that is not a CLIPModel: a CLIP image tower has no text tower.
    public static func notAModel(_ architecture: String, source: String) -> DiffusionError {
        let tower = [CLIPVisionModel.architecture, CLIPVisionModelWithProjection.architecture].contains(architecture)
        return .invalidArgument(name: source, reason: (architecture.isEmpty ? "names no architecture" : "holds a \(architecture)")
                                + (tower ? ", a CLIP image tower without a text tower: " : ", not a CLIPModel: ")
                                + "a CLIP score needs a CLIPModel (text and image towers); convert a transformers CLIPModel folder with `snp convert FOLDER OUT.h5`")
    }

    /// The ids of each prompt (start, pieces, end; at most max_position_embeddings), unpadded.
    public func inputIDs(_ prompts: [String]) -> [[Int]] {
        prompts.map { tokenizer.encode($0, maxLength: tokenizer.maxLength) }
    }

    /// `text_embeds` [N, projection_dim] of the prompts (not normalised), without gradient.
    public func textFeatures(_ prompts: [String]) throws -> Tensor {
        guard !prompts.isEmpty else { throw DiffusionError.invalidArgument(name: "CLIP score", reason: "needs at least one prompt") }
        let ids = inputIDs(prompts)
        return try noGrad {
            let parts = try stride(from: 0, to: ids.count, by: Self.batchSize).map { start in
                let rows = ids[start..<Swift.min(ids.count, start + Self.batchSize)]
                let length = rows.map(\.count).max()!
                let padded = rows.flatMap { $0.map(Float.init) + [Float](repeating: Float(tokenizer.pad), count: length - $0.count) }
                return try model.textFeatures(Tensor(padded, shape: [rows.count, length]))
            }
            return parts.count == 1 ? parts[0] : try Tensor.concat(parts)
        }
    }

    /// `image_embeds` [N, projection_dim] of images [N, C, H, W] in [−1, 1] (not normalised).
    public func imageFeatures(_ images: Tensor) throws -> Tensor { try imageSpace.imageFeatures(images) }

    /// The CLIP score of `images` [N, C, H, W] in [−1, 1] against `prompts` (one for every image,
    /// or one per image, in order). `imageFeatures`: the images' `image_embeds` when already computed.
    public func score(_ images: Tensor, prompts: [String], imageFeatures given: Tensor? = nil) throws -> Double {
        let n = images.rank == 4 ? images.shape[0] : 0
        guard prompts.count == n || prompts.count == 1 else {
            throw DiffusionError.invalidArgument(name: "CLIP score", reason: "needs one prompt or one per image (\(n)), got \(prompts.count)")
        }
        let image = try given ?? imageFeatures(images)
        var text = try textFeatures(prompts)
        if prompts.count == 1 && n > 1 { text = try text.expand([n, text.shape[1]]) }
        return try clipScore(imageFeatures: image, textFeatures: text)
    }
}
