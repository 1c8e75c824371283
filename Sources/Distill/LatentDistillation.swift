import Checkpoints
import Diffusion
import Distributed
import Engine
import Foundation
import Models

/// Settings of a latent-space distillation of a full pipeline.
public struct LatentDistillOptions {
    public var batchSize = 1
    public var learningRate: Float = 1e-6
    public var loraLearningRate: Float = 1e-3
    /// The LoRA teacher's adapters (on every attention projection of the denoiser).
    public var loraRank = 64
    public var loraTargets = ["**.to_q", "**.to_k", "**.to_v", "**.to_out.0"]
    /// κ for both teachers (PG-SB by default).
    public var guidance: GuidanceSampling
    public var tRange: (min: Float, max: Float) = (0.02, 0.98)
    public var weighting: VSDWeighting = .sigmaSquared
    public var clipNorm: Float? = 1
    public var promptDropout: Float = 0.1
    public var beta1: Float = 0.9
    /// The student's conditioning timestep (nil: T − 1, SwiftBrush's).
    public var studentTimestep: Int? = nil
    /// The memory strategy: nil trains every weight of the student (SwiftBrush; the student's
    /// weights, gradients and two Adam moments are four copies of the denoiser); a rank trains
    /// LoRA adapters of that rank on the student instead, so the student adds only adapters and
    /// their optimizer state beside the one frozen copy.
    public var studentLoRARank: Int? = nil
    public var seed: UInt64 = 0

    public init() throws { guidance = try .pgsb() }

    func validate() throws {
        guard batchSize >= 1, learningRate > 0, loraLearningRate > 0, loraRank >= 1 else {
            throw TrainingError.invalidOptions("batch ≥ 1, learning rates > 0 and LoRA rank ≥ 1, got batch \(batchSize), lr \(learningRate), LoRA lr \(loraLearningRate), rank \(loraRank)")
        }
        guard beta1 >= 0, beta1 < 1, promptDropout >= 0, promptDropout <= 1 else { throw TrainingError.invalidOptions("β₁ must be in [0, 1) and prompt dropout in [0, 1]") }
        if let r = studentLoRARank, r < 1 { throw TrainingError.invalidOptions("the student's LoRA rank must be ≥ 1, got \(r)") }
    }
}

/// One-step distillation of a latent pipeline (Stable Diffusion-shaped: text encoder, UNet, VAE),
/// in latent space, as SwiftBrush does for SD 2.1: the student is a copy of the pipeline's UNet
/// reading latent noise z at t_s, x0 = (z − σ_{t_s} ε_θ(z, t_s, y)) / α_{t_s}; VSD (eq. 6/7) against
/// the frozen UNet and a LoRA teacher (one network, adapters off/on, κ from `guidance`), then the
/// LoRA teacher's denoising step on the detached student latents. The VAE is not in the loop (its
/// decode is only for looking at the student's images). Data-parallel under MPI like the
/// shapes-world trainer (`BatchShare`). Drive it with `runTraining`.
///
/// The student saves as a pipeline file whose UNet is the student and whose scheduler is DDIM
/// with trailing spacing and final ᾱ = 1: `snp generate --pipeline student.h5 --kappa 0 --steps 1`
/// then gives exactly the student's x0 at t_s = T − 1.
public final class LatentDistillTrainer: TrainingRun {
    public let pipeline: DiffusionPipeline
    public let student: any Module & NoisePredictor
    public let teachers: any Module & NoisePredictor
    public let options: LatentDistillOptions
    public let prompts: [String]
    public let timestep: Int
    public private(set) var step = 0
    public var history = TrainingHistory()
    let vsd: VSD
    let studentParameters: [(name: String, tensor: Tensor)]
    let loraNames: [(name: String, tensor: Tensor)]
    let studentOptimizer: AdamW, loraOptimizer: AdamW
    let generator: RandomGenerator
    public let collective: any Collective
    let schedule: NoiseSchedule

