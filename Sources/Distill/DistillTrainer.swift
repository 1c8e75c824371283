import Checkpoints
import Diffusion
import Distributed
import Engine
import Foundation
import Models

/// SBv2's clamped CLIP loss: weight · mean(max(0, τ − cos(CLIP_img(x0), CLIP_txt(y)))), the weight
/// decaying linearly from `weight` to 0 over the run, with the gradient through the image tower.
public struct ClampedCLIPLoss {
    public var margin: Float = 0.37
    public var weight: Float = 0.1
    public init(margin: Float = 0.37, weight: Float = 0.1) { self.margin = margin; self.weight = weight }
}

/// DMD's regression warm-up: before VSD, the student regresses onto the teacher's own multi-step
/// samples — pairs (z, x0 = the teacher's DPM-Solver++ ODE sample from z) — with MSE (DMD2's
/// one-step SDXL does this with LPIPS at t_s = 399). Its steps are the run's first `steps` steps;
/// with a `weight`, the regression loss stays on beside VSD for the rest of the run (DMD v1's
/// λ_reg, which keeps the student anchored to the teacher's own samples).
public struct RegressionWarmup: Sendable {
    /// How many (noise, teacher sample) pairs, made once at the run's start from the run's seed.
    public var pairs = 1024
    /// Student updates on them (batch = the run's batch size), before the first VSD step.
    public var steps = 300
    public var learningRate: Float = 1e-4
    /// The teacher's guidance scale and sampler steps for the pairs.
    public var kappa: Float = 3
    public var samplerSteps = 20
    /// A file the pairs are kept in (HDF5: `noise`, `images`, `prompts`): read when it holds pairs
    /// made with the same seed, count, κ, sampler steps and teacher weights, else made and written.
    public var cachePath: String? = nil
    /// λ: after the warm-up each VSD step's student loss is VSD + λ · MSE(student(z), pair) on the
    /// next batch of pairs (0: VSD alone, the paper's objective).
    public var weight: Float = 0
    /// Adam's β₁ during the warm-up (nil: the run's, `DistillOptions.beta1`): a supervised
    /// regression may want the momentum VSD does without.
    public var beta1: Float? = nil
    /// The warm-up's learning rate: constant, or a cosine from `learningRate` down to 0 at its last step.
    public var cosine = false
    /// The seed the pairs are drawn from (nil: the run's `DistillOptions.seed`): runs of several
    /// seeds can share one set of pairs (and one cache file).
    public var pairSeed: UInt64? = nil
    public init(pairs: Int = 1024, steps: Int = 300, learningRate: Float = 1e-4, kappa: Float = 3, samplerSteps: Int = 20, weight: Float = 0) {
        (self.pairs, self.steps, self.learningRate, self.kappa, self.samplerSteps, self.weight) = (pairs, steps, learningRate, kappa, samplerSteps, weight)
    }
}

