import Checkpoints
import Engine
import Foundation
import Models

/// A text-to-image pipeline as diffusers lays it out: a text encoder with its tokenizer, a
/// denoiser (UNet or PixArt transformer), a VAE and a scheduler — read from a diffusers folder
/// (`model_index.json` and one subfolder per part, `save_pretrained` output) or from one Snoopi
/// pipeline file (HDF5, `save(to:)`), and run as diffusers' `StableDiffusionPipeline` runs:
///
///     let pipe = try DiffusionPipeline.load("sd-turbo")             // or "sd-turbo.h5"
///     let out = try pipe.generate(prompts: ["a cat"], kappa: 0, steps: 1, generator: RandomGenerator(seed: 0))
///     try Image(tensor: out.images[0]).save("cat.png")
///
/// prompt → text encoder → `steps` of the scheduler's sampler (classifier-free guidance with an
/// optional negative prompt when κ > 1, as diffusers: κ ≤ 1 runs the prompt alone) → VAE decode.
/// NASA (the paper's Algorithm 1) acts when it is switched on in the denoiser
/// (`pipe.denoiser.enableNASA(…)`) and `attentionNegativePrompts` are given.
public final class DiffusionPipeline {
    /// diffusers' `_class_name` ("StableDiffusionPipeline", …).
    public let className: String
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let denoiser: any Module & NoisePredictor
    /// Latent pipelines' VAE (nil: the denoiser works on pixels).
    public let vae: AutoencoderKL?
    public let scheduler: SchedulerConfig
    /// Where the pipeline came from (for messages).
    public let source: String

    public init(className: String, tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, denoiser: any Module & NoisePredictor,
                vae: AutoencoderKL?, scheduler: SchedulerConfig, source: String) throws {
        guard denoiser.contextWidth == textEncoder.hiddenSize else {
            throw DiffusionError.invalidArgument(name: source, reason: "the denoiser attends to text states of width \(denoiser.contextWidth), but the text encoder gives \(textEncoder.hiddenSize)")
        }
        if let vae, vae.latentChannels != denoiser.inChannels {
            throw DiffusionError.invalidArgument(name: source, reason: "the VAE's latents have \(vae.latentChannels) channels, but the denoiser reads \(denoiser.inChannels)")
        }
        (self.className, self.tokenizer, self.textEncoder, self.denoiser, self.vae, self.scheduler, self.source)
            = (className, tokenizer, textEncoder, denoiser, vae, scheduler, source)
    }

    /// The classes this pipeline runs (others are refused with their name).
    public static let supportedClasses = ["StableDiffusionPipeline"]

    /// Pixels per latent position (the VAE's; 1 without one).
    public var vaeScaleFactor: Int { vae?.downsamplingFactor ?? 1 }

    /// The image side the denoiser was built for (sample_size × the VAE's factor).
    public var defaultSide: Int { denoiser.sampleSize * vaeScaleFactor }

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
        func sub(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func model(_ part: String, expecting: String) throws -> LoadedModel {
            guard parts[part] != nil else { throw DiffusionError.invalidArgument(name: folder, reason: "model_index.json names no \(part)") }
            do {
                return try LoadedModel.load(ModelFolder(path: sub(part)).checkpoint(), expecting: expecting)
            } catch {
                throw DiffusionError.invalidArgument(name: sub(part), reason: "\(error)")
            }
        }
        guard case .clipText(let text) = try model("text_encoder", expecting: CLIPTextModel.architecture) else { fatalError("checked by expecting") }
        guard case .unet(let unet) = try model("unet", expecting: UNet2DConditionModel.architecture) else { fatalError("checked by expecting") }
        var vae: AutoencoderKL?
        if parts["vae"] != nil {
            guard case .autoencoderKL(let v) = try model("vae", expecting: AutoencoderKL.architecture) else { fatalError("checked by expecting") }
            vae = v
        }
        let tokenizer = try CLIPTokenizer.load(folder: sub("tokenizer"))
        let scheduler = try SchedulerConfig(contentsOf: sub("scheduler/scheduler_config.json"))
        for m in [text as Module, unet as Module] + (vae.map { [$0 as Module] } ?? []) { m.eval() }
        return try DiffusionPipeline(className: className, tokenizer: tokenizer, textEncoder: text, denoiser: unet, vae: vae,
                                     scheduler: scheduler, source: folder)
    }

    /// The architecture tag of a pipeline file.
    public static let architecture = "DiffusionPipeline"
    static let partNames = ["text_encoder", "unet", "vae"]