    public init(pipeline: DiffusionPipeline, prompts: [String], options: LatentDistillOptions) throws {
        try options.validate()
        guard !prompts.isEmpty else { throw DistillError.invalidArgument(name: "prompts", reason: "give at least one training prompt") }
        guard pipeline.vae != nil else {
            throw DistillError.invalidArgument(name: pipeline.source, reason: "has no VAE: latent distillation needs a latent pipeline")
        }
        collective = Collectives.current
        _ = try BatchShare(batch: options.batchSize, over: collective)
        self.pipeline = pipeline
        self.prompts = prompts
        self.options = options
        schedule = pipeline.scheduler.schedule
        timestep = try OneStepStudent.checked(options.studentTimestep, schedule: schedule)
        let student = try Self.copy(pipeline.denoiser), studentTargets = options.loraTargets
        if let rank = options.studentLoRARank {
            _ = try student.freeze()
            try Initialization.withSeed(options.seed &+ 0x57D) {
                for target in studentTargets { _ = try student.addLoRA(target, rank: rank, alpha: Float(2 * rank)) }
            }
        }
        self.student = student
        studentParameters = student.namedParameters().filter { $0.tensor.requiresGrad }
        // The two teachers are the pipeline's own denoiser (frozen) with the LoRA teacher's adapters
        // on it, switched off outside this trainer's steps: one copy of the weights fewer.
        let teachers = pipeline.denoiser, loraRank = options.loraRank, targets = options.loraTargets
        guard teachers.loraAdapters.isEmpty else {
            throw DistillError.invalidArgument(name: pipeline.source, reason: "its denoiser already carries LoRA adapters (another distillation of this pipeline object?); load the pipeline afresh")
        }
        _ = try teachers.freeze()
        try Initialization.withSeed(options.seed &+ 0x10AA) {
            for target in targets { _ = try teachers.addLoRA(target, rank: loraRank, alpha: Float(2 * loraRank)) }
        }
        teachers.setLoRA(enabled: false)
        self.teachers = teachers
        let base = Set(pipeline.denoiser.stateDict().map(\.name))
        loraNames = teachers.namedParameters().filter { !base.contains($0.name) }
        vsd = try VSD(teacher: teachers, schedule: schedule, guidance: options.guidance, tRange: options.tRange, weighting: options.weighting)
        studentOptimizer = try AdamW(parameters: studentParameters.map(\.tensor), learningRate: options.learningRate, beta1: options.beta1, weightDecay: 0)
        loraOptimizer = try AdamW(parameters: loraNames.map(\.tensor), learningRate: options.loraLearningRate, beta1: options.beta1, weightDecay: 0)
        generator = RandomGenerator(seed: options.seed)
        student.eval()
        teachers.eval()
    }

    /// A fresh network of `network`'s architecture and config holding copies of its weights.
    static func copy(_ network: any Module & NoisePredictor) throws -> any Module & NoisePredictor {
        let architecture = network is PixArtTransformer2DModel ? PixArtTransformer2DModel.architecture : UNet2DConditionModel.architecture
        let built = try LoadedModel.build(architecture: architecture, config: network.config.json)
        try built.loadTensors(Dictionary(uniqueKeysWithValues: network.stateDict().map { ($0.name, try $0.tensor.detach().copy()) }))
        guard let copy = built.module as? any Module & NoisePredictor else {
            throw DistillError.invalidArgument(name: "denoiser", reason: "a \(architecture) is not a noise predictor")
        }
        return copy
    }

    /// The latent shape of one sample: [C, h, w] at the denoiser's sample size.
    var latentShape: [Int] { [student.inChannels, student.sampleSize, student.sampleSize] }

    /// x0 latents from noise z [B, C, h, w] (with gradient through the student's trainable weights).
    public func x0(noise z: Tensor, context: Tensor) throws -> Tensor {
        let epsilon = try student.prediction(z, timestep: Tensor.full([z.shape[0]], Float(timestep)), context: context)
        let alpha = schedule.alphaBars[timestep].squareRoot(), sigma = (1 - schedule.alphaBars[timestep]).squareRoot()
        return try (z - epsilon * sigma) * (1 / alpha)
    }