/// Settings of a distillation run.
public struct DistillOptions {
    public var batchSize = 8
    /// The student's learning rate (AdamW, constant after a short warm-up). 1e-5: the rate the
    /// learning-rate check in Docs/results.md chose (1e-4 and 3e-5 made the student worse).
    public var learningRate: Float = 1e-5
    /// The LoRA teacher's learning rate (AdamW).
    public var loraLearningRate: Float = 1e-3
    /// The LoRA teacher's adapters: rank 64, α = 2·rank (a rank-8 teacher could not keep up
    /// with the student in the shapes world; Docs/results.md).
    public var loraRank = 64
    public var loraAlpha: Float = 128
    /// The layers that get adapters (to_q, to_k, to_v, to_out.0 of every attention layer).
    public var loraTargets = ["**.to_q", "**.to_k", "**.to_v", "**.to_out.0"]
    /// κ for the two teachers. Default PG-SB.
    public var guidance: GuidanceSampling
    public var tRange: (min: Float, max: Float) = (0.02, 0.98)
    public var weighting: VSDWeighting = .sigmaSquared
    /// Student gradient-norm clipping (SwiftBrush: 1).
    public var clipNorm: Float? = 1
    /// DMD2's two-time-scale rule: LoRA-teacher updates per student update (1: SwiftBrush).
    public var loraStepsPerStudentStep = 1
    /// The LoRA teacher's prompt dropout.
    public var promptDropout: Float = 0.1
    /// SBv2's clamped CLIP loss; nil: off.
    public var clipLoss: ClampedCLIPLoss? = nil
    /// The run's length, for the CLIP-loss weight's decay and the warm-up.
    public var totalSteps = 400
    public var warmupSteps = 20
    public var seed: UInt64 = 0
    /// Evaluation images (one-step, fixed noise).
    public var evalCount = 256
    /// The student's conditioning timestep t_s (nil: T − 1, SwiftBrush's; see `OneStepStudent`).
    public var studentTimestep: Int? = nil
    /// Adam's β₁ for the student and the LoRA teacher (0.9: SwiftBrush; SiD and Diff-Instruct use 0).
    public var beta1: Float = 0.9
    /// EMA decay of the student's weights (nil: none); with one, evaluation and the saved student
    /// use the averaged weights (SwiftBrush, SiD).
    public var studentEMA: Float? = nil
    /// DMD's regression warm-up (nil: none, the paper's setting).
    public var regression: RegressionWarmup? = nil
    /// DMD2's adversarial term on real images, from the first VSD step (nil: none, the paper's setting).
    public var adversarial: AdversarialTerm? = nil

    public init() throws { guidance = try .pgsb() }

    /// The student steps spent on the regression warm-up.
    public var regressionSteps: Int { regression?.steps ?? 0 }

    func validate() throws {
        guard beta1 >= 0, beta1 < 1 else { throw TrainingError.invalidOptions("β₁ must be in [0, 1), got \(beta1)") }
        if let ema = studentEMA, !(ema > 0 && ema < 1) { throw TrainingError.invalidOptions("the student EMA decay must be in (0, 1), got \(ema)") }
        if let r = regression {
            guard r.pairs >= 1, r.steps >= 0, r.learningRate > 0, r.kappa.isFinite, r.kappa >= 0, r.samplerSteps >= 1, r.weight.isFinite, r.weight >= 0 else {
                throw TrainingError.invalidOptions("regression warm-up needs ≥ 1 pair, ≥ 0 steps, lr > 0, κ ≥ 0, ≥ 1 sampler step and a weight ≥ 0")
            }
            if let b = r.beta1, !(b >= 0 && b < 1) { throw TrainingError.invalidOptions("the warm-up's β₁ must be in [0, 1), got \(b)") }
        }
        try adversarial?.validate()
        guard batchSize >= 1, loraStepsPerStudentStep >= 1, totalSteps >= 1, warmupSteps >= 0, evalCount >= 8 else {
            throw TrainingError.invalidOptions("batch, LoRA steps per student step and total steps must be ≥ 1, warm-up ≥ 0, evaluation count ≥ 8")
        }
        guard learningRate > 0, loraLearningRate > 0 else { throw TrainingError.invalidOptions("learning rates must be > 0") }
        guard promptDropout >= 0, promptDropout <= 1 else { throw TrainingError.invalidOptions("prompt dropout must be in [0, 1]") }
    }
}

