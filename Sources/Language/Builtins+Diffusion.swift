import Diffusion
import Distill
import Engine
import Foundation
import Models

extension BuiltinDomain {
    /// Noise schedules, the forward process, text conditioning, ε predictions, guidance, sampling
    /// and teacher training.
    static let diffusion = BuiltinDomain("diffusion", doc: "noise schedules, the forward process (eq. 1), ε predictions, classifier-free guidance (eq. 4/5), multi-step sampling and teacher training (eq. 3).", builtins: [
        Builtin("schedule", "kind: \"scaled_linear\", steps: 1000, beta_start: 0.00085, beta_end: 0.012",
                doc: "A discrete noise schedule as diffusers computes it: β_t for t = 0…T−1 (`kind` \"linear\", \"scaled_linear\" — Stable Diffusion's, the default — or \"squaredcos_cap_v2\", the cosine schedule, which ignores the betas), ᾱ_t = ∏(1 − β), α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t). Its methods `alpha(t)`, `sigma(t)`, `alpha_bar(t)` take a timestep (→ number) or a list of them (→ tensor); `steps`, `alphas_cumprod`, `betas`, `kind` are members.",
                example: "let s = schedule()\nprint(s.alpha(500) ** 2 + s.sigma(500) ** 2)   # 1\nprint(s.alphas_cumprod[-1])                   # ≈ 0.00466") { args in
            let kind = try args.string("kind")
            guard let beta = NoiseSchedule.BetaSchedule(rawValue: kind) else {
                throw args.mistake("kind", "one of " + NoiseSchedule.BetaSchedule.allCases.map { quoted($0.rawValue) }.joined(separator: ", "))
            }
            let steps = try args.int("steps")
            guard (1...100_000).contains(steps) else { throw args.mistake("steps", "an integer from 1 to 100000") }
            let start = try args.number("beta_start"), end = try args.number("beta_end")
            if beta != .squaredcosCapV2, !(start > 0 && start <= end && end < 1) {
                throw RuntimeError("schedule(): needs 0 < beta_start ≤ beta_end < 1, got \(formatNumber(start)) and \(formatNumber(end))", parameter: "beta_start")
            }
            return .object(ScheduleObject(try NoiseSchedule(beta, trainSteps: steps, betaStart: start, betaEnd: end)))
        },
        Builtin("noise", "schedule, x0, t, eps",
                doc: "The forward process (eq. 1): x_t = α_t x0 + σ_t ε, differentiable in x0 and ε. `schedule` is a schedule (or a teacher or student, for theirs); `t` a timestep for the whole batch or a list of one per sample (the first axis).",
                example: "let xt = noise(teacher.schedule, x0, [100, 900], randn(shape(x0), seed: 1))") { args in
            let schedule = try args.schedule("schedule")
            let (t, _) = try args.timesteps("t", schedule)
            return .tensor(try schedule.addNoise(x0: try args.tensor("x0"), noise: try args.tensor("eps"), t: t))
        },
        Builtin("eps_to_x0", "schedule, xt, eps, t",
                doc: "The clean sample an ε prediction implies: x0 = (x_t − σ_t ε) / α_t (differentiable). `t` as for `noise`.",
                example: "let x0_hat = eps_to_x0(teacher.schedule, xt, eps(teacher, xt, 500, \"a red circle\"), 500)") { args in
            let schedule = try args.schedule("schedule")
            let (t, _) = try args.timesteps("t", schedule)
            return .tensor(try schedule.x0(fromEpsilon: try args.tensor("eps"), xt: try args.tensor("xt"), t: t))
        },
        Builtin("x0_to_eps", "schedule, xt, x0, t",
                doc: "The noise a clean-sample estimate implies: ε = (x_t − α_t x0) / σ_t (differentiable). `t` as for `noise`.",
                example: "let e = x0_to_eps(teacher.schedule, xt, x0, 500)") { args in
            let schedule = try args.schedule("schedule")
            let (t, _) = try args.timesteps("t", schedule)
            return .tensor(try schedule.epsilon(fromX0: try args.tensor("x0"), xt: try args.tensor("xt"), t: t))
        },
        Builtin("encode", "model, prompts", method: true,
                doc: "The text states [B, L, D] that condition a teacher's (or student's) network: its frozen encoder's per-token features of a prompt or a list of prompts (\"\" is the unconditional branch). Computed without gradient and cached per prompt.",
                example: "let c = encode(teacher, [\"a red circle\", \"\"])   # tensor[2,16,64]") { args in
            let prompts = try args.prompts("prompts")
            switch args["model"] {
            case .object(let e as EncoderObject): return .tensor(try noGrad { try e.encoder.context(prompts) })
            default: return .tensor(try args.pipeline("model").pipeline.context(prompts))
            }
        },
        Builtin("eps", "model, xt, t, prompts, negative: nil", method: true,
                doc: "The network's ε prediction ε(x_t, t, y) for x_t [B, 3, S, S] at timestep `t` (one, or one per sample), conditioned on `prompts` (one prompt, one per sample, or a context tensor from `encode`). `model` is a teacher, a student (its network at any t) or a LoRA teacher (adapters on). `negative` (prompts or a context) goes to the attention processors: it only matters with NASA switched on (`nasa`). Differentiable with respect to x_t.",
                example: "let e_c = eps(teacher, xt, 500, \"a red circle\")\nlet e_u = eps(teacher, xt, 500, \"\")") { args in
            let model = try args.pipeline("model")
            let xt = try args.images("xt")
            let b = xt.shape[0]
            guard xt.shape[2] == model.side, xt.shape[3] == model.side else {
                throw RuntimeError("eps(): xt must be [B, 3, \(model.side), \(model.side)] for this model, got tensor \(shapeString(xt.shape))", parameter: "xt")
            }
            let (t, _) = try args.timesteps("t", model.schedule)
            guard t.count == 1 || t.count == b else {
                throw RuntimeError("eps(): t must be one timestep or \(b) (one per sample), got \(t.count)", parameter: "t")
            }
            let context = try contextArgument(args, "prompts", model, count: b)
            let negative = try args.isNil("negative") ? nil : contextArgument(args, "negative", model, count: b)
            let timesteps = try Tensor((t.count == 1 ? Array(repeating: t[0], count: b) : t).map(Float.init), shape: [b])
            return .tensor(try model.asThisModel {
                try model.pipeline.network.prediction(xt, timestep: timesteps, context: context, negativeContext: negative)
            })
        },
        Builtin("cfg", "eps_uncond, eps_cond, kappa",
                doc: "Classifier-free guidance (eq. 4): ε̂ = ε_u + κ (ε_c − ε_u) = (1 − κ) ε_u + κ ε_c. With a negative prompt's ε as the first argument it is eq. 5. `kappa` is one number or one per sample (a list or tensor of B). Differentiable.",
                example: "let guided = cfg(e_u, e_c, 4.5)") { args in
            let u = try args.tensor("eps_uncond"), c = try args.tensor("eps_cond")
            let kappa: Tensor
            switch args["kappa"] {
            case .number(let k): kappa = Tensor(scalar: Float(k))
            case .list, .tensor, .range:
                let values = try args.numbers("kappa").map(Float.init)
                if values.count == 1 {
                    kappa = Tensor(scalar: values[0])
                } else {
                    guard c.rank >= 1, values.count == c.shape[0] else {
                        throw RuntimeError("cfg(): kappa must be one number or one per sample (\(c.rank >= 1 ? c.shape[0] : 1)), got \(values.count)", parameter: "kappa")
                    }
                    kappa = try Tensor(values, shape: [values.count] + Array(repeating: 1, count: c.rank - 1))
                }
            default: throw args.mistake("kappa", "a number or a list of numbers (one per sample)")
            }
            return .tensor(try (1 - kappa) * u + kappa * c)
        },
        Builtin("sample", "teacher, prompts, negative: nil, kappa: 3, steps: 20, sampler: \"dpmsolver\", nasa_negative: nil, seed: 0, count: 1", method: true,
                doc: "Images [B, 3, S, S] in [−1, 1] (as the world's; `show` and `grid` display them) from a multi-step teacher (or a LoRA teacher): x_T ~ N(0, I) from `seed`, then `steps` steps of `sampler` (\"dpmsolver\" — DPM-Solver++(2M) —, \"ddim\" or \"euler\") with classifier-free guidance at scale `kappa` (a number, one per image, or a distribution drawn per image). `negative` (one prompt or one per prompt) replaces the unconditional branch (eq. 5); `nasa_negative` (one prompt or one per prompt) is handed to the attention processors: NASA (eq. 8–10) steers away from it in the layers switched on with `nasa`, or, when none is, in every cross-attention layer at α = 0.5 for this call. `count` images per prompt, prompt by prompt. Ctrl-C stops between steps. `teacher` may also be a full pipeline (`pipeline(path)`): then `sampler` takes the pipeline's schedule, prediction type and spacing (\"scheduler\": its own sampler class), guidance runs only for κ > 1 as in diffusers, and the images are the VAE's decodes.",
                example: "let imgs = sample(teacher, [\"a red circle\", \"a blue square\"], kappa: 4, seed: 1)\nshow(imgs)") { args in
            if case .object(let pipe as PipelineObject) = args["teacher"] { return try samplePipeline(pipe, args) }
            let teacher = try args.pipeline("teacher")
            guard !(teacher is StudentObject) else {
                throw RuntimeError("sample(): teacher must be a multi-step teacher; a one-step student draws with generate()", parameter: "teacher")
            }
            let count = try args.int("count")
            guard (1...4096).contains(count) else { throw args.mistake("count", "an integer from 1 to 4096") }
            let prompts = try args.prompts("prompts").flatMap { Array(repeating: $0, count: count) }
            try checkImageCount(args, prompts.count, side: teacher.side)
            let negative = try repeated(args.optionalPromptsPerPrompt("negative"), count)
            let attentionNegative = try repeated(args.optionalPromptsPerPrompt("nasa_negative"), count)
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            let kappa = try args.kappas("kappa", count: prompts.count, seed: seed &+ 99)
            let steps = try args.int("steps")
            guard steps >= 1, steps <= teacher.schedule.trainSteps else { throw args.mistake("steps", "an integer from 1 to \(teacher.schedule.trainSteps)") }
            let sampler = try samplerKind(args, "sampler")
            // A NASA negative prompt with NASA switched off would do nothing: then NASA acts on
            // every cross-attention layer at α = 0.5 for this call.
            let network = teacher.pipeline.network
            let installed = network.attentionLayers.contains { $0.layer.processor is NASAAttention }
            let nasa = attentionNegative != nil && !installed ? NASALayers.all(alpha: 0.5) : NASALayers([])
            return .tensor(try network.withNASA(nasa) {
                try teacher.asThisModel {
                    try teacher.pipeline.sample(prompts: prompts, negativePrompts: negative, kappa: kappa, steps: steps, sampler: sampler,
                                                attentionNegativePrompts: attentionNegative, generator: RandomGenerator(seed: seed),
                                                onStep: args.interruptible())
                }
            })
        },
        Builtin("train_teacher", "data, kind: \"unet\", steps: 500, batch: 32, lr: 1e-3, eval_every: 0, seed: 0, out: nil, encoder: nil, eval_count: 256, log_every: 10, ema: 0.999, config: {}",
                doc: "Trains a fresh tiny teacher (`kind` \"unet\" or \"pixart\") on `data` — the shapes world (from `shapes`) or a dataset of your own (from `dataset`) — with the denoising loss (eq. 3: ε-prediction MSE, prompts dropped to \"\" with probability 0.1, AdamW with warm-up and cosine decay, gradient clipping, an EMA of the weights), as `snp train-teacher` does, and returns the run: `run.teacher` samples with the EMA weights, `run.history` has the loss (and FD, CLIP score, precision, recall every `eval_every` steps). `encoder` is the ShapesCLIP whose text tower conditions it (a path or an encoder; nil: for the world the shipped shapes-clip-SIDE-attr.h5, else shapes-clip-SIDE.h5; a dataset needs one trained on it, from `train_clip(data)`), saved inside the teacher. `out` saves the EMA teacher there at the end. `config` replaces keys of the tiny network's diffusers config (e.g. `{patch_size: 1}` for a PixArt of one-pixel patches, `{num_layers: 6}`); the network's own rules reject unknown keys. Progress goes to stderr; Ctrl-C stops at the end of a step and returns the run so far.",
                example: "let run = train_teacher(shapes(), steps: 200, batch: 16)\nlet t = run.teacher") { args in
            let world = try args.imageData("data")
            guard let kind = WorldTeacher.Kind(rawValue: try args.string("kind")) else { throw args.mistake("kind", "\"unet\" or \"pixart\"") }
            let steps = try args.int("steps")
            guard steps >= 1 else { throw args.mistake("steps", "an integer ≥ 1") }
            var options = TeacherTrainingOptions()
            options.batchSize = try batchSize(args, "batch", side: world.side)
            options.learningRate = try positiveFloat(args, "lr")
            options.totalSteps = steps
            options.warmupSteps = Swift.min(100, steps / 10)
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            options.seed = seed
            options.evalCount = try args.int("eval_count")
            guard (8...65_536).contains(options.evalCount) else { throw args.mistake("eval_count", "an integer from 8 to 65536") }
            let ema = try args.number("ema")
            guard ema >= 0, ema < 1 else { throw args.mistake("ema", "a number in [0, 1)") }
            options.emaDecay = Float(ema)
            let evalEvery = try args.count("eval_every")
            let logEvery = try positive(args, "log_every")
            let encoderPath: String?
            let encoder: ShapesCLIP
            switch args["encoder"] {
            case .null:
                guard world is ShapesWorld else {
                    throw RuntimeError("train_teacher(): a dataset needs a text encoder that knows its words: encoder: train_clip(data)", parameter: "encoder")
                }
                let path = try WorldResources.shipped(ShapesCLIP.shippedFileNames(side: world.side), for: "train_teacher", parameter: "encoder")
                (encoder, encoderPath) = (try WorldResources.encoder(at: path), path)
            case .string(let path): (encoder, encoderPath) = (try WorldResources.encoder(at: path), path)
            case .object(let e as EncoderObject): (encoder, encoderPath) = (e.encoder, e.path)
            default: throw args.mistake("encoder", "an encoder (from load) or a ShapesCLIP checkpoint path")
            }
            guard encoder.side == world.side else {
                throw RuntimeError("train_teacher(): the encoder sees \(encoder.side)×\(encoder.side) pictures, \(world.name) holds \(world.side)×\(world.side)", parameter: "encoder")
            }
            let out = try args.optionalString("out")
            let overrides = try configObject(.record(try args.record("config")), builtin: "train_teacher") as? [String: Any] ?? [:]
            let teacher = try WorldTeacher.tiny(kind, encoder: encoder, encoderPath: encoderPath, seed: seed, overrides: overrides)
            let trainer = try TeacherTrainer(teacher: teacher, data: world, options: options)
            let outcome = try drive(trainer, steps: steps, schedule: trainingSchedule(logEvery: logEvery, evalEvery: evalEvery),
                                    label: "train_teacher", interpreter: args.interpreter)
            if let out { try trainer.ema.withAveragedWeights { try trainer.teacher.save(to: out) } }
            return .object(RunObject(trainer, kind: .teacher, outcome: outcome))
        },
    ])
}

