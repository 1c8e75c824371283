// Embedding lookup and dropout.

extension Tensor {
    /// Rows of `weight` picked by `indices` (integral values; `torch.nn.functional.embedding`).
    /// weight: [vocabulary, dim], indices: any shape → indices.shape + [dim].
    public static func embedding(_ indices: Tensor, weight: Tensor) throws -> Tensor {
        guard weight.rank == 2 else {
            throw EngineError.shapeMismatch(op: "embedding", shapes: [weight.shape], reason: "weight must be [vocabulary, dim]")
        }
        let (vocabulary, dim) = (weight.shape[0], weight.shape[1])
        let rows = try indices.scalars.map { v -> Int in
            guard v == v.rounded(), v >= 0, Int(v) < vocabulary else {
                throw EngineError.invalidArgument(op: "embedding", reason: "index \(v) is not an integer in 0..<\(vocabulary)")
            }
            return Int(v)
        }
        let out = Tensor(uninitializedShape: indices.shape + [dim])
        for (i, row) in rows.enumerated() {
            (out.storage.pointer + i * dim).update(from: weight.storage.pointer + row * dim, count: dim)
        }
        return record("embedding", out, inputs: [weight]) { g in
            let dw = Tensor.zeros(weight.shape)
            for (i, row) in rows.enumerated() {
                let s = g.storage.pointer + i * dim, d = dw.storage.pointer + row * dim
                for j in 0..<dim { d[j] += s[j] }
            }
            return [dw]
        }
    }

    /// Zeroes each element with probability `p` and scales the rest by 1/(1−p) (inverted
    /// dropout, as PyTorch). Identity when not `training` or when p = 0.
    public func dropout(_ p: Float, training: Bool = true, generator: RandomGenerator? = nil) throws -> Tensor {
        guard p >= 0 && p <= 1 else { throw EngineError.invalidArgument(op: "dropout", reason: "probability must be in [0, 1], got \(p)") }
        guard training && p > 0 else { return self }
        if p == 1 { return try self * Tensor.zeros(shape) }
        let keep = 1 - p
        let mask = try Tensor.rand(shape, generator: generator).map { $0 < keep ? 1 / keep : 0 }
        return try self * mask
    }
}
