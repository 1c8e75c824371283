import Checkpoints
import Diffusion
import Engine
import Foundation
import Models

/// A one-step generator made from a multi-step teacher by the SwiftBrush parameterization: a copy
/// of the teacher's network fed pure noise z at t = T − 1, read as an ε prediction and turned into
/// an image,
///
///     x0 = (z − σ_T ε_θ(z, T − 1, y)) / α_T.
///
/// It keeps the teacher's encoder and schedule (`pipeline` is a `WorldTeacher` around the
/// student's own network), and saves as a teacher-shaped checkpoint tagged "OneStepStudent".
public final class OneStepStudent {
    public static let pipelineTag = "OneStepStudent"
    /// The student's network with the teacher's encoder and schedule.
    public let pipeline: WorldTeacher
    public var network: any Module & NoisePredictor { pipeline.network }
    public var schedule: NoiseSchedule { pipeline.schedule }
    public var side: Int { pipeline.side }
    /// The timestep the student is evaluated at: T − 1.
    public var timestep: Int { schedule.trainSteps - 1 }

    /// A student whose weights are a copy of `teacher`'s.
    public init(copying teacher: WorldTeacher) throws {
        pipeline = try teacher.copy()
    }

    init(pipeline: WorldTeacher) { self.pipeline = pipeline }

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
        let z = try Tensor.randn([prompts.count, 3, side, side], generator: generator)
        return try noGrad { try x0(noise: z, context: pipeline.context(prompts)).clamp(min: -1, max: 1) }
    }

    /// Saves the student's weights (a teacher-shaped checkpoint tagged "OneStepStudent").
    public func save(to path: String) throws { try pipeline.save(to: path, pipeline: Self.pipelineTag) }

    /// Loads a student saved with `save(to:)`.
    public static func load(_ path: String) throws -> OneStepStudent {
        OneStepStudent(pipeline: try WorldTeacher.load(path, pipeline: pipelineTag))
    }

    /// Builds the student a checkpoint describes (the distillation trainer's checkpoints).
    public static func load(_ checkpoint: Checkpoint, path: String) throws -> OneStepStudent {
        OneStepStudent(pipeline: try WorldTeacher.load(checkpoint, path: path, pipeline: pipelineTag))
    }
}