/// Distils a `WorldTeacher` into a `OneStepStudent` by VSD (eq. 6/7) with guidance-scale
/// distributions (PG-SB) and the baselines (SwiftBrush's fixed κ, DMD2's two-time-scale rule,
/// SBv2's clamped CLIP loss). Each step: the student draws x0 for a batch of training captions (of
/// the shapes world, a dataset or a prompt list: VSD needs no images); VSD against the frozen and LoRA teachers (one network, adapters off/on) updates the
/// student; then the LoRA teacher takes `loraStepsPerStudentStep` denoising steps (eq. 3, prompt
/// dropout) on detached student samples. Drive it with `runTraining`.
///
/// Data-parallel under MPI (`mpirun -np N snp distill …`), as `TeacherTrainer` is: each rank
/// computes its rows of every batch (`BatchShare`) from the whole batch's draws, the student's
/// and the LoRA teacher's gradients are summed over the ranks before their optimizers step, and
/// evaluations split their images over the ranks.
public final class DistillTrainer: TrainingRun {
    public let teacher: WorldTeacher
    public let student: OneStepStudent
    /// Where the training captions come from; when it is an `ImageTextDataset` its held-out images
    /// are what evaluations measure against (a plain prompt list cannot be evaluated).
    public let data: any PromptSource
    /// `data` when it has images (the adversarial term's real images and evaluation's).
    let realData: (any ImageTextDataset)?
    public let options: DistillOptions
    /// The teacher's network copy that carries the LoRA teacher's adapters.
    public let teachers: any Module & NoisePredictor
    public let vsd: VSD
    public private(set) var step = 0
    public var history = TrainingHistory()
    let studentOptimizer: AdamW, loraOptimizer: AdamW
    let studentParameters: [Tensor]
    let loraNames: [(name: String, tensor: Tensor)]
    let generator: RandomGenerator
    /// The student's EMA (when `options.studentEMA` is set).
    public let ema: ExponentialMovingAverage?
    /// The regression warm-up's pairs: noise [N, 3, S, S], teacher samples, captions (made on first use).
    private var regressionPairs: (noise: Tensor, images: Tensor, captions: [String])?
    /// The adversarial term's discriminator and optimizer (when `options.adversarial` is set).
    let adversarial: AdversarialTraining?
    /// The adversarial term's discriminator (nil without one).
    public var discriminator: ProjectionDiscriminator? { adversarial?.discriminator }
    private var evaluator: SampleEvaluator?
    /// Reads prompt accuracy at evaluations (nil: the shipped classifier beside the teacher's
    /// encoder, looked up at the first evaluation; none when there is no such file).
    public var judge: AttributeClassifier?
    /// The ranks this run is spread over (the current group when it was made).
    public let collective: any Collective

    /// `student`: the one-step student to train, in place (default: a fresh copy of `teacher`).
    public init(teacher: WorldTeacher, data: any PromptSource, options: DistillOptions, student: OneStepStudent? = nil) throws {
        try options.validate()
        collective = Collectives.current
        _ = try BatchShare(batch: options.batchSize, over: collective)
        if collective.size > 1, options.adversarial != nil {
            throw DistillError.invalidArgument(name: "distillation", reason: "the adversarial term does not run data-parallel yet: run it on one rank")
        }
        realData = data as? any ImageTextDataset
        if let realData {
            try realData.requireSide(teacher.side, for: "the teacher")
        } else if options.adversarial != nil {
            throw DistillError.invalidArgument(name: "distillation", reason: "the adversarial term needs real images, and \(data.name) has none (give a dataset)")
        }
        if let student, student.pipeline.architecture != teacher.architecture || student.side != teacher.side {
            throw DistillError.invalidArgument(name: "student", reason: "a \(student.pipeline.architecture) at side \(student.side), but the teacher is a \(teacher.architecture) at side \(teacher.side)")
        }
        self.teacher = teacher
        self.data = data
        self.options = options
        if let student, let t = options.studentTimestep, student.timestep != t {
            throw DistillError.invalidArgument(name: "student", reason: "conditioned at t = \(student.timestep), but the options ask for t = \(t)")
        }
        self.student = try student ?? OneStepStudent(copying: teacher, timestep: options.studentTimestep)
        let teachers = try Self.loraTeacher(teacher, rank: options.loraRank, alpha: options.loraAlpha, targets: options.loraTargets, seed: options.seed)
        self.teachers = teachers
        let baseNames = Set(teachers.stateDict().map(\.name))
        loraNames = teachers.namedParameters().filter { !baseNames.contains($0.name) }
        vsd = try VSD(teacher: teachers, schedule: teacher.schedule, guidance: options.guidance, tRange: options.tRange, weighting: options.weighting)
        let named = self.student.network.namedParameters()
        studentParameters = named.map(\.tensor)
        studentOptimizer = try AdamW(parameters: studentParameters, learningRate: options.learningRate, beta1: options.beta1, weightDecay: 0)
        loraOptimizer = try AdamW(parameters: loraNames.map(\.tensor), learningRate: options.loraLearningRate, beta1: options.beta1, weightDecay: 0)
        ema = try options.studentEMA.map { try ExponentialMovingAverage(parameters: named, decay: $0) }
        adversarial = try options.adversarial.map { try AdversarialTraining(term: $0, contextWidth: teacher.encoder.width, seed: options.seed) }
        generator = RandomGenerator(seed: options.seed)
    }