extension Arguments {
    /// nil, one prompt (for every prompt) or one per prompt of the `prompts` argument.
    func optionalPromptsPerPrompt(_ p: String) throws -> [String]? {
        guard !isNil(p) else { return nil }
        return try prompts(p, count: try prompts("prompts").count)
    }
}

/// Each item `count` times, in order.
func repeated(_ items: [String]?, _ count: Int) -> [String]? { items?.flatMap { Array(repeating: $0, count: count) } }

/// An integer ≥ 1.
func positive(_ args: Arguments, _ p: String) throws -> Int {
    let n = try args.int(p)
    guard n >= 1 else { throw args.mistake(p, "an integer ≥ 1") }
    return n
}

/// A batch size: ≥ 1, and pictures of `side` that fit in a script's tensor limit.
func batchSize(_ args: Arguments, _ p: String, side: Int) throws -> Int {
    let n = try positive(args, p)
    try checkImageCount(args, n, side: side, parameter: p)
    return n
}

/// Throws unless `count` pictures [3, side, side] fit in `Interpreter.maximumElements`.
func checkImageCount(_ args: Arguments, _ count: Int, side: Int, parameter: String = "prompts") throws {
    let most = Interpreter.maximumElements / (3 * side * side)
    guard count <= most else {
        throw RuntimeError("\(args.name)(): \(count) pictures of \(side)×\(side) are too many at once (at most \(most))", parameter: parameter)
    }
}

