// Normalisation layers with fused kernels and analytic backward passes.
// Statistics accumulate in Double; the variance is the biased (population) one, as PyTorch's.

extension Tensor {
    /// Normalises `rows` rows of `n` elements each: xhat = (x − mean)·rstd, with
    /// rstd = 1/√(var + eps) per row (both kept for the backward).
    private static func normalizeRows(_ x: UnsafePointer<Float>, rows: Int, n: Int, eps: Float,
                                      _ xhat: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>) {
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
            for r in range {
                let row = x + r * n
                var sum = 0.0
                for i in 0..<n { sum += Double(row[i]) }
                let mean = sum / Double(n)
                var sq = 0.0
                for i in 0..<n { let d = Double(row[i]) - mean; sq += d * d }
                let inv = Float(1 / (sq / Double(n) + Double(eps)).squareRoot())
                rstd[r] = inv
                let m = Float(mean), out = xhat + r * n
                for i in 0..<n { out[i] = (row[i] - m) * inv }
            }
        }
    }

    /// dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) per row.
    private static func normalizeRowsBackward(_ dxhat: UnsafePointer<Float>, _ xhat: UnsafePointer<Float>,
                                              _ rstd: UnsafePointer<Float>, rows: Int, n: Int, _ dx: UnsafeMutablePointer<Float>) {
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
            for r in range {
                let g = dxhat + r * n, h = xhat + r * n, o = dx + r * n
                var sg = 0.0, sgh = 0.0
                for i in 0..<n { sg += Double(g[i]); sgh += Double(g[i]) * Double(h[i]) }
                let mg = Float(sg / Double(n)), mgh = Float(sgh / Double(n)), inv = rstd[r]
                for i in 0..<n { o[i] = inv * (g[i] - mg - h[i] * mgh) }
            }
        }
    }

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
        let xhat = Tensor(uninitializedShape: shape), rstd = Tensor(uninitializedShape: [rows])
        Tensor.normalizeRows(storage.pointer, rows: rows, n: n, eps: eps, xhat.storage.pointer, rstd.storage.pointer)
        let out = try Tensor.affinePerChannel(xhat, weight: weight?.detach(), bias: bias?.detach())
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record("groupNorm", out, inputs: inputs) { g in
            let dxhat = try weight.map { try g * $0.detach().reshape([1, channels] + Array(repeating: 1, count: self.rank - 2)) } ?? g
            let dx = Tensor(uninitializedShape: self.shape)
            Tensor.normalizeRowsBackward(dxhat.storage.pointer, xhat.storage.pointer, rstd.storage.pointer, rows: rows, n: n, dx.storage.pointer)
            var grads: [Tensor?] = [dx]
            let reduceAxes = [0] + Array(2..<self.rank)
            if weight != nil { grads.append(try (g * xhat).sum(axes: reduceAxes)) }
            if bias != nil { grads.append(try g.sum(axes: reduceAxes)) }
            return grads
        }
    }

    /// xhat·weight[c] + bias[c] on [B, C, *] (no gradient; callers record their own).
    private static func affinePerChannel(_ xhat: Tensor, weight: Tensor?, bias: Tensor?) throws -> Tensor {
        guard weight != nil || bias != nil else { return xhat.copy() }
        let (batch, channels) = (xhat.shape[0], xhat.shape[1]), spatial = xhat.shape[2...].reduce(1, *)
        let out = Tensor(uninitializedShape: xhat.shape)
        let src = xhat.storage.pointer, dst = out.storage.pointer
        let w = weight?.storage.pointer, b = bias?.storage.pointer
        Threads.parallelFor(batch * channels, grain: Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))) { range in
            for bc in range {
                let c = bc % channels
                let scale = w?[c] ?? 1, shift = b?[c] ?? 0
                let s = src + bc * spatial, d = dst + bc * spatial
                for i in 0..<spatial { d[i] = s[i] * scale + shift }
            }
        }
        return out
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
        let xhat = Tensor(uninitializedShape: shape), rstd = Tensor(uninitializedShape: [rows])
        Tensor.normalizeRows(storage.pointer, rows: rows, n: n, eps: eps, xhat.storage.pointer, rstd.storage.pointer)
        let out = Tensor(uninitializedShape: shape)
        let w = weight?.storage.pointer, b = bias?.storage.pointer, h = xhat.storage.pointer, o = out.storage.pointer
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
            for r in range { for i in 0..<n { o[r * n + i] = h[r * n + i] * (w?[i] ?? 1) + (b?[i] ?? 0) } }
        }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record("layerNorm", out, inputs: inputs) { g in
            let dxhat = try weight.map { try g * $0.detach() } ?? g
            let dx = Tensor(uninitializedShape: self.shape)
            Tensor.normalizeRowsBackward(dxhat.storage.pointer, xhat.storage.pointer, rstd.storage.pointer, rows: rows, n: n, dx.storage.pointer)
            var grads: [Tensor?] = [dx]
            let lead = Array(0..<(self.rank - normalizedAxes))
            if weight != nil { grads.append(try (g * xhat).sum(axes: lead)) }
            if bias != nil { grads.append(try g.sum(axes: lead)) }
            return grads
        }
    }
}