    /// The two teachers as one network, as the trainer builds them: a copy of `teacher`'s network,
    /// base frozen (adapters off = the frozen teacher ψ), with trainable LoRA adapters on `targets`
    /// (on = the LoRA teacher φ), drawn from `seed` so two runs with the same options start alike.
    public static func loraTeacher(_ teacher: WorldTeacher, rank: Int, alpha: Float, targets: [String], seed: UInt64) throws
        -> any Module & NoisePredictor {
        let network = try teacher.copy().network
        _ = try network.freeze()
        try Initialization.withSeed(seed &+ 0x10AA) {
            for target in targets { try network.addLoRA(target, rank: rank, alpha: alpha) }
        }
        return network
    }

    /// Training captions step·B ..< (step+1)·B.
    func captions(at step: Int) throws -> [String] {
        try data.captions(options.batchSize, split: .train, start: step * options.batchSize)
    }

    public func trainStep() throws -> [String: Double] {
        let metrics: [String: Double]
        do {
            metrics = step < options.regressionSteps ? try regressionStep() : try vsdStep()
        } catch TrainingError.nonFinite(let at, let metric, let value, let last, .none) {
            throw TrainingError.nonFinite(step: at, metric: metric, value: value, lastCheckpoint: last, cause: nonFiniteWeight())
        }
        ema?.update()
        step += 1
        return metrics
    }

    /// The first weight of the student, then of the LoRA teacher, that holds a NaN or an infinity
    /// (what a non-finite loss is traced back to); nil when every weight is finite.
    func nonFiniteWeight() -> String? {
        for (owner, weights) in [("the student's", student.network.namedParameters()), ("the LoRA teacher's", loraNames)] {
            for (name, tensor) in weights {
                if let bad = tensor.firstNonFinite() { return "\(owner) weight \(name) holds \(bad.value)" }
            }
        }
        return nil
    }

    /// The regression warm-up's pairs, made from the run's seed (or `pairSeed`) alone (so a resumed run makes the
    /// same ones): training captions from index 2²⁹ on, noise and the
    /// teacher's DPM-Solver++ samples in chunks of 64.
    func pairs() throws -> (noise: Tensor, images: Tensor, captions: [String]) {
        if let regressionPairs { return regressionPairs }
        let r = options.regression!, side = teacher.side
        // What the pairs depend on, to tell a cache made for other settings.
        let pairSeed = r.pairSeed ?? options.seed
        let key = "seed \(pairSeed), pairs \(r.pairs), kappa \(r.kappa), steps \(r.samplerSteps), teacher \(try teacherFingerprint())"
        if let cache = r.cachePath, FileManager.default.fileExists(atPath: cache),
           (try? HDF5File(path: cache).attribute("regression_pairs"))??.stringValue == key {
            let set = try ImageSetFile.load(cache, tensors: ["noise"])
            regressionPairs = (set.tensors["noise"]!, set.images, set.prompts)
            return regressionPairs!
        }
        var noise: [Tensor] = [], images: [Tensor] = [], captions: [String] = []
        for first in stride(from: 0, to: r.pairs, by: 64) {
            let n = Swift.min(64, r.pairs - first)
            let chunk = try data.captions(n, split: .train, start: (1 << 29) + first)
            let seed = pairSeed &* 7919 &+ 0x5EED &+ UInt64(first)
            // NOTE: `sample` draws its starting noise first from the generator it is given, so the
            // same seed reproduces z here.
            noise.append(try Tensor.randn([n, 3, side, side], generator: RandomGenerator(seed: seed)))
            images.append(try teacher.sample(prompts: chunk, kappa: r.kappa, steps: r.samplerSteps, generator: RandomGenerator(seed: seed)))
            captions += chunk
        }
        regressionPairs = (try Tensor.concat(noise), try Tensor.concat(images), captions)
        if let cache = r.cachePath {
            try ImageSetFile.save(images: regressionPairs!.images, prompts: captions, attributes: ["regression_pairs": .string(key)],
                                  tensors: ["noise": regressionPairs!.noise], to: cache)
        }
        return regressionPairs!
    }

