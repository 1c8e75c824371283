import Checkpoints
import Engine
import Foundation
import Models

/// A multi-step text-to-image teacher of the shapes world, put together as Stable Diffusion is:
/// a denoising network (a diffusers `UNet2DConditionModel` or `PixArtTransformer2DModel`, here
/// in pixel space: 3 channels at the world's side), the frozen text tower of the world's
/// contrastive encoder (`ShapesCLIP`, as CLIP's is for SD), and a noise schedule (SD's
/// scaled-linear β by default, so ᾱ_999 ≈ 0.00466 as in the paper's teachers).
///
/// The checkpoint is a plain diffusers-named network checkpoint (loadable by `LoadedModel`,
/// exportable with `snp convert --to-diffusers`) whose config carries the pipeline's metadata
/// under `_snoopi_*` keys: the encoder's file (relative to the teacher's), the schedule, the side.
///
///     let teacher = try WorldTeacher.load("Notebooks/checkpoints/shapes-teacher-unet.h5")
///     let images = try teacher.sample(prompts: ["a red circle"], kappa: 3, generator: RandomGenerator(seed: 0))
public final class WorldTeacher {
    /// The network kinds a teacher can have.
    public enum Kind: String, CaseIterable, Sendable {
        case unet, pixart
    }

    /// The denoiser: ε(x_t, t, y).
    public let network: any Module & NoisePredictor
    /// The contrastive encoder whose text tower conditions the network (frozen).
    public let encoder: ShapesCLIP
    /// Where the encoder's checkpoint is, relative to the teacher's when saved (nil: not saved yet).
    public var encoderPath: String?
    public let schedule: NoiseSchedule
    private var contextCache: [String: Tensor] = [:]

    /// Image side, the encoder's and the network's.
    public var side: Int { encoder.side }
    /// The network's architecture name (diffusers').
    public var architecture: String { network.typeName }
    public var kind: Kind { network is PixArtTransformer2DModel ? .pixart : .unet }

    /// Puts a teacher together; the network must read and predict 3 channels at the encoder's side
    /// and attend to contexts as wide as the encoder's text features.
    public init(network: any Module & NoisePredictor, encoder: ShapesCLIP, encoderPath: String? = nil,
                schedule: NoiseSchedule = .stableDiffusion) throws {
        guard network.inChannels == 3 else {
            throw DiffusionError.invalidArgument(name: "teacher", reason: "a pixel-space teacher reads 3 channels, the network reads \(network.inChannels)")
        }
        guard network.contextWidth == encoder.width else {
            throw DiffusionError.invalidArgument(name: "teacher", reason: "the network attends to \(network.contextWidth)-wide contexts, the encoder gives \(encoder.width)")
        }
        guard network.sampleSize == encoder.side else {
            throw DiffusionError.invalidArgument(name: "teacher", reason: "the network is built for side \(network.sampleSize), the encoder for \(encoder.side)")
        }
        self.network = network
        self.encoder = encoder
        self.encoderPath = encoderPath
        self.schedule = schedule
        encoder.eval()
        _ = try encoder.freeze()
    }

    /// The diffusers config of a tiny teacher network of `kind` for images of `side` pixels
    /// conditioned on `contextWidth`-wide text features.
    public static func tinyConfig(_ kind: Kind, side: Int, contextWidth: Int) -> ModelConfig {
        switch kind {
        case .unet:
            // A plain block at full resolution, cross-attention at side/2 (64 tokens at side 16)
            // and in the mid block: small enough for hundreds of VSD steps a minute on 2 cores.
            return ModelConfig(architecture: UNet2DConditionModel.architecture, values: [
                "sample_size": side, "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
                "block_out_channels": [32, 64],
                "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
                "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
                "cross_attention_dim": contextWidth, "attention_head_dim": 8, "norm_num_groups": 8,
            ])
        case .pixart:
            // Patches of 2×2 pixels: side²/4 tokens of width 4 × 32. (Width 4 × 16 plateaued at
            // FD 135 with blotchy shapes after 4,000 steps; Docs/results.md.)
            return ModelConfig(architecture: PixArtTransformer2DModel.architecture, values: [
                "sample_size": side, "patch_size": 2, "in_channels": 3, "out_channels": 3, "num_layers": 4,
                "num_attention_heads": 4, "attention_head_dim": 32, "cross_attention_dim": 128,
                "caption_channels": contextWidth, "use_additional_conditions": false, "norm_type": "ada_norm_single",
            ])
        }
    }

