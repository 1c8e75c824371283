import Foundation

/// A learning rate as a function of the step (0-based). One type per shape of schedule.
public protocol LearningRateSchedule {
    func learningRate(at step: Int) -> Float
}

/// The same rate at every step.
public struct ConstantSchedule: LearningRateSchedule {
    public let rate: Float
    public init(_ rate: Float) { self.rate = rate }
    public func learningRate(at step: Int) -> Float { rate }
}

/// Rises linearly from rate/warmup to `rate` over `warmupSteps`, then stays.
public struct LinearWarmupSchedule: LearningRateSchedule {
    public let rate: Float, warmupSteps: Int
    public init(rate: Float, warmupSteps: Int) { self.rate = rate; self.warmupSteps = warmupSteps }
    public func learningRate(at step: Int) -> Float { rate * warmupFactor(step, warmupSteps) }
}

/// Optional linear warm-up, then a half cosine from `rate` down to `minimum` at `totalSteps`.
public struct CosineSchedule: LearningRateSchedule {
    public let rate: Float, totalSteps: Int, warmupSteps: Int, minimum: Float
    public init(rate: Float, totalSteps: Int, warmupSteps: Int = 0, minimum: Float = 0) {
        (self.rate, self.totalSteps, self.warmupSteps, self.minimum) = (rate, totalSteps, warmupSteps, minimum)
    }
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return rate * warmupFactor(step, warmupSteps) }
        let progress = Float(Swift.min(step - warmupSteps, Swift.max(totalSteps - warmupSteps, 1))) / Float(Swift.max(totalSteps - warmupSteps, 1))
        return minimum + (rate - minimum) * 0.5 * (1 + Foundation.cos(Float.pi * progress))
    }
}

/// Optional linear warm-up, then a straight line from `rate` to `final` at `totalSteps`.
public struct LinearDecaySchedule: LearningRateSchedule {
    public let rate: Float, totalSteps: Int, warmupSteps: Int, final: Float
    public init(rate: Float, totalSteps: Int, warmupSteps: Int = 0, final: Float = 0) {
        (self.rate, self.totalSteps, self.warmupSteps, self.final) = (rate, totalSteps, warmupSteps, final)
    }
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return rate * warmupFactor(step, warmupSteps) }
        let progress = Float(Swift.min(step - warmupSteps, Swift.max(totalSteps - warmupSteps, 1))) / Float(Swift.max(totalSteps - warmupSteps, 1))
        return rate + (final - rate) * progress
    }
}

/// (step + 1) / warmup during the warm-up (so step 0 already moves), 1 after.
private func warmupFactor(_ step: Int, _ warmup: Int) -> Float {
    warmup > 0 && step < warmup ? Float(step + 1) / Float(warmup) : 1
}