    /// A cheap fingerprint of the teacher's weights (sum and sum of squares of every tensor).
    func teacherFingerprint() throws -> String {
        var sum = 0.0, squares = 0.0
        for (_, tensor) in teacher.network.stateDict() {
            for x in tensor.scalars { sum += Double(x); squares += Double(x) * Double(x) }
        }
        return String(format: "%.9e/%.9e", sum, squares)
    }

    /// MSE between the student's x0 from the pairs' noise and the teacher's samples from it, on
    /// pair rows step·B ..< (step+1)·B (cycling).
    /// This rank's rows of them, weighted by their share of the batch.
    func regressionLoss(share: BatchShare) throws -> Tensor {
        let (noise, images, captions) = try pairs()
        let b = options.batchSize, n = captions.count
        let rows = share.mine((0..<b).map { (step * b + $0) % n })
        let x0 = try student.x0(noise: noise.indexSelect(axis: 0, indices: rows), context: teacher.context(rows.map { captions[$0] }))
        return try share.weighted(Tensor.mse(x0, images.indexSelect(axis: 0, indices: rows)))
    }

    /// One regression step: MSE between the student's x0 from z and the teacher's sample from z.
    func regressionStep() throws -> [String: Double] {
        let r = options.regression!
        studentOptimizer.learningRate = r.cosine && r.steps > 1
            ? r.learningRate * 0.5 * (1 + Float(Foundation.cos(Double.pi * Double(step) / Double(r.steps - 1))))
            : r.learningRate
        studentOptimizer.beta1 = r.beta1 ?? options.beta1
        studentOptimizer.zeroGrad()
        let share = try BatchShare(batch: options.batchSize, over: collective)
        let loss = try regressionLoss(share: share)
        try loss.backward()
        try share.allReduceGradients(studentParameters)
        let gradNorm = try clipGradNorm(studentParameters, maxNorm: options.clipNorm ?? .greatestFiniteMagnitude)
        var metrics = try share.sum(["regression_loss": Double(try loss.item())])
        metrics["grad_norm"] = Double(gradNorm)
        try checkFinite(metrics, step: step + 1)
        try studentOptimizer.step()
        return metrics
    }