    /// A freshly initialised tiny teacher of `kind` on `encoder`.
    /// `overrides` replace keys of the tiny config (e.g. `["patch_size": 1]`): the network's
    /// own config rules reject unknown keys and bad values. `pixartAlphaInit` draws a PixArt's
    /// weights as PixArt-α's training code does (`initializeForTraining`) instead of PyTorch's
    /// default layer init (the shipped teachers'); it made no measurable difference to FD by step
    /// 3,000 (Docs/results.md).
    public static func tiny(_ kind: Kind, encoder: ShapesCLIP, encoderPath: String? = nil, seed: UInt64 = 0,
                            overrides: [String: Any] = [:], pixartAlphaInit: Bool = false) throws -> WorldTeacher {
        let base = tinyConfig(kind, side: encoder.side, contextWidth: encoder.width)
        let config = ModelConfig(architecture: base.architecture, values: base.values.merging(overrides) { $1 })
        let network: any Module & NoisePredictor
        switch kind {
        case .unet: network = try UNet2DConditionModel(config: config, seed: seed)
        case .pixart:
            let pixart = try PixArtTransformer2DModel(config: config, seed: seed)
            if pixartAlphaInit { try pixart.initializeForTraining(seed: seed) }
            network = pixart
        }
        return try WorldTeacher(network: network, encoder: encoder, encoderPath: encoderPath)
    }

    // MARK: Conditioning

    /// Text-encoder states [B, maxLength, width] of captions (the empty caption is the unconditional
    /// branch), computed without gradient and cached per caption.
    public func context(_ captions: [String]) throws -> Tensor {
        guard !captions.isEmpty else { throw DiffusionError.invalidArgument(name: "prompts", reason: "the prompt list is empty") }
        // One caption at a time: a caption's states must not depend on which captions happened to
        // be encoded with it (BLAS may sum in another order for another batch size), or a
        // resumed run would drift from an uninterrupted one.
        for caption in captions where contextCache[caption] == nil {
            contextCache[caption] = try noGrad { try encoder.context([caption]) }
        }
        return try Tensor.concat(captions.map { contextCache[$0]! })
    }

    /// The network's ε prediction for `x` [B, 3, side, side] at per-sample timesteps `t`.
    public func epsilon(_ x: Tensor, t: [Int], context: Tensor) throws -> Tensor {
        try network.prediction(x, timestep: Tensor(t.map(Float.init), shape: [t.count]), context: context)
    }

    // MARK: Sampling

    /// The samplers `sample` knows by name.
    public enum SamplerKind: String, CaseIterable, Sendable {
        case ddim, dpmsolver, euler
    }

    /// A sampler of `kind` on this teacher's schedule (SD's settings: DDIM leading + offset 1,
    /// DPM-Solver++(2M) and Euler linspace).
    public func sampler(_ kind: SamplerKind) throws -> any Sampler {
        switch kind {
        case .ddim: return try DDIM(schedule: schedule, spacing: .leading, stepsOffset: 1, setAlphaToOne: false)
        case .dpmsolver: return try DPMSolverMultistep(schedule: schedule)
        case .euler: return try EulerDiscrete(schedule: schedule)
        }
    }