    /// Writes the whole pipeline as one HDF5 file: each part's tensors under `PART.`, their
    /// architectures and configs, the scheduler config and the tokenizer (vocabulary, merges,
    /// length, pad) in the file's config and string datasets.
    public func save(to path: String) throws {
        var parts: [String: Any] = [:], tensors: [(name: String, tensor: Tensor)] = []
        let models: [(String, String, Module, ModelConfig)] = [
            ("text_encoder", CLIPTextModel.architecture, textEncoder, textEncoder.config),
            ("unet", UNet2DConditionModel.architecture, denoiser, denoiser.config),
        ] + (vae.map { [("vae", AutoencoderKL.architecture, $0 as Module, $0.config)] } ?? [])
        for (part, architecture, module, config) in models {
            parts[part] = ["architecture": architecture, "config": config.json]
            tensors += module.stateDict().map { (part + "." + $0.name, $0.tensor) }
        }
        guard let tokens = tokenizer.tokensByID else {
            throw DiffusionError.invalidArgument(name: "tokenizer", reason: "its ids are not 0..<count, so it cannot be stored as a list")
        }
        let config: [String: Any] = ["_class_name": className, "parts": parts, "scheduler": scheduler.values,
                                     "tokenizer": ["max_length": tokenizer.maxLength, "pad": tokenizer.pad]]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]), as: UTF8.self)
        try Checkpoint(architecture: Self.architecture, config: json, tensors: NamedTensors(tensors),
                       strings: ["tokenizer.vocab": tokens, "tokenizer.merges": tokenizer.merges.map { "\($0.0) \($0.1)" }]).save(path)
    }

    public static func load(file path: String) throws -> DiffusionPipeline {
        let checkpoint = try Checkpoint.load(path, loadTraining: false)
        guard checkpoint.architecture == architecture else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds a \(checkpoint.architecture), not a pipeline (snp convert --pipeline DIR makes one)")
        }
        guard let config = (try? JSONSerialization.jsonObject(with: Data(checkpoint.config.utf8))) as? [String: Any],
              let className = config["_class_name"] as? String, let parts = config["parts"] as? [String: [String: String]],
              let schedulerValues = config["scheduler"] as? [String: Any], let tokenizerSettings = config["tokenizer"] as? [String: Int] else {
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
        guard case .clipText(let text)? = try model("text_encoder"), case .unet(let unet)? = try model("unet") else {
            throw DiffusionError.invalidArgument(name: path, reason: "the pipeline has no CLIPTextModel text_encoder and UNet2DConditionModel unet")
        }
        var vae: AutoencoderKL?
        if let loaded = try model("vae") {
            guard case .autoencoderKL(let v) = loaded else { throw DiffusionError.invalidArgument(name: path, reason: "its vae is not an AutoencoderKL") }
            vae = v
        }
        guard let tokens = checkpoint.strings["tokenizer.vocab"], let mergeLines = checkpoint.strings["tokenizer.merges"],
              let maxLength = tokenizerSettings["max_length"] else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds no tokenizer (tokenizer.vocab, tokenizer.merges, max_length)")
        }
        let merges = mergeLines.compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        let tokenizer = try CLIPTokenizer(vocabulary: Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a }),
                                          merges: merges, maxLength: maxLength)
        if let pad = tokenizerSettings["pad"] { tokenizer.pad = pad }
        return try DiffusionPipeline(className: className, tokenizer: tokenizer, textEncoder: text, denoiser: unet, vae: vae,
                                     scheduler: SchedulerConfig(schedulerValues, source: path), source: path)
    }

    // MARK: Running

    /// The text encoder's last hidden states [B, L, D] for `prompts` (padded to the tokenizer's length).
    public func encode(_ prompts: [String]) throws -> Tensor {
        let ids = prompts.map { tokenizer.paddedIDs($0) }
        let length = tokenizer.maxLength
        return try noGrad { try textEncoder(Tensor(ids.flatMap { $0.map(Float.init) }, shape: [prompts.count, length])).lastHiddenState }
    }

    /// What `generate` returns: the final latents and their decoded images in [−1, 1].
    public struct Output {
        public let latents: Tensor
        public let images: Tensor
    }

    /// Images for `prompts`: `steps` of `sampler` (default: the scheduler config's own) from
    /// `latents` (the initial noise [B, C, h, w]; default drawn from `generator`), classifier-free
    /// guidance at `kappa` when κ > 1 against `negativePrompts` (default ""), then the VAE's decode.
    /// `height`/`width` default to the denoiser's sample size times the VAE's factor.
    public func generate(prompts: [String], negativePrompts: [String]? = nil, kappa: Float = 7.5, steps: Int = 20,
                         sampler kind: WorldTeacher.SamplerKind? = nil, height: Int? = nil, width: Int? = nil,
                         latents given: Tensor? = nil, attentionNegativePrompts: [String]? = nil,
                         generator: RandomGenerator, onStep: StepCallback? = nil) throws -> Output {
        guard !prompts.isEmpty else { throw DiffusionError.invalidArgument(name: "prompts", reason: "the prompt list is empty") }
        for (name, list) in [("negative prompts", negativePrompts), ("attention negative prompts", attentionNegativePrompts)] {
            if let list, list.count != prompts.count {
                throw DiffusionError.invalidArgument(name: name, reason: "need one per prompt (\(prompts.count)), got \(list.count)")
            }
        }
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
        let context = try encode(prompts)
        // diffusers runs classifier-free guidance only for a guidance scale above 1.
        let guided = kappa > 1
        let unconditional = guided ? try encode(negativePrompts ?? Array(repeating: "", count: prompts.count)) : nil
        let away = try attentionNegativePrompts.map { try encode($0) }
        let network = denoiser
        let model: ConditionalDenoiser = { x, t, context in
            let negative = try away.map { a in x.shape[0] == a.shape[0] ? a : try Tensor.concat(Array(repeating: a, count: x.shape[0] / a.shape[0])) }
            return try network.prediction(x, timestep: Tensor.full([x.shape[0]], t), context: context, negativeContext: negative)
        }
        let guidance = try ClassifierFreeGuidance(model: model, context: context, unconditionalContext: unconditional, kappa: guided ? kappa : 1)
        return try noGrad {
            let noise = try given ?? Tensor.randn(shape, generator: generator)
            let final = try sampler.sample(guidance.denoiser, noise: noise, steps: steps, generator: generator, onStep: onStep)
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