    /// One VSD step of the student, then the LoRA teacher's update(s).
    func vsdStep() throws -> [String: Double] {
        let b = options.batchSize
        let share = try BatchShare(batch: b, over: collective)
        let captions = share.mine(try self.captions(at: step))
        let mine = captions.count
        let context = try teacher.context(captions), unconditional = try teacher.context(Array(repeating: "", count: mine))
        let vsdStep = step - options.regressionSteps
        let warm = options.warmupSteps > 0 ? Swift.min(1, Float(vsdStep + 1) / Float(options.warmupSteps)) : 1
        studentOptimizer.learningRate = options.learningRate * warm
        studentOptimizer.beta1 = options.beta1

        // Student update: VSD (+ the clamped CLIP loss).
        studentOptimizer.zeroGrad()
        let z = try share.mine(Tensor.randn([b, 3, teacher.side, teacher.side], generator: generator))
        let x0 = try student.x0(noise: z, context: context)
        let terms = try vsd.loss(x0: x0, context: context, unconditional: unconditional, generator: generator, share: share)
        // VSD's g is nan_to_num'ed (as DMD2 does), so a teacher that went non-finite would
        // silently give g = 0: stop before the student steps instead.
        for (name, eps) in [("the frozen teacher's ε", terms.epsFrozen), ("the LoRA teacher's ε", terms.epsLora)] {
            if let bad = eps.firstNonFinite()?.value {
                throw TrainingError.nonFinite(step: step + 1, metric: name, value: bad.isNaN ? .nan : Double(bad), lastCheckpoint: nil)
            }
        }
        var loss = terms.loss
        // Per-rank parts of batch means, summed over the ranks below.
        var parts: [String: Double] = ["loss": Double(try terms.loss.item())]
        if let clip = options.clipLoss {
            let weight = clip.weight * Swift.max(0, 1 - Float(vsdStep) / Float(Swift.max(1, options.totalSteps - options.regressionSteps)))
            let images = try teacher.encoder.encodeImage(x0.clamp(min: -1, max: 1))
            let texts = try noGrad { try teacher.encoder.encodeText(captions) }
            let cosine = try (images * texts).sum(axes: [1])
            let clamped = try share.weighted((-cosine + clip.margin).clamp(min: 0).mean())
            loss = try loss + clamped * weight
            parts["clip_loss"] = Double(try clamped.item())
        }
        if let r = options.regression, r.weight > 0 {
            let regression = try regressionLoss(share: share)
            loss = try loss + regression * r.weight
            parts["regression_loss"] = Double(try regression.item())
        }
        // The discriminator reads the mean of each caption's text states.
        let text = try adversarial.map { _ in try context.mean(axes: [1]) }
        if let adversarial, let text {
            let generatorLoss = try adversarial.generatorLoss(x0, text: text, schedule: teacher.schedule, generator: generator)
            loss = try loss + generatorLoss * adversarial.term.weight
            parts["gan_loss"] = Double(try generatorLoss.item())
        }
        try loss.backward()
        try share.allReduceGradients(studentParameters)
        let gradNorm = try clipGradNorm(studentParameters, maxNorm: options.clipNorm ?? .greatestFiniteMagnitude)
        // g's mean square and κ's first two moments, as sums over the batch.
        let k = terms.kappaFrozen.map(Double.init)
        parts["g_square"] = Double(try terms.g.square().mean().item()) * Double(share.fraction)
        parts["kappa_sum"] = k.reduce(0, +)
        parts["kappa_square_sum"] = k.map { $0 * $0 }.reduce(0, +)
        var metrics = try share.sum(parts)
        metrics["grad_norm"] = Double(gradNorm)
        metrics["g_rms"] = metrics.removeValue(forKey: "g_square")!.squareRoot()
        let kMean = metrics.removeValue(forKey: "kappa_sum")! / Double(b)
        let kSquare = metrics.removeValue(forKey: "kappa_square_sum")! / Double(b)
        metrics["kappa_mean"] = kMean
        metrics["kappa_std"] = Swift.max(0, kSquare - kMean * kMean).squareRoot()
        try checkFinite(metrics, step: step + 1)
        try studentOptimizer.step()

        // The discriminator's step: the real images of the step's own captions against the student's.
        if let adversarial, let text {
            let real = try realData!.examples(b, split: .train, start: step * b).images
            metrics.merge(try adversarial.step(real: real, fake: x0, text: text, schedule: teacher.schedule, generator: generator)) { $1 }
            try checkFinite(metrics, step: step + 1)
        }

        // LoRA-teacher update(s) on detached student samples.
        var loraLoss = 0.0
        for k in 0..<options.loraStepsPerStudentStep {
            let samples = k == 0 ? x0.detach()
                : try noGrad { try student.x0(noise: share.mine(Tensor.randn([b, 3, teacher.side, teacher.side], generator: generator)), context: context) }
            loraLoss += try loraStep(samples: samples, captions: captions, share: share)
        }
        metrics["lora_loss"] = loraLoss / Double(options.loraStepsPerStudentStep)
        try checkFinite(metrics, step: step + 1)
        return metrics
    }

