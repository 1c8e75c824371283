import Foundation

extension Tensor {
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    /// A tensor of `shape` with every element `value`. Negative dimensions count as 0.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let shape = shape.map { Swift.max($0, 0) }
        return Tensor(storage: Storage(repeating: value, count: shape.reduce(1, *)), shape: shape)
    }

    public static func zeros(like t: Tensor) -> Tensor { zeros(t.shape) }
    public static func ones(like t: Tensor) -> Tensor { ones(t.shape) }

    /// `start, start + step, ...` up to but excluding `end` (`torch.arange`).
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) throws -> Tensor {
        guard step != 0, step.isFinite, start.isFinite, end.isFinite else {
            throw EngineError.invalidArgument(op: "arange", reason: "step must be finite and non-zero, got \(step)")
        }
        let n = Swift.max(0, Int((Double(end - start) / Double(step)).rounded(.up)))
        let out = Tensor(uninitializedShape: [n])
        for i in 0..<n { out.storage.pointer[i] = start + Float(i) * step }
        return out
    }

    /// `count` evenly spaced numbers from `start` to `end` inclusive (`torch.linspace`).
    public static func linspace(_ start: Float, _ end: Float, count: Int) throws -> Tensor {
        guard count >= 0 else { throw EngineError.invalidArgument(op: "linspace", reason: "count must be ≥ 0, got \(count)") }
        let out = Tensor(uninitializedShape: [count])
        let step = count > 1 ? (Double(end) - Double(start)) / Double(count - 1) : 0
        for i in 0..<count { out.storage.pointer[i] = Float(Double(start) + Double(i) * step) }
        if count > 1 { out.storage.pointer[count - 1] = end }
        return out
    }

    /// The n×n identity matrix.
    public static func eye(_ n: Int) -> Tensor {
        let out = zeros([n, n])
        for i in 0..<n { out.storage.pointer[i * n + i] = 1 }
        return out
    }

    /// Uniform numbers in [low, high) from `generator` (the shared one if nil).
    public static func rand(_ shape: [Int], low: Float = 0, high: Float = 1, generator: RandomGenerator? = nil) throws -> Tensor {
        try checkShape(shape, op: "rand")
        let out = Tensor(uninitializedShape: shape)
        let span = high - low
        (generator ?? .shared).fill(out.storage.pointer, count: out.count) { a, b, c, d in
            (low + span * unitInterval(a), low + span * unitInterval(b), low + span * unitInterval(c), low + span * unitInterval(d))
        }
        return out
    }

    /// Standard normal numbers (times `std`, plus `mean`) from `generator` (the shared one if nil).
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1, generator: RandomGenerator? = nil) throws -> Tensor {
        try checkShape(shape, op: "randn")
        let out = Tensor(uninitializedShape: shape)
        (generator ?? .shared).fill(out.storage.pointer, count: out.count) { a, b, c, d in
            let (n0, n1) = boxMuller(a, b)
            let (n2, n3) = boxMuller(c, d)
            return (mean + std * n0, mean + std * n1, mean + std * n2, mean + std * n3)
        }
        return out
    }

    public static func rand(_ shape: [Int], seed: UInt64) throws -> Tensor {
        try rand(shape, generator: RandomGenerator(seed: seed))
    }

    public static func randn(_ shape: [Int], seed: UInt64) throws -> Tensor {
        try randn(shape, generator: RandomGenerator(seed: seed))
    }
}