    /// Images [B, 3, side, side] in [−1, 1] for `prompts`, with classifier-free guidance (eq. 4)
    /// at scale `kappa` — one value, or one per prompt — and, per prompt, a negative prompt in the
    /// unconditional branch (eq. 5; "" is the plain unconditional branch). `steps` of `sampler`.
    ///
    /// With `attentionNegativePrompts`, every attention processor also receives those prompts'
    /// context (NASA, when installed on the network, steers away from it in both CFG branches).
    /// `noise`: the starting noise [B, 3, side, side] (default: drawn first from `generator`).
    public func sample(prompts: [String], negativePrompts: [String]? = nil, kappa: [Float], steps: Int = 20,
                       sampler kind: SamplerKind = .dpmsolver, attentionNegativePrompts: [String]? = nil,
                       noise given: Tensor? = nil, generator: RandomGenerator, onStep: StepCallback? = nil) throws -> Tensor {
        guard !prompts.isEmpty else { throw DiffusionError.invalidArgument(name: "prompts", reason: "the prompt list is empty") }
        guard kappa.count == 1 || kappa.count == prompts.count else {
            throw DiffusionError.invalidArgument(name: "kappa", reason: "give one κ or one per prompt (\(prompts.count)), got \(kappa.count)")
        }
        if let negativePrompts, negativePrompts.count != prompts.count {
            throw DiffusionError.invalidArgument(name: "negative prompts", reason: "need one per prompt (\(prompts.count)), got \(negativePrompts.count)")
        }
        if let attentionNegativePrompts, attentionNegativePrompts.count != prompts.count {
            throw DiffusionError.invalidArgument(name: "attention negative prompts", reason: "need one per prompt (\(prompts.count)), got \(attentionNegativePrompts.count)")
        }
        let network = self.network
        let away = try attentionNegativePrompts.map { try self.context($0) }
        let model: ConditionalDenoiser = { x, t, context in
            // Both CFG branches may run as one batch of 2B: repeat the negative context to match.
            let negative = try away.map { a in x.shape[0] == a.shape[0] ? a : try Tensor.concat(Array(repeating: a, count: x.shape[0] / a.shape[0])) }
            return try network.prediction(x, timestep: Tensor.full([x.shape[0]], t), context: context, negativeContext: negative)
        }
        let context = try self.context(prompts)
        let unconditional = try self.context(negativePrompts ?? Array(repeating: "", count: prompts.count))
        let guidance = kappa.count == 1
            ? try ClassifierFreeGuidance(model: model, context: context, unconditionalContext: unconditional, kappa: kappa[0])
            : try ClassifierFreeGuidance(model: model, context: context, unconditionalContext: unconditional,
                                         kappa: Tensor(kappa, shape: [kappa.count]))
        let sampler = try self.sampler(kind)
        return try noGrad {
            let shape = [prompts.count, 3, side, side]
            if let given, given.shape != shape {
                throw DiffusionError.invalidArgument(name: "noise", reason: "must be \(shape) for \(prompts.count) prompts, got \(given.shape)")
            }
            let noise = try given ?? Tensor.randn(shape, generator: generator)
            return try sampler.sample(guidance.denoiser, noise: noise, steps: steps, generator: generator, onStep: onStep)
                .clamp(min: -1, max: 1)
        }
    }

    /// `sample` with one κ for every prompt.
    public func sample(prompts: [String], negativePrompts: [String]? = nil, kappa: Float, steps: Int = 20,
                       sampler kind: SamplerKind = .dpmsolver, generator: RandomGenerator) throws -> Tensor {
        try sample(prompts: prompts, negativePrompts: negativePrompts, kappa: [kappa], steps: steps, sampler: kind, generator: generator)
    }

    // MARK: Checkpoints

    static let metadataPrefix = "_snoopi_"

    /// The network's config with the pipeline's metadata added; `pipeline` tags what the network
    /// is ("WorldTeacher", or "OneStepStudent" for a distilled student); `metadata` adds keys of
    /// the pipeline's own (a student's conditioning timestep).
    public func checkpoint(pipeline: String = "WorldTeacher", metadata: [String: Any] = [:]) throws -> Checkpoint {
        var values = network.config.values
        values.merge(metadata) { $1 }
        values["_snoopi_pipeline"] = pipeline
        values["_snoopi_text_encoder"] = encoderPath ?? ""
        values["_snoopi_side"] = side
        values["_snoopi_beta_schedule"] = schedule.betaSchedule.rawValue
        values["_snoopi_beta_start"] = schedule.betaStart
        values["_snoopi_beta_end"] = schedule.betaEnd
        values["_snoopi_train_timesteps"] = schedule.trainSteps
        return Checkpoint(architecture: architecture, config: ModelConfig(architecture: architecture, values: values).json,
                          // Copies: the weights may be swapped (EMA) right after this returns.
                          tensors: try NamedTensors(network.stateDict().map { ($0.name, $0.tensor.detach().copy()) }))
    }