    /// One denoising step (eq. 3) of the LoRA teacher on `samples`, prompts dropped to "" with
    /// probability `promptDropout`, t ~ U{0…T−1}.
    /// `samples` and `captions` are this rank's rows of `share`; the draws are the whole batch's.
    func loraStep(samples: Tensor, captions: [String], share: BatchShare) throws -> Double {
        let b = share.total, mine = samples.shape[0]
        let keep = share.mine((0..<b).map { _ in generator.uniform() >= options.promptDropout })
        let dropped = zip(captions, keep).map { $1 ? $0 : "" }
        let t = share.mine((0..<b).map { _ in generator.integer(below: teacher.schedule.trainSteps) })
        let noise = try share.mine(Tensor.randn([b] + Array(samples.shape.dropFirst()), generator: generator))
        let xt = try teacher.schedule.addNoise(x0: samples, noise: noise, t: t)
        loraOptimizer.zeroGrad()
        let prediction = try teachers.withLoRA(enabled: true) {
            try teachers.prediction(xt, timestep: Tensor(t.map(Float.init), shape: [mine]), context: teacher.context(dropped))
        }
        let loss = try share.weighted(Tensor.mse(prediction, noise))
        try loss.backward()
        try share.allReduceGradients(loraNames.map(\.tensor))
        let value = try share.sum(["lora_loss": Double(try loss.item())])["lora_loss"]!
        guard value.isFinite else { throw TrainingError.nonFinite(step: step + 1, metric: "lora_loss", value: value, lastCheckpoint: nil) }
        try loraOptimizer.step()
        return value
    }

    /// FD, CLIP score, precision and recall of one-step samples for the evaluation captions
    /// (fixed noise: the same images at every evaluation for the same weights).
    public func evaluate() throws -> [String: Double] {
        if evaluator == nil {
            guard let images = realData else {
                throw DistillError.invalidArgument(name: "evaluation", reason: "needs real images to measure against, and \(data.name) has none (give a dataset, or evaluate every 0 steps)")
            }
            evaluator = try SampleEvaluator(teacher: teacher, data: images, count: options.evalCount, judge: judge)
        }
        let evaluator = self.evaluator!
        return try withStudentWeights {
            // Each rank makes its share of the images from its rows of the one noise tensor.
            let prompts = evaluator.captions
            let z = try Tensor.randn([prompts.count, 3, teacher.side, teacher.side], generator: RandomGenerator(seed: 4321))
            let images = try collective.splitRows(prompts.count) { rows in
                try student.generate(prompts: Array(prompts[rows]), noise: z.slice(axis: 0, start: rows.lowerBound, end: rows.upperBound))
            }
            var metrics = try evaluator.evaluate(images)
            // Does the LoRA teacher track the student? Its denoising loss on the student's samples
            // and on real images, at the same t and noise (lower on the student's: it learned them).
            // The first 64 evaluation captions: the student's images and the real images drawn for them.
            let n = Swift.min(64, images.shape[0])
            let generator = RandomGenerator(seed: 99)
            let t = (0..<n).map { _ in generator.integer(below: teacher.schedule.trainSteps) }
            let noise = try Tensor.randn([n] + Array(images.shape.dropFirst()), generator: generator)
            let context = try teacher.context(Array(evaluator.captions.prefix(n)))
            for (name, x0) in [("lora_fit_student", try images.slice(axis: 0, start: 0, end: n)),
                               ("lora_fit_real", try evaluator.realImages.slice(axis: 0, start: 0, end: n))] {
                let xt = try teacher.schedule.addNoise(x0: x0, noise: noise, t: t)
                let eps = try noGrad { try teachers.withLoRA(enabled: true) {
                    try teachers.prediction(xt, timestep: Tensor(t.map(Float.init), shape: [n]), context: context)
                } }
                metrics[name] = Double(try Tensor.mse(eps, noise).item())
            }
            return metrics
        }
    }