/// A finite number > 0.
func positiveFloat(_ args: Arguments, _ p: String) throws -> Float {
    let x = try args.number(p)
    guard x > 0, x.isFinite else { throw args.mistake(p, "a number > 0") }
    return Float(x)
}

/// `sampler:` by name.
func samplerKind(_ args: Arguments, _ p: String) throws -> WorldTeacher.SamplerKind {
    guard let kind = WorldTeacher.SamplerKind(rawValue: try args.string(p)) else {
        throw args.mistake(p, "one of " + WorldTeacher.SamplerKind.allCases.map { quoted($0.rawValue) }.joined(separator: ", "))
    }
    return kind
}

/// Text states for a batch of `count`: prompts (one or one per sample) or a context tensor [B, L, D].
func contextArgument(_ args: Arguments, _ p: String, _ model: any PipelineCarrier, count: Int) throws -> Tensor {
    if case .tensor(let t) = args[p] {
        guard t.rank == 3, t.shape[0] == count || t.shape[0] == 1 else {
            throw RuntimeError("\(args.name)(): \(p) as a context must be [\(count), L, D] (from encode), got tensor \(shapeString(t.shape))", parameter: p)
        }
        return t.shape[0] == count ? t : try Tensor.concat(Array(repeating: t, count: count))
    }
    return try model.pipeline.context(args.prompts(p, count: count))
}