    /// Saves the network (weights as they are now) atomically, its text encoder inside it.
    public func save(to path: String, pipeline: String = "WorldTeacher") throws {
        try save(checkpoint(pipeline: pipeline), to: path)
    }

    /// The names under which a saved pipeline holds its text encoder's tensors (one file is one
    /// model: copying it alone is enough).
    static let embeddedEncoderPrefix = "_snoopi_text_encoder."

    /// A saved pipeline's own network tensors: the checkpoint's tensors less the embedded encoder.
    public static func networkTensors(of checkpoint: Checkpoint) throws -> NamedTensors {
        try NamedTensors(checkpoint.tensors.filter { !$0.name.hasPrefix(embeddedEncoderPrefix) })
    }

    /// Saves `checkpoint` (made by `checkpoint(pipeline:)`, perhaps with training state) with the
    /// encoder embedded (its tensors under `_snoopi_text_encoder.`, its config — side, width,
    /// tokenizer kind, text tower — under `_snoopi_text_encoder_*` keys, a CLIP BPE tokenizer's
    /// vocabulary and merges as `_snoopi_text_encoder.tokenizer.*` string datasets) and, for the
    /// record, the file it came from (relative to `path`'s folder).
    public func save(_ checkpoint: Checkpoint, to path: String) throws {
        var checkpoint = checkpoint
        var config = try checkpoint.configDictionary()
        config["_snoopi_text_encoder"] = encoderPath.map { Self.relativePath($0, from: (path as NSString).deletingLastPathComponent) } ?? ""
        for key in config.keys where key.hasPrefix("_snoopi_text_encoder_") { config[key] = nil }
        for (key, value) in encoder.configValues { config["_snoopi_text_encoder_" + key] = value }
        checkpoint.config = ModelConfig(architecture: architecture, values: config).json
        checkpoint.tensors = try NamedTensors(Array(Self.networkTensors(of: checkpoint)) + encoder.stateDict().map { (Self.embeddedEncoderPrefix + $0.name, $0.tensor) })
        checkpoint.strings = checkpoint.strings.filter { !$0.key.hasPrefix(Self.embeddedEncoderPrefix) }
        for (name, list) in encoder.tokenizerStrings { checkpoint.strings[Self.embeddedEncoderPrefix + name] = list }
        try checkpoint.save(path)
    }

    /// Loads a teacher saved with `save(to:)`, with its encoder (found relative to `path`).
    public static func load(_ path: String, pipeline: String = "WorldTeacher") throws -> WorldTeacher {
        try load(Checkpoint.load(path, loadTraining: false), path: path, pipeline: pipeline)
    }

