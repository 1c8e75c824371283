import CKernels
import Foundation

/// What an optimizer needs to continue exactly where it stopped: the step count and, per
/// parameter, its named buffers (momentum, first and second moments). Checkpoints store it.
public struct OptimizerState {
    public var step: Int
    /// `buffers[i]["exp_avg"]` is parameter i's buffer of that name (PyTorch's names).
    public var buffers: [[String: Tensor]]
    public init(step: Int, buffers: [[String: Tensor]]) { self.step = step; self.buffers = buffers }
}

/// The shared part of every optimizer: its parameters, learning rate, step count and per-parameter
/// buffers. Subclasses implement only `update`, the rule for one parameter.
open class Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public private(set) var stepCount: Int = 0
    var buffers: [[String: Tensor]]

    public init(parameters: [Tensor], learningRate: Float) throws {
        guard learningRate >= 0, learningRate.isFinite else {
            throw EngineError.invalidArgument(op: "\(Self.self)", reason: "learning rate must be finite and ≥ 0, got \(learningRate)")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.buffers = Array(repeating: [:], count: parameters.count)
    }

    /// Applies one update to every parameter that has a gradient (in place, outside autodiff).
    public func step() throws {
        stepCount += 1
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            guard g.shape == p.shape else {
                throw EngineError.shapeMismatch(op: "\(Self.self).step", shapes: [p.shape, g.shape], reason: "gradient shape differs from parameter \(i)")
            }
            update(parameter: p.storage.pointer, gradient: g.storage.pointer, count: p.count, buffers: &buffers[i])
        }
    }

    /// Forgets every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// The update rule for one parameter of `count` elements; `buffers` persist between steps.
    open func update(parameter: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                     buffers: inout [String: Tensor]) {
        preconditionFailure("\(Self.self) must override update(parameter:gradient:count:buffers:)")
    }

    /// A buffer of `count` zeros under `name`, made on first use.
    func buffer(_ name: String, _ buffers: inout [String: Tensor], count: Int) -> UnsafeMutablePointer<Float> {
        if let b = buffers[name] { return b.storage.pointer }
        let b = Tensor.zeros([count])
        buffers[name] = b
        return b.storage.pointer
    }

    /// A copy of the step count and buffers.
    public var state: OptimizerState {
        OptimizerState(step: stepCount, buffers: buffers.map { $0.mapValues { $0.copy() } })
    }

    /// Restores a saved state; every buffer must fit its parameter.
    public func load(_ state: OptimizerState) throws {
        guard state.buffers.count == parameters.count else {
            throw EngineError.invalidState(what: "\(Self.self) state", reason: "has \(state.buffers.count) parameters, the optimizer \(parameters.count)")
        }
        for (i, named) in state.buffers.enumerated() {
            for (name, b) in named where b.count != parameters[i].count {
                throw EngineError.invalidState(what: "\(Self.self) state", reason: "buffer \(name) of parameter \(i) has \(b.count) elements, the parameter \(parameters[i].count)")
            }
        }
        stepCount = state.step
        buffers = state.buffers.map { $0.mapValues { try! $0.copy().reshape([$0.count]) } }
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay
/// (`torch.optim.SGD`).
public final class SGD: Optimizer {
    public var momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool

    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) throws {
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw EngineError.invalidArgument(op: "SGD", reason: "Nesterov momentum needs momentum > 0 and dampening = 0")
        }
        (self.momentum, self.dampening, self.weightDecay, self.nesterov) = (momentum, dampening, weightDecay, nesterov)
        try super.init(parameters: parameters, learningRate: learningRate)
    }

    public override func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, count: Int,
                                buffers: inout [String: Tensor]) {
        let (lr, mu, damp, wd) = (learningRate, momentum, dampening, weightDecay)
        if mu == 0 {
            for i in 0..<count { p[i] -= lr * (g[i] + wd * p[i]) }
            return
        }
        let first = buffers["momentum_buffer"] == nil
        let buf = buffer("momentum_buffer", &buffers, count: count)
        for i in 0..<count {
            let d = g[i] + wd * p[i]
            buf[i] = first ? d : mu * buf[i] + (1 - damp) * d
            p[i] -= lr * (nesterov ? d + mu * buf[i] : buf[i])
        }
    }
}

/// Adam with bias correction and L2 weight decay added to the gradient (`torch.optim.Adam`).
public class Adam: Optimizer {
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// AdamW: decay the weights directly (p ← p − lr·λ·p) instead of through the gradient.
    let decoupledDecay: Bool

    public convenience init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, weightDecay: Float = 0) throws {
        try self.init(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2,
                      epsilon: epsilon, weightDecay: weightDecay, decoupled: false)
    }

    init(parameters: [Tensor], learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupled: Bool) throws {
        guard (0..<1).contains(beta1), (0..<1).contains(beta2), epsilon >= 0, weightDecay >= 0 else {
            throw EngineError.invalidArgument(op: decoupled ? "AdamW" : "Adam",
                reason: "betas must be in [0, 1) and epsilon, weight decay ≥ 0; got betas (\(beta1), \(beta2)), eps \(epsilon), decay \(weightDecay)")
        }
        (self.beta1, self.beta2, self.epsilon, self.weightDecay, self.decoupledDecay) = (beta1, beta2, epsilon, weightDecay, decoupled)
        try super.init(parameters: parameters, learningRate: learningRate)
    }

    public override func update(parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, count: Int,
                                buffers: inout [String: Tensor]) {
        let m = buffer("exp_avg", &buffers, count: count), v = buffer("exp_avg_sq", &buffers, count: count)
        let (b1, b2, eps, lr, wd) = (beta1, beta2, epsilon, learningRate, weightDecay)
        let t = Double(stepCount)
        let stepSize = lr / Float(1 - Foundation.pow(Double(b1), t))
        let correction2 = Float(1 - Foundation.pow(Double(b2), t)).squareRoot()
        let decay = decoupledDecay ? 1 - lr * wd : 1
        let l2 = decoupledDecay ? 0 : wd
        Threads.parallelFor(count, grain: elementwiseGrain) { r in
            let i = r.lowerBound
            snp_adam_update(p + i, g + i, m + i, v + i, r.count, b1, b2, eps, stepSize, correction2, decay, l2)
        }
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter; `torch.optim.AdamW`, decay 0.01).
public final class AdamW: Adam {
    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 1e-2) throws {
        try super.init(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2,
                       epsilon: epsilon, weightDecay: weightDecay, decoupled: true)
    }
}

/// Scales all gradients together so their joint L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`). Returns the norm before clipping (may be inf or NaN).
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) throws -> Float {
    guard maxNorm > 0 else { throw EngineError.invalidArgument(op: "clipGradNorm", reason: "maxNorm must be > 0, got \(maxNorm)") }
    var total = 0.0
    for p in parameters { if let g = p.grad { g.withBuffer { for x in $0 { total += Double(x) * Double(x) } } } }
    let norm = Float(total.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        // NOTE: gradients are replaced, never scaled in place: they may share storage.
        for p in parameters { if let g = p.grad { p.grad = noGrad { g * coefficient } } }
    }
    return norm
}
