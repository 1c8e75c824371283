import CKernels

// Normalisation layers: fused C kernels that keep only the mean and 1/std per row and recompute
// x̂ in the backward (as PyTorch does), so a norm costs one extra tensor of memory, not two.
// The variance is the biased (population) one, as PyTorch's; statistics accumulate in double.

/// Rows per partial sum in layer norm's weight gradient: fixed (not per thread), so the
/// summation order, and the result, do not depend on the thread count.
private let layerNormRowsPerPartial = 64

extension Tensor {
    /// Group normalisation (`torch.nn.functional.group_norm`). x: [B, C, *], weight/bias: [C].
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard rank >= 2 else { throw EngineError.shapeMismatch(op: "groupNorm", shapes: [shape], reason: "input must be [B, C, ...]") }
        let (batch, channels) = (shape[0], shape[1])
        guard groups >= 1, channels % groups == 0 else {
            throw EngineError.invalidArgument(op: "groupNorm", reason: "\(channels) channels do not split into \(groups) groups")
        }
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [channels] {
            throw EngineError.shapeMismatch(op: "groupNorm", shapes: [shape, p.shape], reason: "weight and bias must be [C]")
        }
        let spatial = shape[2...].reduce(1, *), rows = batch * groups, n = channels / groups * spatial
        let out = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
        let (x, w, b) = (storage.pointer, weight?.storage.pointer, bias?.storage.pointer)
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { r in
            snp_group_norm_forward(x, w, b, out.storage.pointer, mean.storage.pointer, rstd.storage.pointer,
                                   channels, spatial, groups, eps, r.lowerBound, r.upperBound)
        }
        let input = detach(), savedWeight = weight?.detach()
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record("groupNorm", out, inputs: inputs) { g in
            let dx = Tensor(uninitializedShape: input.shape)
            let dwPart = Tensor(uninitializedShape: [batch, channels]), dbPart = Tensor(uninitializedShape: [batch, channels])
            Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { r in
                snp_group_norm_backward(g.storage.pointer, input.storage.pointer, savedWeight?.storage.pointer,
                                        mean.storage.pointer, rstd.storage.pointer, dx.storage.pointer,
                                        dwPart.storage.pointer, dbPart.storage.pointer, channels, spatial, groups,
                                        r.lowerBound, r.upperBound)
            }
            var grads: [Tensor?] = [dx]
            if weight != nil { grads.append(try dwPart.sum(axes: [0])) }
            if bias != nil { grads.append(try dbPart.sum(axes: [0])) }
            return grads
        }
    }

    /// Layer normalisation over the last `normalizedAxes` axes (`torch.nn.functional.layer_norm`).
    /// weight/bias have the shape of those axes.
    public func layerNorm(normalizedAxes: Int = 1, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard normalizedAxes >= 1, normalizedAxes <= rank else {
            throw EngineError.invalidArgument(op: "layerNorm", reason: "cannot normalise the last \(normalizedAxes) axes of \(shapeString(shape))")
        }
        let normShape = Array(shape.suffix(normalizedAxes))
        for p in [weight, bias].compactMap({ $0 }) where p.shape != normShape {
            throw EngineError.shapeMismatch(op: "layerNorm", shapes: [shape, p.shape], reason: "weight and bias must have the normalised shape \(shapeString(normShape))")
        }
        let n = normShape.reduce(1, *), rows = count / Swift.max(n, 1)
        let out = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
        let (x, w, b) = (storage.pointer, weight?.storage.pointer, bias?.storage.pointer)
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { r in
            snp_layer_norm_forward(x, w, b, out.storage.pointer, mean.storage.pointer, rstd.storage.pointer, n, eps, r.lowerBound, r.upperBound)
        }
        let input = detach(), savedWeight = weight?.detach()
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record("layerNorm", out, inputs: inputs) { g in
            let dx = Tensor(uninitializedShape: input.shape)
            let partials = (rows + layerNormRowsPerPartial - 1) / layerNormRowsPerPartial
            let dwPart = weight != nil ? Tensor.zeros([partials, n]) : nil, dbPart = bias != nil ? Tensor.zeros([partials, n]) : nil
            Threads.parallelFor(partials, grain: 1) { range in
                for p in range {
                    let lo = p * layerNormRowsPerPartial, hi = Swift.min(rows, lo + layerNormRowsPerPartial)
                    snp_layer_norm_backward(g.storage.pointer, input.storage.pointer, savedWeight?.storage.pointer,
                                            mean.storage.pointer, rstd.storage.pointer, dx.storage.pointer,
                                            dwPart.map { $0.storage.pointer + p * n }, dbPart.map { $0.storage.pointer + p * n }, n, lo, hi)
                }
            }
            var grads: [Tensor?] = [dx]
            if let dwPart { grads.append(try dwPart.sum(axes: [0]).reshape(normShape)) }
            if let dbPart { grads.append(try dbPart.sum(axes: [0]).reshape(normShape)) }
            return grads
        }
    }
}
