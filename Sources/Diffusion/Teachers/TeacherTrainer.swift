import Checkpoints
import Distributed
import Engine
import Foundation
import Models

/// Settings of a teacher's training (eq. 3 of the paper).
public struct TeacherTrainingOptions {
    public var batchSize = 32
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-2
    /// Linear warm-up steps, then cosine decay to 0 at `totalSteps`.
    public var warmupSteps = 100
    /// The step count the learning-rate schedule spans.
    public var totalSteps = 4000
    /// EMA decay of the weights that are sampled and saved.
    public var emaDecay: Float = 0.999
    /// The probability that a caption is replaced by the empty prompt (so the network learns the
    /// unconditional branch CFG needs).
    public var promptDropout: Float = 0.1
    /// Gradient-norm clipping; nil: none.
    public var clipNorm: Float? = 1
    /// Seeds the noise, timesteps and prompt dropout (the data follows the dataset's own seed).
    public var seed: UInt64 = 0
    /// Evaluation: images generated, κ, sampler steps.
    public var evalCount = 256, evalKappa: Float = 3, evalSteps = 20

    public init() {}

    func validate() throws {
        guard batchSize >= 1 else { throw TrainingError.invalidOptions("batch size must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw TrainingError.invalidOptions("learning rate must be > 0, got \(learningRate)") }
        guard promptDropout >= 0, promptDropout <= 1 else { throw TrainingError.invalidOptions("prompt dropout must be in [0, 1], got \(promptDropout)") }
        guard totalSteps >= 1, warmupSteps >= 0 else { throw TrainingError.invalidOptions("total steps must be ≥ 1 and warm-up ≥ 0") }
        guard evalCount >= 8, evalSteps >= 1 else { throw TrainingError.invalidOptions("evaluation needs ≥ 8 images and ≥ 1 sampler step") }
    }
}

/// Trains a `WorldTeacher`'s network on a dataset (the shapes world or the user's own) with the
/// denoising loss of eq. 3,
///
///     L = E_{x0, y, t, ε} ‖ε − ε_θ(α_t x0 + σ_t ε, t, y)‖²,   t ~ U{0, …, T−1},
///
/// captions dropped to "" with probability 0.1, AdamW with warm-up and cosine decay, gradient
/// clipping, and an EMA of the weights (what is evaluated and saved). Step k trains on the
/// dataset's training examples k·B ..< (k+1)·B; noise, timesteps and dropout come from one seeded
/// generator whose position is checkpointed, so a resumed run repeats an uninterrupted one
/// exactly. Drive it with `runTraining`.
///
/// Data-parallel under MPI (`mpirun -np N snp train-teacher …`): each rank loads and computes
/// its rows of every batch (`BatchShare`), draws the whole batch's noise, timesteps and dropout
/// as one process would, and the gradients are summed over the ranks before clipping; so N ranks
/// train as one process with the same batch does, and evaluations split their images over ranks.
public final class TeacherTrainer: TrainingRun {
    public let teacher: WorldTeacher
    public let data: any ImageTextDataset
    public let options: TeacherTrainingOptions
    public private(set) var step = 0
    public var history = TrainingHistory()
    let optimizer: AdamW
    public let ema: ExponentialMovingAverage
    let generator: RandomGenerator
    let schedule: CosineSchedule
    let parameters: [(name: String, tensor: Tensor)]
    private var evaluator: SampleEvaluator?
    /// The ranks this run is spread over (the current group when it was made).
    public let collective: any Collective
    /// Reads prompt accuracy at evaluations (nil: the shipped classifier beside the teacher's
    /// encoder, looked up at the first evaluation; none when there is no such file).
    public var judge: AttributeClassifier?

    public init(teacher: WorldTeacher, data: any ImageTextDataset, options: TeacherTrainingOptions = TeacherTrainingOptions()) throws {
        try options.validate()
        try data.requireSide(teacher.side, for: "the teacher")
        collective = Collectives.current
        _ = try BatchShare(batch: options.batchSize, over: collective)
        self.teacher = teacher
        self.data = data
        self.options = options
        parameters = teacher.network.namedParameters()
        optimizer = try AdamW(parameters: parameters.map(\.tensor), learningRate: options.learningRate, weightDecay: options.weightDecay)
        ema = try ExponentialMovingAverage(parameters: parameters, decay: options.emaDecay)
        generator = RandomGenerator(seed: options.seed)
        schedule = CosineSchedule(rate: options.learningRate, totalSteps: options.totalSteps, warmupSteps: options.warmupSteps)
    }

    /// The denoising loss (eq. 3) of this rank's rows of one batch: `images` and `captions` are
    /// those rows; dropout, timesteps and noise are drawn for the whole batch from the run's
    /// generator and the rows kept. Weighted by the rows' share of the batch.
    func loss(images: Tensor, captions: [String], share: BatchShare) throws -> Tensor {
        let b = share.total
        let keep = (0..<b).map { _ in generator.uniform() >= options.promptDropout }
        let t = (0..<b).map { _ in generator.integer(below: teacher.schedule.trainSteps) }
        let noise = try share.mine(Tensor.randn([b] + Array(images.shape.dropFirst()), generator: generator))
        let dropped = zip(captions, share.mine(keep)).map { $1 ? $0 : "" }
        let mine = share.mine(t)
        let xt = try teacher.schedule.addNoise(x0: images, noise: noise, t: mine)
        let prediction = try teacher.epsilon(xt, t: mine, context: teacher.context(dropped))
        return try share.weighted(Tensor.mse(prediction, noise))
    }

    public func trainStep() throws -> [String: Double] {
        teacher.network.train()
        defer { teacher.network.eval() }
        let share = try BatchShare(batch: options.batchSize, over: collective)
        let batch = try data.examples(share.rows.count, split: .train, start: step * options.batchSize + share.rows.lowerBound)
        optimizer.learningRate = schedule.learningRate(at: step)
        optimizer.zeroGrad()
        let l = try loss(images: batch.images, captions: batch.captions, share: share)
        try l.backward()
        try share.allReduceGradients(optimizer.parameters)
        let gradNorm = try clipGradNorm(optimizer.parameters, maxNorm: options.clipNorm ?? .greatestFiniteMagnitude)
        var metrics = try share.sum(["loss": Double(try l.item())])
        metrics["grad_norm"] = Double(gradNorm)
        metrics["lr"] = Double(optimizer.learningRate)
        try checkFinite(metrics, step: step + 1)
        try optimizer.step()
        ema.update()
        step += 1
        return metrics
    }

    /// FD, CLIP score, precision and recall of the EMA weights' samples (DPM-Solver++,
    /// `evalSteps` steps, κ = `evalKappa`) against `evalCount` held-out real images. Uses its own
    /// fixed-seed generator, so evaluating does not change training.
    public func evaluate() throws -> [String: Double] {
        if evaluator == nil { evaluator = try SampleEvaluator(teacher: teacher, data: data, count: options.evalCount, judge: judge) }
        let evaluator = self.evaluator!
        return try ema.withAveragedWeights {
            // Each rank samples its share of the captions from its rows of the one noise tensor.
            let captions = evaluator.captions
            let noise = try Tensor.randn([captions.count, 3, teacher.side, teacher.side], generator: RandomGenerator(seed: 1234))
            let images = try collective.splitRows(captions.count) { rows in
                try teacher.sample(prompts: Array(captions[rows]), kappa: [options.evalKappa], steps: options.evalSteps,
                                   noise: noise.slice(axis: 0, start: rows.lowerBound, end: rows.upperBound),
                                   generator: RandomGenerator(seed: 1234))
            }
            return try evaluator.evaluate(images)
        }
    }

    /// A checkpoint of the teacher with the EMA weights as its tensors (so it samples as the
    /// trained teacher) and, under `training`, the raw weights, AdamW's state, the generator's
    /// position and the history.
    public func checkpoint() throws -> Checkpoint {
        var checkpoint = try ema.withAveragedWeights { try teacher.checkpoint() }
        checkpoint.training = TrainingState(step: step, optimizer: optimizer.state, random: generator.state, history: history,
                                            tensors: ["weights": try NamedTensors(parameters)])
        return checkpoint
    }

    public func save(to path: String) throws { try teacher.save(checkpoint(), to: path) }

    /// Continues the run saved at `path` (by `save(to:)`): its raw weights, EMA, optimizer,
    /// generator position, step and history.
    public static func resume(from path: String, data: any ImageTextDataset, options: TeacherTrainingOptions) throws -> TeacherTrainer {
        let checkpoint = try Checkpoint.load(path)
        guard let state = checkpoint.training, let optimizerState = state.optimizer, let random = state.random,
              let weights = state.tensors["weights"] else {
            throw DiffusionError.invalidArgument(name: path, reason: "holds no resumable training state (optimizer, generator and raw weights)")
        }
        let teacher = try WorldTeacher.load(checkpoint, path: path)
        let trainer = try TeacherTrainer(teacher: teacher, data: data, options: options)
        try trainer.ema.load(WorldTeacher.networkTensors(of: checkpoint), updates: state.step)
        try teacher.network.load(weights.dictionary)
        try trainer.optimizer.load(optimizerState)
        trainer.generator.state = random
        trainer.step = state.step
        trainer.history = state.history
        return trainer
    }
}
