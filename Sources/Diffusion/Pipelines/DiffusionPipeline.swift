import Checkpoints
import Engine
import Foundation
import Models

/// A text-to-image pipeline as diffusers lays it out: a text encoder with its tokenizer, a
/// denoiser (UNet or PixArt transformer), a VAE and a scheduler — read from a diffusers folder
/// (`model_index.json` and one subfolder per part, `save_pretrained` output) or from one Snoopi
/// pipeline file (HDF5, `save(to:)`), and run as diffusers runs it:
///
///     let pipe = try DiffusionPipeline.load("sd-turbo")             // or "sd-turbo.h5", a PixArt-α folder…
///     let out = try pipe.generate(prompts: ["a cat"], kappa: 0, steps: 1, generator: RandomGenerator(seed: 0))
///     try Image(tensor: out.images[0]).save("cat.png")
///
/// Two diffusers classes:
/// - `StableDiffusionPipeline`: CLIP tokenizer and text encoder (no attention mask), UNet.
/// - `PixArtAlphaPipeline`: T5 tokenizer (120 tokens, padded) and T5 encoder run with its
///   attention mask, which the PixArt transformer's cross-attention also reads (−10000 on padded
///   tokens); prompts lowercased and stripped first (`clean_caption=False`, see
///   `pixArtTextPreprocessing`); the learned-variance half of the output dropped; at one step the
///   scheduler's predicted x0 is the result, as diffusers takes `step(…)[1]` there. PixArt-α
///   256/512 only: models with resolution and aspect-ratio conditions (PixArt-α 1024,
///   `use_additional_conditions`) are refused, and no resolution binning is done (diffusers'
///   `use_resolution_binning` snaps other sizes to its aspect-ratio bins; here the size asked
///   for is the size run, as with `use_resolution_binning=False`).
///
/// prompt → text encoder → `steps` of the scheduler's sampler (classifier-free guidance with an
/// optional negative prompt when κ > 1, as diffusers: κ ≤ 1 runs the prompt alone) → VAE decode.
/// NASA (the paper's Algorithm 1) acts when it is switched on in the denoiser
/// (`pipe.denoiser.enableNASA(…)`) and `attentionNegativePrompts` are given.
public final class DiffusionPipeline {
    /// diffusers' `_class_name` ("StableDiffusionPipeline", "PixArtAlphaPipeline").
    public let className: String
    /// A `CLIPTokenizer` (Stable Diffusion) or a `T5Tokenizer` (PixArt-α).
    public let tokenizer: any TextTokenizer
    /// A `CLIPTextModel` (Stable Diffusion) or a `T5EncoderModel` (PixArt-α).
    public let textEncoder: any PipelineTextEncoder
    /// A `UNet2DConditionModel` (Stable Diffusion) or a `PixArtTransformer2DModel` (PixArt-α).
    public let denoiser: any Module & NoisePredictor
    /// Latent pipelines' VAE (nil: the denoiser works on pixels).
    public let vae: AutoencoderKL?
    public let scheduler: SchedulerConfig
    /// Where the pipeline came from (for messages).
    public let source: String

    /// The classes this pipeline runs (others are refused with their name).
    public static let supportedClasses = ["StableDiffusionPipeline", "PixArtAlphaPipeline"]

    /// diffusers' PixArtAlphaPipeline's `max_sequence_length`: every prompt is 120 T5 tokens.
    public static let pixArtMaxSequenceLength = 120

