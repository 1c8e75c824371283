import Diffusion
import Engine
import Foundation

/// A distribution of the classifier-free-guidance scale κ (eq. 4). PG-SB's one change to VSD is
/// drawing κ from U(0.5, 4) instead of fixing it (paper §4); any distribution here can stand in.
public protocol GuidanceDistribution: CustomStringConvertible {
    /// One draw of κ.
    func draw(_ generator: RandomGenerator) throws -> Float
}

extension GuidanceDistribution {
    /// `count` independent draws, each checked to be finite.
    public func draw(_ count: Int, _ generator: RandomGenerator) throws -> [Float] {
        try (0..<count).map { _ in
            let kappa = try draw(generator)
            guard kappa.isFinite else { throw DistillError.invalidGuidance("\(self) drew \(kappa); κ must be finite") }
            return kappa
        }
    }
}

/// κ fixed (SwiftBrush: 4.5).
public struct ConstantGuidance: GuidanceDistribution {
    public let value: Float
    public init(_ value: Float) throws {
        guard value.isFinite else { throw DistillError.invalidGuidance("constant κ must be finite, got \(value)") }
        self.value = value
    }
    public func draw(_ generator: RandomGenerator) -> Float { value }
    public var description: String { "constant(\(format(value)))" }
}

/// κ ~ U(low, high) (PG-SB: U(0.5, 4) for SD, U(0.5, 3) for PixArt-α).
public struct UniformGuidance: GuidanceDistribution {
    public let low: Float, high: Float
    public init(_ low: Float, _ high: Float) throws {
        guard low.isFinite, high.isFinite, low < high else { throw DistillError.invalidGuidance("uniform needs finite low < high, got (\(low), \(high))") }
        (self.low, self.high) = (low, high)
    }
    public func draw(_ generator: RandomGenerator) -> Float { low + (high - low) * generator.uniform() }
    public var description: String { "uniform(\(format(low)), \(format(high)))" }
}

/// κ ~ N(mean, std²) clamped to [low, high].
public struct ClippedNormalGuidance: GuidanceDistribution {
    public let mean: Float, std: Float, low: Float, high: Float
    public init(mean: Float, std: Float, low: Float, high: Float) throws {
        guard [mean, std, low, high].allSatisfy(\.isFinite), std > 0, low < high else {
            throw DistillError.invalidGuidance("clipped normal needs finite values, std > 0 and low < high, got mean \(mean), std \(std), [\(low), \(high)]")
        }
        (self.mean, self.std, self.low, self.high) = (mean, std, low, high)
    }
    public func draw(_ generator: RandomGenerator) -> Float { Swift.min(high, Swift.max(low, mean + std * generator.normal())) }
    public var description: String { "normal(\(format(mean)), \(format(std)), clipped to [\(format(low)), \(format(high))])" }
}

/// log κ ~ U(log low, log high): as much mass on [1, 2] as on [2, 4].
public struct LogUniformGuidance: GuidanceDistribution {
    public let low: Float, high: Float
    public init(_ low: Float, _ high: Float) throws {
        guard low.isFinite, high.isFinite, low > 0, low < high else { throw DistillError.invalidGuidance("log-uniform needs 0 < low < high, got (\(low), \(high))") }
        (self.low, self.high) = (low, high)
    }
    public func draw(_ generator: RandomGenerator) -> Float {
        Float(Foundation.exp(Foundation.log(Double(low)) + (Foundation.log(Double(high)) - Foundation.log(Double(low))) * Double(generator.uniform())))
    }
    public var description: String { "loguniform(\(format(low)), \(format(high)))" }
}

/// κ one of `values`, with probabilities proportional to `weights` (equal when omitted).
public struct ChoiceGuidance: GuidanceDistribution {
    public let values: [Float], weights: [Float]
    public init(_ values: [Float], weights: [Float]? = nil) throws {
        guard !values.isEmpty, values.allSatisfy(\.isFinite) else { throw DistillError.invalidGuidance("choice needs at least one finite value") }
        let weights = weights ?? Array(repeating: 1, count: values.count)
        guard weights.count == values.count, weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.reduce(0, +) > 0 else {
            throw DistillError.invalidGuidance("choice needs one weight ≥ 0 per value, not all 0")
        }
        (self.values, self.weights) = (values, weights)
    }
    public func draw(_ generator: RandomGenerator) -> Float {
        var u = generator.uniform() * weights.reduce(0, +)
        for (value, weight) in zip(values, weights) {
            if u < weight { return value }
            u -= weight
        }
        return values[weights.lastIndex(where: { $0 > 0 })!]
    }
    public var description: String { "choice([\(values.map(format).joined(separator: ", "))])" }
}

