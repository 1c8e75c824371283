import CKernels
import Foundation

// Unary elementwise functions, each with its derivative beside it.

extension Tensor {
    /// Applies `f`; the backward multiplies the incoming gradient by `derivative(x, y)`, where
    /// `x` is the input and `y = f(x)` the output.
    @inline(__always)
    private func unary(_ op: String, _ f: (Float) -> Float,
                       derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = map(f)
        let (x, y) = (detach(), out.detach())
        return Tensor.record(op, out, inputs: [self]) { g in
            [Tensor.zipMap(g, x, y) { g, x, y in g * derivative(x, y) }]
        }
    }

    public func exp() -> Tensor {
        let out = vectorized(snp_exp), y = out.detach()
        return Tensor.record("exp", out, inputs: [self]) { g in [try g * y] }
    }
    public func log() -> Tensor { unary("log", { Foundation.log($0) }) { x, _ in 1 / x } }
    public func sqrt() -> Tensor { unary("sqrt", { $0.squareRoot() }) { _, y in 0.5 / y } }
    public func rsqrt() -> Tensor { unary("rsqrt", { 1 / $0.squareRoot() }) { _, y in -0.5 * y * y * y } }
    public func abs() -> Tensor { unary("abs", { Swift.abs($0) }) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } }
    public func neg() -> Tensor { -self }
    public func sin() -> Tensor { unary("sin", { Foundation.sin($0) }) { x, _ in Foundation.cos(x) } }
    public func cos() -> Tensor { unary("cos", { Foundation.cos($0) }) { x, _ in -Foundation.sin(x) } }
    public func tanh() -> Tensor { unary("tanh", { Foundation.tanh($0) }) { _, y in 1 - y * y } }
    public func sigmoid() -> Tensor {
        let out = vectorized(snp_sigmoid), y = out.detach()
        return Tensor.record("sigmoid", out, inputs: [self]) { g in [Tensor.zipMap(g, y) { g, y in g * y * (1 - y) }] }
    }
    /// log(1 + eˣ), computed as max(x, 0) + log1p(e^−|x|) so it neither overflows nor loses small
    /// values (`torch.nn.functional.softplus`); its derivative is σ(x). The GAN losses use it.
    public func softplus() -> Tensor {
        unary("softplus", { Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }) { x, _ in 1 / (1 + Foundation.exp(-x)) }
    }
    public func relu() -> Tensor { unary("relu", { Swift.max($0, 0) }) { x, _ in x > 0 ? 1 : 0 } }
    public func square() -> Tensor { unary("square", { $0 * $0 }) { x, _ in 2 * x } }

    /// x · σ(x) (SiLU / swish).
    public func silu() -> Tensor {
        let x = detach()
        return Tensor.record("silu", vectorized(snp_silu), inputs: [self]) { g in [Tensor.vectorized(g, x, snp_silu_backward)] }
    }

    /// x · σ(1.702 x), the GELU approximation of OpenAI's CLIP (`quick_gelu`).
    public func quickGelu() -> Tensor {
        let x = detach()
        return Tensor.record("quick_gelu", vectorized(snp_quick_gelu), inputs: [self]) { g in [Tensor.vectorized(g, x, snp_quick_gelu_backward)] }
    }

    public enum GeluApproximation: String, Sendable { case none, tanh }

    /// GELU: x Φ(x) with the exact erf form, or PyTorch's `approximate="tanh"` form.
    public func gelu(approximate: GeluApproximation = .none) -> Tensor {
        switch approximate {
        case .none:
            let x = detach()
            return Tensor.record("gelu", vectorized(snp_gelu), inputs: [self]) { g in [Tensor.vectorized(g, x, snp_gelu_backward)] }
        case .tanh:
            let x = detach()
            return Tensor.record("gelu_tanh", vectorized(snp_gelu_tanh), inputs: [self]) { g in [Tensor.vectorized(g, x, snp_gelu_tanh_backward)] }
        }
    }

    /// Replaces NaN with `nan`, +inf with `posinf`, −inf with `neginf` (`torch.nan_to_num`).
    public func nanToNum(nan: Float = 0, posinf: Float = .greatestFiniteMagnitude, neginf: Float = -.greatestFiniteMagnitude) -> Tensor {
        let x = detach()
        let out = map { $0.isNaN ? nan : ($0 == .infinity ? posinf : ($0 == -.infinity ? neginf : $0)) }
        return Tensor.record("nan_to_num", out, inputs: [self]) { g in
            [Tensor.zipMap(g, x) { g, x in x.isFinite ? g : 0 }]
        }
    }
}

extension Tensor {
    /// Runs a C kernel `f(x, y, n)` over this tensor, split over the cores.
    func vectorized(_ f: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let x = storage.pointer, y = out.storage.pointer
        Threads.parallelFor(count, grain: elementwiseGrain) { r in f(x + r.lowerBound, y + r.lowerBound, r.count) }
        return out
    }

    /// Runs a C backward kernel `f(g, x, dx, n)` over two same-shaped tensors, split over the cores.
    static func vectorized(_ g: Tensor, _ x: Tensor, _ f: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        let gp = g.storage.pointer, xp = x.storage.pointer, o = out.storage.pointer
        Threads.parallelFor(x.count, grain: elementwiseGrain) { r in f(gp + r.lowerBound, xp + r.lowerBound, o + r.lowerBound, r.count) }
        return out
    }
}