    /// Training prompts step·B ..< (step+1)·B, cycling through the list.
    func batchPrompts() -> [String] {
        (0..<options.batchSize).map { prompts[(step * options.batchSize + $0) % prompts.count] }
    }

    public func trainStep() throws -> [String: Double] {
        let b = options.batchSize
        let share = try BatchShare(batch: b, over: collective)
        let captions = share.mine(batchPrompts())
        let context = try pipeline.encode(captions), unconditional = try pipeline.encode(Array(repeating: "", count: captions.count))
        student.train()
        defer { student.eval() }
        studentOptimizer.zeroGrad()
        let z = try share.mine(Tensor.randn([b] + latentShape, generator: generator))
        let x0 = try x0(noise: z, context: context)
        let terms = try vsd.loss(x0: x0, context: context, unconditional: unconditional, generator: generator, share: share)
        try terms.loss.backward()
        let trainable = studentParameters.map(\.tensor)
        try share.allReduceGradients(trainable)
        let gradNorm = try clipGradNorm(trainable, maxNorm: options.clipNorm ?? .greatestFiniteMagnitude)
        var metrics = try share.sum(["loss": Double(try terms.loss.item()),
                                     "g_square": Double(try terms.g.square().mean().item()) * Double(share.fraction)])
        metrics["g_rms"] = metrics.removeValue(forKey: "g_square")!.squareRoot()
        metrics["grad_norm"] = Double(gradNorm)
        try checkFinite(metrics, step: step + 1)
        try studentOptimizer.step()

        // The LoRA teacher's denoising step on the detached student latents.
        let keep = share.mine((0..<b).map { _ in generator.uniform() >= options.promptDropout })
        let t = share.mine((0..<b).map { _ in generator.integer(below: schedule.trainSteps) })
        let noise = try share.mine(Tensor.randn([b] + latentShape, generator: generator))
        let samples = x0.detach()
        let xt = try schedule.addNoise(x0: samples, noise: noise, t: t)
        loraOptimizer.zeroGrad()
        let dropped = try pipeline.encode(zip(captions, keep).map { $1 ? $0 : "" })
        let prediction = try teachers.withLoRA(enabled: true) {
            try teachers.prediction(xt, timestep: Tensor(t.map(Float.init), shape: [t.count]), context: dropped)
        }
        let loraLoss = try share.weighted(Tensor.mse(prediction, noise))
        try loraLoss.backward()
        try share.allReduceGradients(loraNames.map(\.tensor))
        metrics["lora_loss"] = try share.sum(["lora_loss": Double(try loraLoss.item())])["lora_loss"]!
        try checkFinite(metrics, step: step + 1)
        try loraOptimizer.step()
        step += 1
        return metrics
    }

    /// No dataset to measure against: the loss curves and the student's images are what to look at.
    public func evaluate() throws -> [String: Double] { [:] }

    /// Images [B, 3, H, W] in [−1, 1] for `prompts`: the student's x0 latents decoded by the VAE.
    public func generate(prompts: [String], noise: Tensor? = nil, generator: RandomGenerator) throws -> Tensor {
        try noGrad {
            let z = try noise ?? Tensor.randn([prompts.count] + latentShape, generator: generator)
            return try pipeline.vae!.images(fromLatents: x0(noise: z, context: pipeline.encode(prompts))).clamp(min: -1, max: 1)
        }
    }