/// κ from a user function of the generator (so the language can pass a closure).
public struct FunctionGuidance: GuidanceDistribution {
    public let name: String
    public let body: (RandomGenerator) throws -> Float
    public init(name: String, _ body: @escaping (RandomGenerator) throws -> Float) {
        self.name = name
        self.body = body
    }
    public func draw(_ generator: RandomGenerator) throws -> Float {
        let kappa = try body(generator)
        guard kappa.isFinite else { throw DistillError.invalidGuidance("the function \(name) returned \(kappa); κ must be finite") }
        return kappa
    }
    public var description: String { "dist(\(name))" }
}

/// How the two teachers' κ are drawn in a VSD step: from one distribution shared by both
/// teachers (one draw used by both) or from one each (independent draws); once per sample or
/// once per batch. Not stated in the paper; the default is one shared draw per sample.
public struct GuidanceSampling: CustomStringConvertible {
    public enum Draws: String, Sendable { case perSample = "per_sample", perBatch = "per_batch" }
    /// The frozen teacher's distribution.
    public let frozen: any GuidanceDistribution
    /// The LoRA teacher's distribution.
    public let lora: any GuidanceDistribution
    /// One draw serves both teachers.
    public let shared: Bool
    public let draws: Draws

    /// Both teachers use the same κ, drawn from `distribution`.
    public init(shared distribution: any GuidanceDistribution, draws: Draws = .perSample) {
        (frozen, lora, shared, self.draws) = (distribution, distribution, true, draws)
    }

    /// Each teacher draws its own κ.
    public init(frozen: any GuidanceDistribution, lora: any GuidanceDistribution, draws: Draws = .perSample) {
        (self.frozen, self.lora, shared, self.draws) = (frozen, lora, false, draws)
    }

    /// PG-SB: κ ~ U(0.5, 4) for both teachers, one shared draw per sample.
    public static func pgsb(low: Float = 0.5, high: Float = 4) throws -> GuidanceSampling { GuidanceSampling(shared: try UniformGuidance(low, high)) }
    /// SwiftBrush: κ = 4.5 for both.
    public static func swiftBrush(_ kappa: Float = 4.5) throws -> GuidanceSampling { GuidanceSampling(shared: try ConstantGuidance(kappa)) }

    /// κ for a batch of `batch`: one value per sample (repeated when drawn per batch).
    public func draw(batch: Int, _ generator: RandomGenerator) throws -> (frozen: [Float], lora: [Float]) {
        let n = draws == .perSample ? batch : 1
        let frozenDraws = try frozen.draw(n, generator)
        let loraDraws = shared ? frozenDraws : try lora.draw(n, generator)
        func expand(_ values: [Float]) -> [Float] { values.count == batch ? values : Array(repeating: values[0], count: batch) }
        return (expand(frozenDraws), expand(loraDraws))
    }

    public var description: String {
        shared ? "κ ~ \(frozen) for both teachers, \(draws.rawValue)" : "κ_frozen ~ \(frozen), κ_lora ~ \(lora), independent, \(draws.rawValue)"
    }
}

func format(_ x: Float) -> String { x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : String(format: "%g", Double(x)) }

/// Reads a distribution from its command-line spelling: `4.5` (constant), `uniform:0.5:4`,
/// `normal:MEAN:STD:LOW:HIGH` (clipped), `loguniform:1:8`, `choice:2/3/4`.
public func parseGuidanceDistribution(_ text: String) throws -> any GuidanceDistribution {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    func numbers(_ items: ArraySlice<String>) throws -> [Float] {
        try items.map { item in
            guard let v = Float(item) else { throw DistillError.invalidGuidance("'\(item)' in '\(text)' is not a number") }
            return v
        }
    }
    switch (parts[0], parts.count) {
    case (_, 1):
        guard let k = Float(text) else {
            throw DistillError.invalidGuidance("'\(text)' is not a distribution: use a number, uniform:A:B, normal:MEAN:STD:LOW:HIGH, loguniform:A:B or choice:A/B/…")
        }
        return try ConstantGuidance(k)
    case ("uniform", 3): let v = try numbers(parts[1...]); return try UniformGuidance(v[0], v[1])
    case ("loguniform", 3): let v = try numbers(parts[1...]); return try LogUniformGuidance(v[0], v[1])
    case ("normal", 5): let v = try numbers(parts[1...]); return try ClippedNormalGuidance(mean: v[0], std: v[1], low: v[2], high: v[3])
    case ("choice", 2): return try ChoiceGuidance(numbers(parts[1].split(separator: "/").map(String.init)[...]))
    default:
        throw DistillError.invalidGuidance("'\(text)' is not a distribution: use a number, uniform:A:B, normal:MEAN:STD:LOW:HIGH, loguniform:A:B or choice:A/B/…")
    }
}