/// `sample(pipe, …)`: a diffusers-style pipeline run (text encoder → sampler with CFG → VAE).
private func samplePipeline(_ object: PipelineObject, _ args: Arguments) throws -> Value {
    let pipe = object.pipeline
    let count = try args.int("count")
    guard (1...4096).contains(count) else { throw args.mistake("count", "an integer from 1 to 4096") }
    let prompts = try args.prompts("prompts").flatMap { Array(repeating: $0, count: count) }
    let negative = try repeated(args.optionalPromptsPerPrompt("negative"), count)
    let attentionNegative = try repeated(args.optionalPromptsPerPrompt("nasa_negative"), count)
    guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
    guard case .number(let kappa) = args["kappa"], kappa.isFinite else {
        throw args.mistake("kappa", "a number (a pipeline takes one guidance scale for the batch)")
    }
    let steps = try args.int("steps")
    guard steps >= 1, steps <= pipe.scheduler.schedule.trainSteps else { throw args.mistake("steps", "an integer from 1 to \(pipe.scheduler.schedule.trainSteps)") }
    let kind: WorldTeacher.SamplerKind? = try args.string("sampler") == "scheduler" ? nil : samplerKind(args, "sampler")
    let network = pipe.denoiser
    let installed = network.attentionLayers.contains { $0.layer.processor is NASAAttention }
    let nasa = attentionNegative != nil && !installed ? NASALayers.all(alpha: 0.5) : NASALayers([])
    return .tensor(try network.withNASA(nasa) {
        try pipe.generate(prompts: prompts, negativePrompts: negative, kappa: Float(kappa), steps: steps, sampler: kind,
                          attentionNegativePrompts: attentionNegative, generator: RandomGenerator(seed: seed), onStep: args.interruptible()).images
    })
}
