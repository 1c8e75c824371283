import Checkpoints
import Diffusion
import Engine
import Foundation
import Models

/// A one-step generator made from a multi-step teacher: a copy of the teacher's network fed pure
/// noise z ~ N(0, I) as if it were x_t at the student's conditioning timestep t_s, read as an ε
/// prediction and turned into an image,
///
///     x0 = (z − σ_{t_s} ε_θ(z, t_s, y)) / α_{t_s}.
///
/// t_s = T − 1 is the SwiftBrush parameterization (the paper's, and the default): there the
/// network's error reaches x0 multiplied by σ_T/α_T ≈ 14.6. A smaller t_s (DMD2's one-step SDXL
/// uses 399, factor 1.16) trades that amplification for an input the teacher reads as partly
/// signal; Docs/results.md measures FD against t_s.
///
/// It keeps the teacher's encoder and schedule (`pipeline` is a `WorldTeacher` around the
/// student's own network), and saves as a teacher-shaped checkpoint tagged "OneStepStudent" with
/// t_s in its config (`_snoopi_student_timestep`; absent in older files, which used T − 1).
public final class OneStepStudent {
    public static let pipelineTag = "OneStepStudent"
    static let timestepKey = "_snoopi_student_timestep"
    /// The student's network with the teacher's encoder and schedule.
    public let pipeline: WorldTeacher
    public var network: any Module & NoisePredictor { pipeline.network }
    public var schedule: NoiseSchedule { pipeline.schedule }
    public var side: Int { pipeline.side }
    /// The conditioning timestep t_s the student reads its noise at (T − 1: SwiftBrush).
    public let timestep: Int

    /// A student whose weights are a copy of `teacher`'s, conditioned at `timestep` (nil: T − 1).
    public init(copying teacher: WorldTeacher, timestep: Int? = nil) throws {
        pipeline = try teacher.copy()
        self.timestep = try Self.checked(timestep, schedule: teacher.schedule)
    }

    init(pipeline: WorldTeacher, timestep: Int?) throws {
        self.pipeline = pipeline
        self.timestep = try Self.checked(timestep, schedule: pipeline.schedule)
    }

    static func checked(_ timestep: Int?, schedule: NoiseSchedule) throws -> Int {
        let t = timestep ?? schedule.trainSteps - 1
        guard t >= 1, t < schedule.trainSteps else {
            throw DistillError.invalidArgument(name: "student timestep", reason: "must be in 1…\(schedule.trainSteps - 1), got \(t)")
        }
        return t
    }

    /// σ_{t_s}/α_{t_s}: how much an ε error is amplified in x0.
    public var amplification: Float {
        let a = schedule.alphaBars[timestep]
        return ((1 - a) / a).squareRoot()
    }

    /// x0 [B, 3, side, side] from noise `z` and text states `context` (with gradient when the
    /// network's parameters require it). `negativeContext` goes to the attention processors (NASA).
    public func x0(noise z: Tensor, context: Tensor, negativeContext: Tensor? = nil) throws -> Tensor {
        let b = z.shape[0]
        let t = Tensor.full([b], Float(timestep))
        let epsilon = try network.prediction(z, timestep: t, context: context, negativeContext: negativeContext)
        let alpha = schedule.alphaBars[timestep].squareRoot(), sigma = (1 - schedule.alphaBars[timestep]).squareRoot()
        return try (z - epsilon * sigma) * (1 / alpha)
    }

    /// Images for `prompts` from noise drawn by `generator`, clamped to [−1, 1], without gradient.
    public func generate(prompts: [String], generator: RandomGenerator) throws -> Tensor {
        guard !prompts.isEmpty else { throw DistillError.invalidArgument(name: "prompts", reason: "the prompt list is empty") }
        return try generate(prompts: prompts, noise: Tensor.randn([prompts.count, 3, side, side], generator: generator))
    }

    /// Images for `prompts` from the given noise z [B, 3, side, side].
    public func generate(prompts: [String], noise z: Tensor) throws -> Tensor {
        guard z.shape == [prompts.count, 3, side, side] else {
            throw DistillError.invalidArgument(name: "noise", reason: "must be \([prompts.count, 3, side, side]) for \(prompts.count) prompts, got \(z.shape)")
        }
        return try noGrad { try x0(noise: z, context: pipeline.context(prompts)).clamp(min: -1, max: 1) }
    }

    /// The student's checkpoint (teacher-shaped, tagged "OneStepStudent", with t_s).
    public func checkpoint() throws -> Checkpoint {
        try pipeline.checkpoint(pipeline: Self.pipelineTag, metadata: [Self.timestepKey: timestep])
    }

    /// Saves the student's weights.
    public func save(to path: String) throws { try pipeline.save(checkpoint(), to: path) }

    /// Loads a student saved with `save(to:)`.
    public static func load(_ path: String) throws -> OneStepStudent {
        try load(Checkpoint.load(path, loadTraining: false), path: path)
    }

    /// Builds the student a checkpoint describes (the distillation trainer's checkpoints).
    public static func load(_ checkpoint: Checkpoint, path: String) throws -> OneStepStudent {
        let timestep = try checkpoint.configDictionary()[timestepKey] as? Int
        return try OneStepStudent(pipeline: try WorldTeacher.load(checkpoint, path: path, pipeline: pipelineTag), timestep: timestep)
    }
}
