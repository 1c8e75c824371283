/// Define-by-run reverse-mode autodiff, as PyTorch does it.
///
/// Each op that sees an input tracking gradients gives its output a `GradNode`: the inputs and a
/// closure that maps the output's gradient to the inputs' gradients (written with the engine's own
/// ops, run with gradient recording off). `backward()` walks the nodes in reverse topological
/// order, accumulates into leaves' `grad`, and then releases every node's closure and inputs, so
/// the memory a step used is freed as soon as its loss is dropped.
final class GradNode {
    let op: String
    var inputs: [Tensor]
    var backward: ((Tensor) throws -> [Tensor?])?

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) throws -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }

    func release() {
        inputs = []
        backward = nil
    }
}

/// Whether ops record the tape. Off inside `noGrad { }` and while `backward()` runs.
/// Task-local (thread-local outside tasks), so concurrent callers do not see each other's mode.
public enum GradMode {
    @TaskLocal static var enabled = true

    public static var isEnabled: Bool { enabled }

    /// Runs `body` with gradient recording set to `enabled`, restoring the previous mode after.
    public static func with<R>(enabled: Bool, _ body: () throws -> R) rethrows -> R {
        try $enabled.withValue(enabled, operation: body)
    }
}

/// Runs `body` without recording gradients (`torch.no_grad()`).
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(enabled: false, body)
}

extension Tensor {
    /// True for leaves with `requiresGrad` and for outputs of recorded ops.
    public var tracksGrad: Bool { requiresGrad || gradNode != nil }

    /// The name of the op that produced this tensor, nil for leaves.
    public var gradOp: String? { gradNode?.op }

    /// Attaches a backward closure to `out` when recording is on and an input tracks gradients.
    /// `backward` returns one gradient (or nil) per input, each of that input's shape.
    /// NOTE: `backward` must not capture `out` itself (a retain cycle); capture `out.detach()`.
    @discardableResult
    static func record(_ op: String, _ out: Tensor, inputs: [Tensor],
                       backward: @escaping (Tensor) throws -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.tracksGrad }) else { return out }
        out.gradNode = GradNode(op: op, inputs: inputs, backward: backward)
        return out
    }

    /// A tensor sharing this one's storage, cut off from the tape (`torch.Tensor.detach`).
    public func detach() -> Tensor { Tensor(storage: storage, shape: shape) }

    /// Makes this leaf collect gradients; returns self for chaining.
    @discardableResult
    public func requiringGrad(_ on: Bool = true) -> Tensor {
        requiresGrad = on
        return self
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Back-propagates from this tensor. With no `gradient`, the tensor must hold one element
    /// (a loss) and the seed is 1. Gradients add into leaves' `grad`; the tape is then released.
    public func backward(_ gradient: Tensor? = nil) throws {
        guard tracksGrad else {
            throw EngineError.autograd(reason: "the tensor \(shapeString(shape)) does not require grad and has no grad history")
        }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                throw EngineError.shapeMismatch(op: "backward", shapes: [shape, gradient.shape],
                                                reason: "the gradient's shape differs from the tensor's")
            }
            seed = gradient
        } else {
            guard count == 1 else {
                throw EngineError.autograd(reason: "a gradient can be implied only for a one-element tensor, got \(shapeString(shape)); pass one")
            }
            seed = Tensor.full(shape, 1)
        }
        let order = topologicalOrder()
        defer { for t in order { t.gradNode?.release() } }

        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        try noGrad {
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                if let node = t.gradNode {
                    guard let backward = node.backward else {
                        throw EngineError.autograd(reason: "the graph through \(node.op) was already released by an earlier backward()")
                    }
                    let inputGrads = try backward(g)
                    for (input, ig) in zip(node.inputs, inputGrads) {
                        guard let ig, input.tracksGrad else { continue }
                        precondition(ig.shape == input.shape, "\(node.op) backward returned \(ig.shape) for input \(input.shape)")
                        let key = ObjectIdentifier(input)
                        grads[key] = try grads[key].map { try $0 + ig } ?? ig
                    }
                } else if t.requiresGrad {
                    // NOTE: gradients are never mutated in place, so sharing `g` here is safe.
                    t.grad = try t.grad.map { try $0 + g } ?? g
                }
            }
        }
    }

    /// Every tensor reachable from this one through grad nodes, inputs before outputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative depth-first search: deep graphs (long training unrolls) must not overflow the stack.
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (t, next) = stack.popLast() {
            let inputs = t.gradNode?.inputs ?? []
            if next < inputs.count {
                stack.append((t, next + 1))
                let child = inputs[next]
                if child.tracksGrad && visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(t)
            }
        }
        return order
    }
}