    /// Checks that the parts fit the class and each other: Stable Diffusion takes a CLIP
    /// tokenizer and text encoder and a UNet, PixArt-α a T5 tokenizer and encoder and a PixArt
    /// transformer without resolution conditions; the text encoder's width must be what the
    /// denoiser reads, its vocabulary must hold the tokenizer's ids, and the VAE's latents must
    /// have the denoiser's channels.
    public init(className: String, tokenizer: any TextTokenizer, textEncoder: any PipelineTextEncoder, denoiser: any Module & NoisePredictor,
                vae: AutoencoderKL?, scheduler: SchedulerConfig, source: String) throws {
        func fail(_ reason: String) -> DiffusionError { .invalidArgument(name: source, reason: reason) }
        let denoiserName = denoiser.typeName, encoderName = type(of: textEncoder).architecture
        switch className {
        case "StableDiffusionPipeline":
            guard tokenizer is CLIPTokenizer, textEncoder is CLIPTextModel, denoiser is UNet2DConditionModel else {
                throw fail("a StableDiffusionPipeline runs a CLIPTokenizer, a CLIPTextModel and a UNet2DConditionModel; got \(type(of: tokenizer)), \(encoderName) and \(denoiserName)")
            }
        case "PixArtAlphaPipeline":
            guard tokenizer is T5Tokenizer, textEncoder is T5EncoderModel, let pixart = denoiser as? PixArtTransformer2DModel else {
                throw fail("a PixArtAlphaPipeline runs a T5Tokenizer, a T5EncoderModel and a PixArtTransformer2DModel; got \(type(of: tokenizer)), \(encoderName) and \(denoiserName)")
            }
            guard !pixart.usesAdditionalConditions else {
                throw fail("its PixArtTransformer2DModel takes resolution and aspect-ratio conditions (use_additional_conditions, PixArt-α 1024); Snoopi's pipeline runs PixArt-α 256 and 512 only")
            }
        default:
            throw fail("is a \(className); Snoopi runs \(Self.supportedClasses.joined(separator: ", "))")
        }
        guard denoiser.contextWidth == textEncoder.hiddenSize else {
            if denoiser is PixArtTransformer2DModel {
                throw fail("the transformer projects captions of width \(denoiser.contextWidth) (caption_channels), but the text encoder (\(encoderName)) gives states of width \(textEncoder.hiddenSize) (d_model)")
            }
            throw fail("the denoiser attends to text states of width \(denoiser.contextWidth), but the text encoder gives \(textEncoder.hiddenSize)")
        }
        if let t5 = textEncoder as? T5EncoderModel, tokenizer.vocabularySize > t5.vocabularySize {
            throw fail("the tokenizer gives ids up to \(tokenizer.vocabularySize - 1), but the text encoder's vocabulary has \(t5.vocabularySize) (vocab_size)")
        }
        if let vae, vae.latentChannels != denoiser.inChannels {
            throw fail("the VAE's latents have \(vae.latentChannels) channels, but the denoiser reads \(denoiser.inChannels)")
        }
        (self.className, self.tokenizer, self.textEncoder, self.denoiser, self.vae, self.scheduler, self.source)
            = (className, tokenizer, textEncoder, denoiser, vae, scheduler, source)
    }

    /// Whether this is a PixArt-α pipeline (T5 with masks, lowercased prompts, x0 at one step).
    public var isPixArt: Bool { className == "PixArtAlphaPipeline" }

    /// diffusers' default guidance scale for the class (StableDiffusionPipeline 7.5, PixArtAlphaPipeline 4.5).
    public var defaultKappa: Float { isPixArt ? 4.5 : 7.5 }

    /// Pixels per latent position (the VAE's; 1 without one).
    public var vaeScaleFactor: Int { vae?.downsamplingFactor ?? 1 }

    /// The image side the denoiser was built for (sample_size × the VAE's factor).
    public var defaultSide: Int { denoiser.sampleSize * vaeScaleFactor }

    /// The denoiser's part name in model_index.json and pipeline files.
    var denoiserPart: String { denoiser is PixArtTransformer2DModel ? "transformer" : "unet" }

    // MARK: Loading

