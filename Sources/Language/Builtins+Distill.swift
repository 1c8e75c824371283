import Diffusion
import Distill
import Engine
import Foundation
import Models

extension BuiltinDomain {
    /// Guidance-scale distributions, one-step students, VSD, distillation runs and one-step
    /// generation with negative prompts.
    static let distill = BuiltinDomain("distill", doc: "guidance-scale distributions, one-step students, Variational Score Distillation (eq. 6/7, PG-SB), distillation runs, and generation with negative prompts (NASA, eq. 8–10).", builtins: [
        Builtin("constant", "k",
                doc: "The guidance scale fixed at k (SwiftBrush: 4.5). A plain number where a distribution is expected means the same.",
                example: "constant(4.5).sample(3)   # [4.5, 4.5, 4.5]") { args in
            .object(DistributionObject(try ConstantGuidance(Float(try args.number("k")))))
        },
        Builtin("uniform", "a, b",
                doc: "κ ~ U(a, b), a < b (PG-SB: U(0.5, 4), U(0.5, 3) for PixArt).",
                example: "let kappa = uniform(0.5, 4)\nkappa.sample(5, seed: 1)") { args in
            .object(DistributionObject(try UniformGuidance(Float(try args.number("a")), Float(try args.number("b")))))
        },
        Builtin("normal", "mean, std, low, high",
                doc: "κ ~ N(mean, std²) clamped to [low, high] (std > 0, low < high).",
                example: "normal(2.5, 1, 0.5, 4)") { args in
            .object(DistributionObject(try ClippedNormalGuidance(mean: Float(try args.number("mean")), std: Float(try args.number("std")),
                                                                 low: Float(try args.number("low")), high: Float(try args.number("high")))))
        },
        Builtin("loguniform", "a, b",
                doc: "log κ ~ U(log a, log b), 0 < a < b: as much mass on [1, 2] as on [2, 4].",
                example: "loguniform(1, 8)") { args in
            .object(DistributionObject(try LogUniformGuidance(Float(try args.number("a")), Float(try args.number("b")))))
        },
        Builtin("choice", "values, weights: nil",
                doc: "κ one of `values`, with probabilities proportional to `weights` (equal when nil).",
                example: "choice([2, 3, 4], weights: [1, 2, 1])") { args in
            let values = try args.numbers("values").map(Float.init)
            let weights = try args.isNil("weights") ? nil : args.numbers("weights").map(Float.init)
            return .object(DistributionObject(try ChoiceGuidance(values, weights: weights)))
        },
        Builtin("dist", "f",
                doc: "A guidance-scale distribution drawn by a .snp function: `f(rng)` gets a random generator with `rng.uniform()`, `rng.normal()` and `rng.integer(n)` and must return a finite number (checked once right away). Draws depend only on the generator, so runs repeat.",
                example: "fn skewed(rng) { return 0.5 + 3.5 * rng.uniform() ** 2 }\nlet kappa = dist(skewed)") { args in
            let function = try args.function("f")
            let location = args.location
            weak var interpreter = args.interpreter
            let takesGenerator: Bool
            if case .user(let decl, _) = function.kind { takesGenerator = !decl.parameters.isEmpty } else { takesGenerator = true }
            let draw: (RandomGenerator) throws -> Float = { generator in
                // Ctrl-C during a training step must not abort the function mid-step: the run
                // stops at the end of the step instead (the request is put back).
                let pending = Interruption.count
                if pending > 0 { Interruption.clear() }
                defer { for _ in 0..<pending { Interruption.request() } }
                guard let interpreter else { throw RuntimeError("dist(): the session that defined \(function.name) has ended") }
                let result = try interpreter.call(function, takesGenerator ? [.object(RngObject(generator))] : [], at: location)
                switch result {
                case .number(let x): return Float(x)
                case .tensor(let t) where t.count == 1: return t.scalars[0]
                default: throw RuntimeError("dist(): the function \(function.name) must return a number, got \(result.described)")
                }
            }
            let distribution = FunctionGuidance(name: function.name, draw)
            _ = try distribution.draw(RandomGenerator(seed: 0))
            return .object(DistributionObject(distribution))
        },
        Builtin("student_of", "teacher, t: nil",
                doc: "A one-step student initialised as a copy of the teacher, reading noise z at the conditioning timestep `t` (nil: T − 1, SwiftBrush's parameterization): x0 = (z − σ_t ε_θ(z, t, y)) / α_t. A smaller t amplifies the network's error less (σ_t/α_t: 14.6 at 999, 1.16 at 399, DMD2's one-step SDXL). Train it with `distill`; draw with `generate`.",
                example: "let student = student_of(teacher)\nlet dmd2_like = student_of(teacher, t: 399)") { args in
            let teacher = try args.teacher("teacher").teacher
            var t: Int?
            if case .null = args["t"] {} else {
                t = try args.int("t")
                guard (1..<teacher.schedule.trainSteps).contains(t!) else { throw args.mistake("t", "an integer timestep from 1 to \(teacher.schedule.trainSteps - 1)") }
            }
            return .object(StudentObject(try OneStepStudent(copying: teacher, timestep: t)))
        },
        Builtin("vsd", "teacher, lora: nil, kappa: nil, kappa_lora: nil, draws: \"per_sample\", t: [0.02, 0.98], weighting: \"sigma2\", lora_rank: 64, lora_steps: 1, clip_loss: nil",
                doc: "A Variational Score Distillation objective (eq. 6/7) against `teacher` (the frozen teacher ψ) and a LoRA teacher φ (`lora`, from `lora(teacher, …)`; nil: a fresh one of rank `lora_rank`, α = 2·rank). Each teacher runs with classifier-free guidance at κ drawn from `kappa` (a number or a distribution; nil: PG-SB's uniform(0.5, 4)); `kappa_lora` nil shares the frozen teacher's draw, else the LoRA teacher draws its own. `draws`: \"per_sample\" or \"per_batch\". t is drawn per sample from the integers in [t[0]·T, t[1]·T]; `weighting`: \"sigma2\" (w = σ_t², SwiftBrush), \"one\" or \"dmd\". `lora_steps`: LoRA-teacher updates per student step (DMD2's two-time-scale rule: 5). `clip_loss`: nil, a weight, or {weight, margin} for SBv2's clamped CLIP loss. Use it with `distill` or `vsd_loss`.",
                example: "let loss = vsd(teacher, kappa: uniform(0.5, 4), t: [0.02, 0.98])") { args in
            let teacher = try args.teacher("teacher")
            let loraRank = try positive(args, "lora_rank")
            let lora: LoraTeacherObject
            switch args["lora"] {
            case .null: lora = try LoraTeacherObject.make(teacher, rank: loraRank, alpha: Float(2 * loraRank))
            case .object(let l as LoraTeacherObject):
                guard l.base === teacher else {
                    throw RuntimeError("vsd(): lora must be a LoRA teacher of this teacher (made by lora(teacher, …))", parameter: "lora")
                }
                if args.isGiven("lora_rank"), loraRank != l.rank {
                    throw RuntimeError("vsd(): lora_rank is \(loraRank) but the LoRA teacher given has rank \(l.rank); give one of them", parameter: "lora_rank")
                }
                lora = l
            default: throw args.mistake("lora", "a LoRA teacher (from lora(teacher, …)) or nil")
            }
            let frozen: any GuidanceDistribution = args.isNil("kappa") ? try UniformGuidance(0.5, 4) : try args.distribution("kappa")
            guard let draws = GuidanceSampling.Draws(rawValue: try args.string("draws")) else { throw args.mistake("draws", "\"per_sample\" or \"per_batch\"") }
            let guidance = args.isNil("kappa_lora") ? GuidanceSampling(shared: frozen, draws: draws)
                : GuidanceSampling(frozen: frozen, lora: try args.distribution("kappa_lora"), draws: draws)
            let range = try args.numbers("t")
            guard range.count == 2, range[0] >= 0, range[0] <= range[1], range[1] <= 1 else {
                throw args.mistake("t", "[min, max] with 0 ≤ min ≤ max ≤ 1")
            }
            guard let weighting = VSDWeighting(rawValue: try args.string("weighting")) else {
                throw args.mistake("weighting", "one of " + VSDWeighting.allCases.map { quoted($0.rawValue) }.joined(separator: ", "))
            }
            let clip: ClampedCLIPLoss?
            switch args["clip_loss"] {
            case .null: clip = nil
            case .bool(let on): clip = on ? ClampedCLIPLoss() : nil
            case .number(let w): clip = ClampedCLIPLoss(weight: Float(w))
            case .record(let r):
                var c = ClampedCLIPLoss()
                for (key, value) in r.fields {
                    guard case .number(let x) = value, key == "weight" || key == "margin" else {
                        throw args.mistake("clip_loss", "nil, a weight, or a record {weight, margin} of numbers")
                    }
                    if key == "weight" { c.weight = Float(x) } else { c.margin = Float(x) }
                }
                clip = c
            default: throw args.mistake("clip_loss", "nil, a weight, or a record {weight, margin}")
            }
            let explicit = Set(["kappa", "kappa_lora", "draws", "lora_steps", "clip_loss"].filter { args.isGiven($0) })
            return .object(try VSDObject(teacher: teacher, lora: lora, guidance: guidance, tBounds: (range[0], range[1]),
                                         weighting: weighting, loraSteps: try positive(args, "lora_steps"), clipLoss: clip, explicit: explicit))
        },
        Builtin("vsd_loss", "loss, x0, prompts, seed: 0",
                doc: "One evaluation of a VSD objective at student outputs `x0` [B, 3, S, S] for `prompts` (one or B), with t, ε and κ drawn from a generator seeded with `seed` (VSD.loss): x_t = α_t sg(x0) + σ_t ε, both teachers with guidance, g = w(t)(ε̂_frozen − ε̂_lora). Returns {loss, g, t, noise, xt, kappa, kappa_lora, eps_frozen, eps_lora, weight}. `loss` = 0.5 · mean((x0 − sg(x0 − g))²) is differentiable in x0 with d loss / d x0 = g / N = w(t)(ε̂_frozen − ε̂_lora) / N, N = the number of elements of x0 (mean reduction, as SwiftBrush's F.mse_loss): gradient descent moves x0 along w(t)(ε̂_lora − ε̂_frozen). `weight` is w(t) per sample (σ_t² for \"sigma2\"; for \"dmd\" the per-sample factor (σ_t/α_t)/mean|x0 − x̂0_frozen|).",
                example: "let r = vsd_loss(loss, x0, [\"a red circle\", \"a shape\"], seed: 3)\nlet g = grad(fn(x) { vsd_loss(loss, x, [\"a red circle\", \"a shape\"], seed: 3).loss }, wrt: x0)") { args in
            let loss = try args.object("loss", as: VSDObject.self, "a VSD objective (from vsd)")
            let x0 = try args.images("x0")
            let b = x0.shape[0]
            let teacher = loss.teacher.teacher
            guard x0.shape[2] == teacher.side, x0.shape[3] == teacher.side else {
                throw RuntimeError("vsd_loss(): x0 must be [B, 3, \(teacher.side), \(teacher.side)] for this teacher, got tensor \(shapeString(x0.shape))", parameter: "x0")
            }
            let prompts = try args.prompts("prompts", count: b)
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            let context = try teacher.context(prompts), unconditional = try teacher.context(Array(repeating: "", count: b))
            let terms = try loss.vsd.loss(x0: x0, context: context, unconditional: unconditional, generator: RandomGenerator(seed: seed))
            return .record(Record([
                ("loss", .tensor(terms.loss)), ("g", .tensor(terms.g)), ("t", .numbers(terms.t)), ("noise", .tensor(terms.noise)), ("xt", .tensor(terms.xt)),
                ("kappa", .list(terms.kappaFrozen.map { .from($0) })), ("kappa_lora", .list(terms.kappaLora.map { .from($0) })),
                ("eps_frozen", .tensor(terms.epsFrozen)), ("eps_lora", .tensor(terms.epsLora)), ("weight", .list(terms.weight.map { .from($0) })),
            ]))
        },
        Builtin("distill", "student, loss, prompts: nil, steps: 300, batch: 8, lr: 1e-5, lora_lr: 1e-3, eval_every: 50, eval_count: 256, seed: 0, method: nil, out: nil, log_every: 1, beta1: 0.9, ema: nil, regression: 0, regression_pairs: 1024, regression_lr: 1e-4, regression_weight: 0, regression_beta1: nil, regression_schedule: \"constant\", regression_sampler_steps: 20, regression_cache: nil, regression_pair_seed: nil, gan: nil",
                doc: "Distils the VSD objective `loss`'s teacher into `student` (DistillTrainer driven by the training loop, as `snp distill`): each step the student draws x0 for a batch of the world's training captions, VSD updates it (AdamW at `lr`, gradient clipping at 1), and the LoRA teacher learns the student's samples (AdamW at `lora_lr`). The student is trained in place: its weights are the run's at the end (also after Ctrl-C or an error); the LoRA teacher of `loss` is copied, and the trained copy is `run.lora`. `prompts`: nil (the training captions of shapes(size: S, seed: 0)), a world, a world's `prompts` list (the captions of that world's training split), a dataset (its training captions; evaluation against its held-out images), or any list of prompts (VSD needs no images; read in a seeded order, a new one each pass; with no real images to measure against, set `eval_every: 0`). `method` (\"pgsb\", \"sb\", \"sb-ttur\", \"frozen-only\", \"lora-only\", \"sbv2\") presets κ, LoRA steps and the CLIP loss as `snp distill --method`; settings given to `vsd()` explicitly override it. Evaluates FD, CLIP score, precision and recall of `eval_count` one-step images every `eval_every` steps (0: never); logs every `log_every`. `out` saves the student there at the end. `beta1`: Adam's β₁ for both networks (SiD uses 0); `ema`: an EMA decay of the student's weights (evaluated, saved, and left in the student at the end); `regression`: DMD's warm-up, the first that many steps regress the student onto `regression_pairs` teacher DPM-Solver++ samples (κ 3, 20 steps) from the same noise at `regression_lr`; `regression_weight` λ keeps that loss on beside VSD after the warm-up (DMD v1's λ_reg; with `regression: 0` the pairs are made and used from the first VSD step); `regression_beta1`: Adam's β₁ during the warm-up (nil: `beta1`); `regression_schedule`: \"constant\" or \"cosine\" (down to 0 at the warm-up's last step); `regression_sampler_steps`: the teacher's DPM-Solver++ steps for the pairs; `regression_cache`: an HDF5 file the pairs are kept in and read back from (when made with the same settings); `regression_pair_seed`: the pairs' seed (nil: `seed`), so runs of several seeds share them. `gan`: DMD2's adversarial term from the first VSD step — nil (off, the paper's setting), a weight λ, or a record {weight, lr, noise, width}: the student's loss gains λ·softplus(−D(x0, y)) against a small projection discriminator trained (Adam at `lr`, default 2e-4) on the world's real images of the same captions, both noised to t ≤ noise·T (default 0: clean). Progress on stderr; Ctrl-C stops at the end of the current step and returns the run so far.",
                example: "let run = distill(student, vsd(teacher), steps: 300, batch: 8, eval_every: 50)\nplot(run, [\"loss\", \"fd\"], to: \"curves.png\")") { args in
            let student = try args.object("student", as: StudentObject.self, "a student (from student_of or load)")
            let loss = try args.object("loss", as: VSDObject.self, "a VSD objective (from vsd)")
            let teacher = loss.teacher.teacher
            let world = try distillPrompts(args, "prompts", side: teacher.side, seed: try args.optionalSeed("seed") ?? 0)
            var options = try DistillOptions()
            if let name = try args.optionalString("method") {
                guard let method = DistillMethod(rawValue: name) else {
                    throw args.mistake("method", "one of " + DistillMethod.allCases.map { quoted($0.rawValue) }.joined(separator: ", "))
                }
                try method.configure(&options, kind: teacher.kind)
                loss.apply(to: &options, overridingOnly: true)
            } else {
                loss.apply(to: &options, overridingOnly: false)
            }
            let steps = try positive(args, "steps")
            options.totalSteps = steps
            options.batchSize = try batchSize(args, "batch", side: teacher.side)
            options.learningRate = try positiveFloat(args, "lr")
            options.loraLearningRate = try positiveFloat(args, "lora_lr")
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            options.seed = seed
            options.evalCount = try args.int("eval_count")
            guard (8...65_536).contains(options.evalCount) else { throw args.mistake("eval_count", "an integer from 8 to 65536") }
            let beta1 = try args.number("beta1")
            guard beta1 >= 0, beta1 < 1 else { throw args.mistake("beta1", "a number in [0, 1)") }
            options.beta1 = Float(beta1)
            if case .null = args["ema"] {} else {
                let decay = try args.number("ema")
                guard decay > 0, decay < 1 else { throw args.mistake("ema", "a decay in (0, 1), or nil") }
                options.studentEMA = Float(decay)
            }
            let regressionSteps = try args.count("regression")
            let regressionWeight = try args.number("regression_weight")
            guard regressionWeight.isFinite, regressionWeight >= 0 else { throw args.mistake("regression_weight", "a number ≥ 0") }
            if regressionSteps > 0 || regressionWeight > 0 {
                var r = RegressionWarmup(pairs: try positive(args, "regression_pairs"), steps: regressionSteps,
                                         learningRate: try positiveFloat(args, "regression_lr"), weight: Float(regressionWeight))
                if let b = try args.optionalNumber("regression_beta1") {
                    guard b >= 0, b < 1 else { throw args.mistake("regression_beta1", "a number in [0, 1), or nil") }
                    r.beta1 = Float(b)
                }
                r.samplerSteps = try positive(args, "regression_sampler_steps")
                r.cachePath = try args.optionalString("regression_cache")
                r.pairSeed = try args.optionalSeed("regression_pair_seed")
                switch try args.string("regression_schedule") {
                case "constant": r.cosine = false
                case "cosine": r.cosine = true
                default: throw args.mistake("regression_schedule", "\"constant\" or \"cosine\"")
                }
                options.regression = r
            }
            guard regressionSteps < steps else { throw args.mistake("regression", "fewer warm-up steps than `steps` (\(steps))") }
            options.adversarial = try adversarialTerm(args, "gan")
            let schedule = trainingSchedule(logEvery: try positive(args, "log_every"), evalEvery: try args.count("eval_every"))
            let out = try args.optionalString("out")
            if schedule.evalEvery > 0, !(world is any ImageTextDataset) {
                throw RuntimeError("distill(): \(world.name) has no real images to evaluate against: set eval_every: 0, or give a dataset", parameter: "eval_every")
            }

            // The student given is the one trained (in place); the LoRA teacher starts as the loss's.
            let trainer = try DistillTrainer(teacher: teacher, data: world, options: options, student: student.student)
            try trainer.teachers.load(Dictionary(uniqueKeysWithValues: loss.lora.pipeline.network.namedParameters().map { ($0.name, $0.tensor) }),
                                      includeAdapters: true)
            let outcome = try drive(trainer, steps: steps, schedule: schedule, label: "distill", interpreter: args.interpreter)
            // With an EMA the student keeps the averaged weights (what was evaluated).
            if let ema = trainer.ema {
                for (parameter, average) in zip(trainer.student.network.namedParameters().map(\.tensor), ema.averages) { try parameter.assign(average) }
            }
            if let out { try student.student.save(to: out) }
            let trainedLora = try LoraTeacherObject(base: loss.teacher, network: trainer.teachers, rank: loss.lora.rank, alpha: loss.lora.alpha,
                                                    layers: loss.lora.layers, seed: loss.lora.seed)
            return .object(RunObject(trainer, kind: .distill, outcome: outcome, student: student, loss: loss, lora: trainedLora))
        },
        Builtin("generate", "model, prompts, negative: nil, method: \"nasa\", alpha: 0.5, layers: \"**\", seed: 0, count: 1, kappa: 3, steps: 20", method: true,
                doc: "Images [count·len(prompts), 3, S, S] in [−1, 1] (prompt by prompt) with a negative prompt (one, or one per prompt) removed by `method`: \"nasa\" (eq. 8–10: Z = Z⁺ − α Z⁻ in the cross-attention layers matching `layers`), \"cfg\" (one-step output-space guidance x0 = (1 + α) x0(y) − α x0(y⁻)), \"embed_sub\" (context c(y) − α c(y⁻)) or \"none\". Without `negative` the images are plain. For NASA, NASA switched on with `nasa(model, …)` is used as it is unless `layers` or `alpha` is given. A student draws in one step from noise seeded with `seed`; a teacher samples `steps` DPM-Solver++ steps at guidance `kappa` (\"cfg\" puts the negative prompt in the unconditional branch, eq. 5; \"embed_sub\" is for students).",
                example: "let img = generate(student, \"a shape\", negative: \"red\", seed: 3, count: 8)\nshow(img)") { args in
            let model = try args.pipeline("model")
            let count = try args.int("count")
            guard (1...4096).contains(count) else { throw args.mistake("count", "an integer from 1 to 4096") }
            let prompts = try args.prompts("prompts")
            try checkImageCount(args, prompts.count * count, side: model.side)
            let all = prompts.flatMap { Array(repeating: $0, count: count) }
            let negatives = try repeated(args.optionalPromptsPerPrompt("negative"), count)
            guard let method = NegativeMethod(rawValue: try args.string("method")) else {
                throw args.mistake("method", "one of " + NegativeMethod.allCases.map { quoted($0.rawValue) }.joined(separator: ", "))
            }
            let alpha = try args.number("alpha")
            guard alpha.isFinite else { throw args.mistake("alpha", "a finite number") }
            let layers = try args.string("layers")
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            // NASA as switched on with nasa() stays, unless layers or alpha say otherwise.
            let network = model.pipeline.network
            let installed = network.attentionLayers.contains { $0.layer.processor is NASAAttention }
            let nasaLayers = installed && !args.isGiven("layers") && !args.isGiven("alpha") ? NASALayers([]) : NASALayers([(layers, Float(alpha))])
            if let student = model as? StudentObject {
                guard let negatives else { return .tensor(try student.student.generate(prompts: all, generator: RandomGenerator(seed: seed))) }
                return .tensor(try student.student.generate(prompts: all, negativePrompts: negatives, method: method, alpha: Float(alpha),
                                                            nasaLayers: nasaLayers, seed: seed))
            }
            let kappa = try args.kappas("kappa", count: all.count, seed: seed &+ 99)
            let steps = try args.int("steps")
            guard steps >= 1, steps <= model.schedule.trainSteps else { throw args.mistake("steps", "an integer from 1 to \(model.schedule.trainSteps)") }
            func draw(negative: [String]? = nil, attention: [String]? = nil) throws -> Tensor {
                try model.asThisModel {
                    try model.pipeline.sample(prompts: all, negativePrompts: negative, kappa: kappa, steps: steps, sampler: .dpmsolver,
                                              attentionNegativePrompts: attention, generator: RandomGenerator(seed: seed), onStep: args.interruptible())
                }
            }
            guard let negatives else { return .tensor(try draw()) }
            switch method {
            case .none: return .tensor(try draw())
            case .nasa: return .tensor(try network.withNASA(nasaLayers) { try draw(attention: negatives) })
            case .cfg: return .tensor(try draw(negative: negatives))
            case .embedSub:
                throw RuntimeError("generate(): method \"embed_sub\" is for one-step students; for a teacher use \"nasa\", \"cfg\" or \"none\"", parameter: "method")
            }
        },
    ])
}