    /// The student as a pipeline: the pipeline's text encoder and VAE around the student's UNet
    /// (adapters merged into a copy when the student trains LoRA), with a DDIM scheduler (trailing
    /// spacing, final ᾱ 1, no clipping) on the same schedule, whose one step is the student's x0.
    public func studentPipeline() throws -> DiffusionPipeline {
        guard timestep == schedule.trainSteps - 1 else {
            throw DistillError.invalidArgument(name: "student", reason: "reads its noise at t = \(timestep); a diffusers scheduler's one step starts at T − 1 = \(schedule.trainSteps - 1), so only such a student saves as a pipeline")
        }
        let merged = try Self.copy(student)
        if let rank = options.studentLoRARank {
            for target in options.loraTargets { _ = try merged.addLoRA(target, rank: rank, alpha: Float(2 * rank)) }
            let adapters = Dictionary(uniqueKeysWithValues: student.namedParameters().map { ($0.name, $0.tensor) })
            for (name, tensor) in merged.namedParameters() where adapters[name] != nil { try tensor.assign(adapters[name]!) }
            try merged.mergeLoRA()
        }
        merged.eval()
        // DDIM, trailing, ᾱ_prev = 1 at the end, no clipping: one step from t = T − 1 is exactly
        // (z − σ ε)/α. (Euler is not: diffusers scales its trailing noise by σ_max, not √(σ²+1),
        // so the network would read 0.998 z.)
        var values = pipeline.scheduler.values
        for key in ["use_karras_sigmas", "skip_prk_steps", "interpolation_type", "timestep_type", "final_sigmas_type"] { values.removeValue(forKey: key) }
        values["_class_name"] = "DDIMScheduler"
        values["timestep_spacing"] = "trailing"
        values["steps_offset"] = 0
        values["set_alpha_to_one"] = true
        values["clip_sample"] = false
        return try pipeline.replacing(denoiser: merged, scheduler: SchedulerConfig(values, source: "the student's scheduler"))
    }

    /// Writes the student pipeline (what `pipeline(…)` and `snp generate --pipeline … --kappa 0
    /// --steps 1` run).
    public func saveStudent(to path: String) throws { try studentPipeline().save(to: path) }

    /// The resumable run (written by `runTraining` at its checkpoints): the student's trainable
    /// weights, the LoRA teacher's adapters, both optimizers, the generator and history.
    public func save(to path: String) throws {
        let config = String(decoding: try JSONSerialization.data(withJSONObject: ["timestep": timestep, "prompts": prompts.count], options: [.sortedKeys]), as: UTF8.self)
        var checkpoint = Checkpoint(architecture: Self.runArchitecture, config: config)
        checkpoint.training = TrainingState(step: step, optimizer: studentOptimizer.state, random: generator.state, history: history,
                                            optimizers: ["lora": loraOptimizer.state],
                                            tensors: ["student": try NamedTensors(studentParameters.map { ($0.name, $0.tensor.detach().copy()) }),
                                                      "lora": try NamedTensors(loraNames.map { ($0.name, $0.tensor.detach().copy()) })])
        try checkpoint.save(path)
    }

    public static let runArchitecture = "LatentDistillationRun"

    /// Continues the run saved at `path` with the same pipeline, prompts and options.
    public static func resume(from path: String, pipeline: DiffusionPipeline, prompts: [String], options: LatentDistillOptions) throws -> LatentDistillTrainer {
        let checkpoint = try Checkpoint.load(path)
        guard let state = checkpoint.training, let studentState = state.optimizer, let loraState = state.optimizers["lora"],
              let random = state.random, let weights = state.tensors["student"], let lora = state.tensors["lora"] else {
            throw DistillError.invalidArgument(name: path, reason: "holds no resumable latent distillation state")
        }
        let trainer = try LatentDistillTrainer(pipeline: pipeline, prompts: prompts, options: options)
        for (group, parameters) in [(weights, trainer.studentParameters), (lora, trainer.loraNames)] {
            for (name, tensor) in parameters {
                guard let saved = group[name], saved.shape == tensor.shape else {
                    throw DistillError.invalidArgument(name: path, reason: "its saved weights do not match these options (\(name))")
                }
                try tensor.assign(saved)
            }
        }
        try trainer.studentOptimizer.load(studentState)
        try trainer.loraOptimizer.load(loraState)
        trainer.generator.state = random
        trainer.step = state.step
        trainer.history = state.history
        return trainer
    }
}