    /// Builds the teacher a checkpoint describes; `path` is where it was read from (for the
    /// encoder's relative path).
    public static func load(_ checkpoint: Checkpoint, path: String, pipeline: String = "WorldTeacher") throws -> WorldTeacher {
        let config = try checkpoint.configDictionary()
        let found = config["_snoopi_pipeline"] as? String
        guard found == pipeline, let encoderName = config["_snoopi_text_encoder"] as? String else {
            throw DiffusionError.invalidArgument(name: path, reason: found.map { "holds a \($0), not a \(pipeline)" }
                ?? "is a \(checkpoint.architecture) checkpoint but not a shapes-world pipeline (no _snoopi_pipeline in its config)")
        }
        let encoderPath = encoderName.isEmpty ? nil : encoderName.hasPrefix("/") ? encoderName
            : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(encoderName)
        // The encoder inside the file (the current form), else the sibling file it names (files
        // written before encoders were embedded).
        let embedded = checkpoint.tensors.filter { $0.name.hasPrefix(embeddedEncoderPrefix) }
        let encoder: ShapesCLIP
        var checkpoint = checkpoint
        if !embedded.isEmpty {
            let prefix = "_snoopi_text_encoder_"
            let values = Dictionary(uniqueKeysWithValues: config.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
            guard values["side"] is Int, values["width"] is Int else {
                throw DiffusionError.invalidArgument(name: path, reason: "holds a text encoder but no _snoopi_text_encoder_side/_width in its config")
            }
            let strings = Dictionary(uniqueKeysWithValues: checkpoint.strings.filter { $0.key.hasPrefix(embeddedEncoderPrefix) }
                .map { (String($0.key.dropFirst(embeddedEncoderPrefix.count)), $0.value) })
            encoder = try ShapesCLIP.make(configValues: values, strings: strings, name: path)
            try encoder.load(Dictionary(uniqueKeysWithValues: embedded.map { (String($0.name.dropFirst(embeddedEncoderPrefix.count)), $0.tensor) }))
            encoder.eval()
            checkpoint.tensors = try networkTensors(of: checkpoint)
        } else {
            guard let encoderPath, FileManager.default.fileExists(atPath: encoderPath) else {
                throw DiffusionError.invalidArgument(name: path, reason: "its text encoder \(encoderPath ?? "(none named)") is missing (it was saved before text encoders were embedded; keep the file next to it)")
            }
            encoder = try ShapesCLIP.load(encoderPath)
        }
        let scheduleName = config["_snoopi_beta_schedule"] as? String ?? "scaled_linear"
        let schedule = try NoiseSchedule(name: scheduleName, trainSteps: config["_snoopi_train_timesteps"] as? Int ?? 1000,
                                         betaStart: (config["_snoopi_beta_start"] as? NSNumber)?.doubleValue ?? 0.00085,
                                         betaEnd: (config["_snoopi_beta_end"] as? NSNumber)?.doubleValue ?? 0.012)
        return try WorldTeacher(network: denoisingNetwork(checkpoint, name: path), encoder: encoder, encoderPath: encoderPath, schedule: schedule)
    }

    /// A teacher with this one's encoder and schedule and a network of its own, built from
    /// `checkpoint` (default: this teacher's weights as they are now) — a student's start, the
    /// distiller's LoRA-teacher copy, the EMA weights of a run.
    public func copy(weights checkpoint: Checkpoint? = nil) throws -> WorldTeacher {
        let network = try Self.denoisingNetwork(checkpoint ?? self.checkpoint(), name: "teacher copy")
        return try WorldTeacher(network: network, encoder: encoder, encoderPath: encoderPath, schedule: schedule)
    }

    /// The UNet or PixArt network a checkpoint holds, in evaluation mode.
    static func denoisingNetwork(_ checkpoint: Checkpoint, name: String) throws -> any Module & NoisePredictor {
        let network: any Module & NoisePredictor
        switch try LoadedModel.load(checkpoint) {
        case .unet(let m): network = m
        case .pixart(let m): network = m
        case .clipText, .clipTextWithProjection, .t5Encoder: throw DiffusionError.invalidArgument(name: name, reason: "holds a text encoder, not a denoising network")
        case .clip: throw DiffusionError.invalidArgument(name: name, reason: "holds a CLIP model (text and image encoders), not a denoising network")
        case .clipVision, .clipVisionWithProjection:
            throw DiffusionError.invalidArgument(name: name, reason: "holds an image encoder (\(checkpoint.architecture)), not a denoising network")
        case .autoencoderKL, .autoencoderTiny:
            throw DiffusionError.invalidArgument(name: name, reason: "holds a VAE (\(checkpoint.architecture)), not a denoising network")
        }
        network.eval()
        return network
    }

    /// `path` relative to `folder` when it lies inside it, else as given.
    static func relativePath(_ path: String, from folder: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let base = URL(fileURLWithPath: folder.isEmpty ? "." : folder).standardizedFileURL.path
        return absolute.hasPrefix(base + "/") ? String(absolute.dropFirst(base.count + 1)) : absolute
    }
}