/// `distill(gan:)`: nil (off), a weight, or a record {weight, lr, noise, width}.
private func adversarialTerm(_ args: Arguments, _ p: String) throws -> AdversarialTerm? {
    let expected = "nil, a weight ≥ 0, or a record {weight, lr, noise, width} (lr > 0, noise in [0, 1], width ≥ 1)"
    var term = AdversarialTerm()
    switch args[p] {
    case .null: return nil
    case .number(let w): term.weight = Float(w)
    case .record(let r):
        for (key, value) in r.fields {
            guard case .number(let x) = value else { throw args.mistake(p, expected) }
            switch key {
            case "weight": term.weight = Float(x)
            case "lr": term.learningRate = Float(x)
            case "noise": term.maxNoise = Float(x)
            case "width":
                guard x >= 1, x <= 1024, x == x.rounded() else { throw args.mistake(p, expected) }
                term.width = Int(x)
            default: throw args.mistake(p, expected + "; '\(key)' is none of them")
            }
        }
    default: throw args.mistake(p, expected)
    }
    do { try term.validate() } catch { throw args.mistake(p, expected) }
    return term
}

/// The world whose training captions a distillation run draws: nil (the teacher's side, seed 0),
/// a world, or a world's `prompts` list.
private func distillPrompts(_ args: Arguments, _ p: String, side: Int, seed: UInt64) throws -> any PromptSource {
    let source: any PromptSource
    switch args[p] {
    case .null: source = try ShapesWorld(side: side, seed: 0)
    case .object(let w as WorldObject): source = w.world
    case .object(let d as DatasetObject): source = d.data
    case .list(let items):
        let given = try items.map { item -> String in
            guard case .string(let s) = item else { throw args.mistake(p, "a list of strings") }
            return s
        }
        // A world's own prompt list reads that world's captions (as before); any other list is a
        // prompt list, read in a seeded order per pass (no images: nothing to evaluate against).
        if let match = WorldPrompts.world(with: given, side: side) { source = match } else { source = try PromptList(given, seed: seed) }
    default: throw args.mistake(p, "nil, a world, a dataset, or a list of prompts")
    }
    if let images = source as? any ImageTextDataset, images.side != side {
        throw RuntimeError("distill(): \(images.name) holds \(images.side)×\(images.side) pictures, the teacher draws \(side)×\(side)", parameter: p)
    }
    return source
}

/// The worlds `shapes()` made, so `distill(prompts: world.prompts)` finds the world a prompt
/// list came from (the world's seed decides the list).
enum WorldPrompts {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var seeds: [UInt64] = [0]

    static func note(_ world: ShapesWorld) {
        lock.lock()
        defer { lock.unlock() }
        if !seeds.contains(world.seed) { seeds.append(world.seed) }
    }

    static func world(with prompts: [String?], side: Int) -> ShapesWorld? {
        guard let first = prompts.first, prompts.allSatisfy({ $0 != nil }) else { return nil }
        lock.lock()
        let candidates = seeds
        lock.unlock()
        for seed in candidates {
            guard let world = try? ShapesWorld(side: side, seed: seed), world.draw(0, split: .train).caption == first else { continue }
            if WorldObject(world).prompts(.train) == prompts.compactMap({ $0 }) { return world }
        }
        return nil
    }
}