    /// A diffusers pipeline folder (with `model_index.json`) or a Snoopi pipeline file.
    public static func load(_ path: String) throws -> DiffusionPipeline {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DiffusionError.invalidArgument(name: path, reason: "no such file or folder")
        }
        return isFolder.boolValue ? try load(folder: path) : try load(file: path)
    }

    /// The parts a pipeline's `model_index.json` names, with their library and class.
    static func modelIndex(_ folder: String) throws -> (className: String, parts: [String: String]) {
        let path = (folder as NSString).appendingPathComponent("model_index.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DiffusionError.invalidArgument(name: folder, reason: "has no model_index.json (a diffusers pipeline folder has one; a single model folder loads with load())")
        }
        FileAccessLog.read(path)
        guard let index = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let className = index["_class_name"] as? String else {
            throw DiffusionError.invalidArgument(name: path, reason: "is not a JSON object with a _class_name")
        }
        var parts: [String: String] = [:]
        for (key, value) in index {
            if let pair = value as? [Any], pair.count == 2, let name = pair[1] as? String { parts[key] = name }
        }
        return (className, parts)
    }

    public static func load(folder: String) throws -> DiffusionPipeline {
        let (className, parts) = try modelIndex(folder)
        guard supportedClasses.contains(className) else {
            throw DiffusionError.invalidArgument(name: folder, reason: "is a \(className); Snoopi runs \(supportedClasses.joined(separator: ", "))")
        }
        let pixart = className == "PixArtAlphaPipeline"
        func sub(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func model(_ part: String, expecting: String) throws -> LoadedModel {
            guard parts[part] != nil else { throw DiffusionError.invalidArgument(name: folder, reason: "model_index.json names no \(part)") }
            do {
                return try LoadedModel.load(ModelFolder(path: sub(part)).checkpoint(), expecting: expecting)
            } catch {
                throw DiffusionError.invalidArgument(name: sub(part), reason: "\(error)")
            }
        }
        let textEncoder: any PipelineTextEncoder, denoiser: any Module & NoisePredictor, tokenizer: any TextTokenizer
        if pixart {
            guard case .t5Encoder(let t5) = try model("text_encoder", expecting: T5EncoderModel.architecture) else { fatalError("checked by expecting") }
            guard case .pixart(let transformer) = try model("transformer", expecting: PixArtTransformer2DModel.architecture) else { fatalError("checked by expecting") }
            guard parts["tokenizer"] != nil else { throw DiffusionError.invalidArgument(name: folder, reason: "model_index.json names no tokenizer") }
            (textEncoder, denoiser) = (t5, transformer)
            tokenizer = try T5Tokenizer(folder: sub("tokenizer"), maxLength: pixArtMaxSequenceLength)
        } else {
            guard case .clipText(let text) = try model("text_encoder", expecting: CLIPTextModel.architecture) else { fatalError("checked by expecting") }
            guard case .unet(let unet) = try model("unet", expecting: UNet2DConditionModel.architecture) else { fatalError("checked by expecting") }
            (textEncoder, denoiser) = (text, unet)
            tokenizer = try CLIPTokenizer.load(folder: sub("tokenizer"))
        }
        var vae: AutoencoderKL?
        if parts["vae"] != nil {
            guard case .autoencoderKL(let v) = try model("vae", expecting: AutoencoderKL.architecture) else { fatalError("checked by expecting") }
            vae = v
        }
        let scheduler = try SchedulerConfig(contentsOf: sub("scheduler/scheduler_config.json"))
        for m in [textEncoder as Module, denoiser as Module] + (vae.map { [$0 as Module] } ?? []) { m.eval() }
        return try DiffusionPipeline(className: className, tokenizer: tokenizer, textEncoder: textEncoder, denoiser: denoiser, vae: vae,
                                     scheduler: scheduler, source: folder)
    }

    /// The architecture tag of a pipeline file.
    public static let architecture = "DiffusionPipeline"

    /// Writes the whole pipeline as one HDF5 file: each part's tensors under `PART.`
    /// (`text_encoder`, `unet` or `transformer`, `vae`), their architectures and configs, the
    /// scheduler config and the tokenizer in the file's config and string datasets — CLIP's
    /// vocabulary and merges (`tokenizer.vocab`, `tokenizer.merges`), or T5's unigram model:
    /// pieces, their scores as decimal text (exact), its added tokens as "ID TOKEN", and the
    /// normaliser's charsmap in base64 (`tokenizer.pieces`, `tokenizer.scores`,
    /// `tokenizer.added`, `tokenizer.charsmap`), with `kind` "t5-unigram", eos and pad ids and the
    /// length in the config. What `T5Tokenizer(model:charsMap:addedTokens:…)` rebuilds from,
    /// whichever file (tokenizer.json or spiece.model) the folder had.
    public func save(to path: String) throws {
        var parts: [String: Any] = [:], tensors: [(name: String, tensor: Tensor)] = []
        let models: [(String, String, Module, ModelConfig)] = [
            ("text_encoder", type(of: textEncoder).architecture, textEncoder, textEncoder.config),
            (denoiserPart, denoiser.typeName, denoiser, denoiser.config),
        ] + (vae.map { [("vae", AutoencoderKL.architecture, $0 as Module, $0.config)] } ?? [])
        for (part, architecture, module, config) in models {
            parts[part] = ["architecture": architecture, "config": config.json]
            tensors += module.stateDict().map { (part + "." + $0.name, $0.tensor) }
        }
        let tokenizerSettings: [String: Any], strings: [String: [String]]
        switch tokenizer {
        case let clip as CLIPTokenizer:
            guard let tokens = clip.tokensByID else {
                throw DiffusionError.invalidArgument(name: "tokenizer", reason: "its ids are not 0..<count, so it cannot be stored as a list")
            }
            tokenizerSettings = ["max_length": clip.maxLength, "pad": clip.pad]
            strings = ["tokenizer.vocab": tokens, "tokenizer.merges": clip.merges.map { "\($0.0) \($0.1)" }]
        case let t5 as T5Tokenizer:
            tokenizerSettings = ["kind": t5.kind, "max_length": t5.maxLength, "eos": t5.eos, "pad": t5.pad]
            var lists = ["tokenizer.pieces": t5.model.pieces.map { String(decoding: $0, as: UTF8.self) },
                         "tokenizer.scores": t5.model.scores.map { "\($0)" },
                         "tokenizer.added": t5.addedTokenIDs.sorted { $0.value < $1.value }.map { "\($0.value) \($0.key)" }]
            if let map = t5.charsMap { lists["tokenizer.charsmap"] = [Data(map.blob).base64EncodedString()] }
            strings = lists
        default:
            throw DiffusionError.invalidArgument(name: "tokenizer", reason: "a \(type(of: tokenizer)) cannot be stored in a pipeline file")
        }
        let config: [String: Any] = ["_class_name": className, "parts": parts, "scheduler": scheduler.values, "tokenizer": tokenizerSettings]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]), as: UTF8.self)
        try Checkpoint(architecture: Self.architecture, config: json, tensors: NamedTensors(tensors), strings: strings).save(path)
    }

    public static func load(file path: String) throws -> DiffusionPipeline {
        let checkpoint = try Checkpoint.load(path, loadTraining: false)
        guard checkpoint.architecture == architecture else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds a \(checkpoint.architecture), not a pipeline (snp convert --pipeline DIR makes one)")
        }
        guard let config = (try? JSONSerialization.jsonObject(with: Data(checkpoint.config.utf8))) as? [String: Any],
              let className = config["_class_name"] as? String, let parts = config["parts"] as? [String: [String: String]],
              let schedulerValues = config["scheduler"] as? [String: Any], let tokenizerSettings = config["tokenizer"] as? [String: Any] else {
            throw DiffusionError.invalidArgument(name: path, reason: "the pipeline's config lacks _class_name, parts, scheduler or tokenizer")
        }
        let all = checkpoint.tensors.dictionary
        func model(_ part: String) throws -> LoadedModel? {
            guard let entry = parts[part], let architecture = entry["architecture"], let json = entry["config"] else { return nil }
            let built = try LoadedModel.build(architecture: architecture, config: json)
            let prefix = part + "."
            try built.loadTensors(Dictionary(uniqueKeysWithValues: all.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) }))
            built.module.eval()
            return built
        }
        let textEncoder: any PipelineTextEncoder
        switch try model("text_encoder") {
        case .clipText(let clip)?: textEncoder = clip
        case .t5Encoder(let t5)?: textEncoder = t5
        default: throw DiffusionError.invalidArgument(name: path, reason: "the pipeline has no CLIPTextModel or T5EncoderModel text_encoder")
        }
        let denoiser: any Module & NoisePredictor
        switch (try model("unet"), try model("transformer")) {
        case (.unet(let unet)?, nil): denoiser = unet
        case (nil, .pixart(let pixart)?): denoiser = pixart
        default: throw DiffusionError.invalidArgument(name: path, reason: "the pipeline has no UNet2DConditionModel unet or PixArtTransformer2DModel transformer")
        }
        var vae: AutoencoderKL?
        if let loaded = try model("vae") {
            guard case .autoencoderKL(let v) = loaded else { throw DiffusionError.invalidArgument(name: path, reason: "its vae is not an AutoencoderKL") }
            vae = v
        }
        let tokenizer: any TextTokenizer = try (tokenizerSettings["kind"] as? String ?? "clip-bpe") == "t5-unigram"
            ? storedT5Tokenizer(checkpoint.strings, tokenizerSettings, path: path)
            : storedCLIPTokenizer(checkpoint.strings, tokenizerSettings, path: path)
        return try DiffusionPipeline(className: className, tokenizer: tokenizer, textEncoder: textEncoder, denoiser: denoiser, vae: vae,
                                     scheduler: SchedulerConfig(schedulerValues, source: path), source: path)
    }

    private static func storedCLIPTokenizer(_ strings: [String: [String]], _ settings: [String: Any], path: String) throws -> CLIPTokenizer {
        guard let tokens = strings["tokenizer.vocab"], let mergeLines = strings["tokenizer.merges"], let maxLength = settings["max_length"] as? Int else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds no tokenizer (tokenizer.vocab, tokenizer.merges, max_length)")
        }
        let merges = mergeLines.compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        let tokenizer = try CLIPTokenizer(vocabulary: Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a }),
                                          merges: merges, maxLength: maxLength)
        if let pad = settings["pad"] as? Int { tokenizer.pad = pad }
        return tokenizer
    }

    private static func storedT5Tokenizer(_ strings: [String: [String]], _ settings: [String: Any], path: String) throws -> T5Tokenizer {
        func fail(_ reason: String) -> DiffusionError { .invalidArgument(name: path, reason: reason) }
        guard let pieces = strings["tokenizer.pieces"], let scoreTexts = strings["tokenizer.scores"], let addedLines = strings["tokenizer.added"],
              let maxLength = settings["max_length"] as? Int, let eos = settings["eos"] as? Int, let pad = settings["pad"] as? Int else {
            throw fail("holds no T5 tokenizer (tokenizer.pieces, tokenizer.scores, tokenizer.added, max_length, eos, pad)")
        }
        let scores = scoreTexts.compactMap(Double.init)
        guard scores.count == pieces.count else { throw fail("its T5 tokenizer has \(pieces.count) pieces but \(scoreTexts.count) scores (or scores that are not numbers)") }
        var added: [String: Int] = [:]
        for line in addedLines {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let id = Int(parts[0]) else { throw fail("its T5 tokenizer's added token \"\(line)\" is not \"ID TOKEN\"") }
            added[String(parts[1])] = id
        }
        var charsMap: PrecompiledCharsMap?
        if let text = strings["tokenizer.charsmap"]?.first {
            guard let blob = Data(base64Encoded: text), let map = PrecompiledCharsMap(Array(blob)) else { throw fail("its T5 tokenizer's charsmap is malformed") }
            charsMap = map
        }
        let model = UnigramModel(pieces: zip(pieces, scores).map { (piece: $0, score: $1) }, unknownID: T5Tokenizer.unknownID)
        return try T5Tokenizer(model: model, charsMap: charsMap, addedTokens: added, eos: eos, pad: pad, maxLength: maxLength)
    }

    // MARK: Running

    /// The text encoder's last hidden states [B, L, D] for `prompts` (padded to the tokenizer's
    /// length) and, for PixArt-α, the attention mask [B, L] (1 on the prompt's tokens and `</s>`,
    /// 0 on padding) that both the T5 encoder and the transformer read; nil for Stable Diffusion.
    /// PixArt-α prompts are lowercased and stripped first (`pixArtTextPreprocessing`).
    public func encodeWithMask(_ prompts: [String]) throws -> (states: Tensor, mask: Tensor?) {
        guard !prompts.isEmpty else { throw DiffusionError.invalidArgument(name: "prompts", reason: "the prompt list is empty") }
        return try noGrad {
            if let t5 = tokenizer as? T5Tokenizer {
                let (ids, mask) = try t5.batch(prompts.map(Self.pixArtTextPreprocessing))
                return (try textEncoder.lastHiddenState(ids, attentionMask: mask), mask)
            }
            let length = tokenizer.maxLength
            let ids = try Tensor(prompts.flatMap { tokenizer.paddedIDs($0).map(Float.init) }, shape: [prompts.count, length])
            return (try textEncoder.lastHiddenState(ids, attentionMask: nil), nil)
        }
    }

    /// The text encoder's last hidden states [B, L, D] for `prompts` (see `encodeWithMask`).
    public func encode(_ prompts: [String]) throws -> Tensor { try encodeWithMask(prompts).states }

    /// What `generate` returns: the final latents and their decoded images in [−1, 1].
    public struct Output {
        public let latents: Tensor
        public let images: Tensor
    }

    /// Images for `prompts`: `steps` of `sampler` (default: the scheduler config's own) from
    /// `latents` (the initial noise [B, C, h, w]; default drawn from `generator`), classifier-free
    /// guidance at `kappa` (default: diffusers' for the class, `defaultKappa`) when κ > 1 against
    /// `negativePrompts` (default ""), then the VAE's decode. `height`/`width` default to the
    /// denoiser's sample size times the VAE's factor.
    ///
    /// PixArt-α: the text masks go with their states through guidance (the negative prompt's own
    /// mask for its branch), and a one-step run returns the sampler's predicted x0 (diffusers'
    /// PixArtAlphaPipeline takes `scheduler.step(…)[1]` when num_inference_steps is 1; for DDIM
    /// this differs from the step's result, for Euler and DPM-Solver++ with a final σ of 0 it is
    /// the same up to rounding — diffusers cannot run DPMSolverMultistepScheduler at one step there).
    public func generate(prompts: [String], negativePrompts: [String]? = nil, kappa: Float? = nil, steps: Int = 20,
                         sampler kind: WorldTeacher.SamplerKind? = nil, height: Int? = nil, width: Int? = nil,
                         latents given: Tensor? = nil, attentionNegativePrompts: [String]? = nil,
                         generator: RandomGenerator, onStep: StepCallback? = nil) throws -> Output {
        guard !prompts.isEmpty else { throw DiffusionError.invalidArgument(name: "prompts", reason: "the prompt list is empty") }
        for (name, list) in [("negative prompts", negativePrompts), ("attention negative prompts", attentionNegativePrompts)] {
            if let list, list.count != prompts.count {
                throw DiffusionError.invalidArgument(name: name, reason: "need one per prompt (\(prompts.count)), got \(list.count)")
            }
        }
        let kappa = kappa ?? defaultKappa
        let f = vaeScaleFactor
        let h = height ?? defaultSide, w = width ?? defaultSide
        guard h >= f, w >= f, h % f == 0, w % f == 0 else {
            throw DiffusionError.invalidArgument(name: "size", reason: "height and width must be multiples of \(f) (the VAE's factor), got \(h)×\(w)")
        }
        let shape = [prompts.count, denoiser.inChannels, h / f, w / f]
        if let given, given.shape != shape {
            throw DiffusionError.invalidArgument(name: "latents", reason: "must be \(shape) for \(prompts.count) prompts at \(h)×\(w), got \(given.shape)")
        }
        let sampler = try scheduler.sampler(kind)
        // diffusers runs classifier-free guidance only for a guidance scale above 1.
        let guided = kappa > 1
        let text = try encodeWithMask(prompts)
        let unconditionalText = guided ? try encodeWithMask(negativePrompts ?? Array(repeating: "", count: prompts.count)) : nil
        let away = try attentionNegativePrompts.map { try encodeWithMask($0) }
        // Masked text (PixArt) travels through ClassifierFreeGuidance, which batches the
        // unconditional and conditional contexts together, with its mask as one more feature
        // (states ‖ mask: [B, L, D + 1]), so that each branch keeps its own; the denoiser splits
        // them again. Copies of exact values: nothing is computed on the extra feature.
        let width = textEncoder.hiddenSize
        func packed(_ t: (states: Tensor, mask: Tensor?)) throws -> Tensor {
            guard let mask = t.mask else { return t.states }
            return try Tensor.concat([t.states, mask.unsqueeze(2)], axis: 2)
        }
        let network = denoiser, masked = denoiser as? any MaskedNoisePredictor
        func repeated(_ t: Tensor?, to batch: Int) throws -> Tensor? {
            guard let t else { return nil }
            return t.shape[0] == batch ? t : try Tensor.concat(Array(repeating: t, count: batch / t.shape[0]))
        }
        let model: ConditionalDenoiser = { x, t, context in
            let batch = x.shape[0], timestep = Tensor.full([x.shape[0]], t)
            let negative = try repeated(away?.states, to: batch)
            guard let masked, context.shape[2] == width + 1 else {
                return try network.prediction(x, timestep: timestep, context: context, negativeContext: negative)
            }
            let states = try context.slice(axis: 2, end: width)
            let mask = try context.slice(axis: 2, start: width).reshape([context.shape[0], context.shape[1]])
            return try masked.prediction(x, timestep: timestep, context: states, contextMask: mask,
                                         negativeContext: negative, negativeContextMask: try repeated(away?.mask, to: batch))
        }
        let guidance = try ClassifierFreeGuidance(model: model, context: try packed(text),
                                                  unconditionalContext: try unconditionalText.map(packed), kappa: guided ? kappa : 1)
        return try noGrad {
            let noise = try given ?? Tensor.randn(shape, generator: generator)
            let final: Tensor
            if isPixArt && steps == 1, let ddim = sampler as? DDIM {
                // diffusers' PixArt pipelines at one step: the step's pred_original_sample.
                let t = try ddim.integerTimesteps(steps: 1)[0]
                let output = try guidance.denoiser(noise, Float(t))
                final = try ddim.step(modelOutput: output, timestep: t, sample: noise, steps: 1, generator: generator).predictedX0
                try onStep?(0, final)
            } else {
                final = try sampler.sample(guidance.denoiser, noise: noise, steps: steps, generator: generator, onStep: onStep)
            }
            let images = try vae.map { try $0.images(fromLatents: final) } ?? final
            return Output(latents: final, images: try images.clamp(min: -1, max: 1))
        }
    }
}

extension DiffusionPipeline {
    /// This pipeline with another denoiser (of the same shape) and scheduler: a distilled
    /// student's pipeline.
    public func replacing(denoiser: any Module & NoisePredictor, scheduler: SchedulerConfig) throws -> DiffusionPipeline {
        try DiffusionPipeline(className: className, tokenizer: tokenizer, textEncoder: textEncoder, denoiser: denoiser, vae: vae,
                              scheduler: scheduler, source: source)
    }
}
