import Engine

/// Every mistake a caller can make with schedules, samplers and guidance: a thrown error with a
/// readable message naming the value at fault. Nothing in this target traps on bad input.
public enum DiffusionError: Error, Equatable, CustomStringConvertible {
    /// A name that is not one of the known ones (a beta schedule, a prediction type, a spacing).
    case unknownName(kind: String, name: String, expected: [String])
    /// A number of training timesteps T below 1.
    case invalidTrainSteps(Int)
    /// β start/end that do not give 0 < β < 1 at every step.
    case invalidBetas(start: Double, end: Double)
    /// A timestep outside 0..<T.
    case timestepOutOfRange(Int, trainSteps: Int)
    /// A sampling step count outside 1...T.
    case invalidStepCount(Int, trainSteps: Int)
    /// A guidance scale κ that is NaN or infinite.
    case invalidGuidanceScale(Float)
    /// A sampler or guidance setting out of its range (η < 0, a clip range ≤ 0, ...).
    case invalidArgument(name: String, reason: String)
    /// Tensors (or timesteps) whose shapes do not fit together.
    case shapeMismatch(what: String, shapes: [[Int]], reason: String)

    public var description: String {
        switch self {
        case let .unknownName(kind, name, expected):
            return "unknown \(kind) \"\(name)\": expected one of " + expected.joined(separator: ", ")
        case let .invalidTrainSteps(steps):
            return "the number of training timesteps T must be at least 1, got \(steps)"
        case let .invalidBetas(start, end):
            return "beta start \(start) and end \(end) must satisfy 0 < start ≤ end < 1"
        case let .timestepOutOfRange(t, trainSteps):
            return "timestep \(t) is out of range 0..<\(trainSteps)"
        case let .invalidStepCount(steps, trainSteps):
            return "the number of sampling steps must be in 1...\(trainSteps) (T), got \(steps)"
        case let .invalidGuidanceScale(kappa):
            return "the guidance scale κ must be a finite number, got \(kappa)"
        case let .invalidArgument(name, reason):
            return "\(name): \(reason)"
        case let .shapeMismatch(what, shapes, reason):
            return "\(what): \(reason): " + shapes.map(shapeString).joined(separator: ", ")
        }
    }
}