    /// Runs `body` with the student's evaluated weights in place: the EMA's when the run keeps one.
    public func withStudentWeights<T>(_ body: () throws -> T) throws -> T {
        guard let ema else { return try body() }
        return try ema.withAveragedWeights(body)
    }

    /// The student's weights (the EMA's when kept, the raw ones then under `training`), with both
    /// optimizers, the LoRA adapters, the generator and history.
    public func checkpoint() throws -> Checkpoint {
        var checkpoint = try withStudentWeights { try student.checkpoint() }
        var tensors = ["lora": try NamedTensors(loraNames.map { ($0.name, $0.tensor.detach().copy()) })]
        if ema != nil { tensors["weights"] = try NamedTensors(student.network.namedParameters().map { ($0.name, $0.tensor.detach().copy()) }) }
        var optimizers = ["lora": loraOptimizer.state]
        if let adversarial {
            tensors["discriminator"] = try NamedTensors(adversarial.parameters.map { ($0.name, $0.tensor.detach().copy()) })
            optimizers["discriminator"] = adversarial.optimizer.state
        }
        checkpoint.training = TrainingState(step: step, optimizer: studentOptimizer.state, random: generator.state, history: history,
                                            optimizers: optimizers, tensors: tensors)
        return checkpoint
    }

    public func save(to path: String) throws { try student.pipeline.save(checkpoint(), to: path) }

    /// Continues the run saved at `path` against `teacher` with `options` (which must be the run's).
    public static func resume(from path: String, teacher: WorldTeacher, data: any PromptSource, options: DistillOptions) throws -> DistillTrainer {
        let checkpoint = try Checkpoint.load(path)
        guard let state = checkpoint.training, let studentState = state.optimizer, let loraState = state.optimizers["lora"],
              let random = state.random, let lora = state.tensors["lora"] else {
            throw DistillError.invalidArgument(name: path, reason: "holds no resumable distillation state (optimizers, LoRA adapters, generator)")
        }
        let trainer = try DistillTrainer(teacher: teacher, data: data, options: options)
        if let ema = trainer.ema {
            guard let raw = state.tensors["weights"] else {
                throw DistillError.invalidArgument(name: path, reason: "was trained without a student EMA, but the options keep one")
            }
            try ema.load(WorldTeacher.networkTensors(of: checkpoint), updates: state.step)
            try trainer.student.network.load(raw.dictionary)
        } else {
            try trainer.student.network.load(WorldTeacher.networkTensors(of: checkpoint).dictionary)
        }
        try restore(trainer.loraNames, from: lora, path: path, mismatch: "its LoRA adapters do not match (rank or targets differ)")
        if let adversarial = trainer.adversarial {
            guard let weights = state.tensors["discriminator"], let optimizer = state.optimizers["discriminator"] else {
                throw DistillError.invalidArgument(name: path, reason: "was trained without the adversarial term, but the options ask for one")
            }
            try restore(adversarial.parameters, from: weights, path: path, mismatch: "its discriminator does not match (another width)")
            try adversarial.optimizer.load(optimizer)
        }
        try trainer.studentOptimizer.load(studentState)
        try trainer.loraOptimizer.load(loraState)
        trainer.generator.state = random
        trainer.step = state.step
        trainer.history = state.history
        return trainer
    }

    /// Assigns each of `parameters` its saved tensor of the same name and shape, or names the first
    /// that has none.
    private static func restore(_ parameters: [(name: String, tensor: Tensor)], from saved: NamedTensors, path: String, mismatch: String) throws {
        for (name, tensor) in parameters {
            guard let value = saved[name], value.shape == tensor.shape else {
                throw DistillError.invalidArgument(name: path, reason: "\(mismatch): \(name)")
            }
            try tensor.assign(value)
        }
    }
}
