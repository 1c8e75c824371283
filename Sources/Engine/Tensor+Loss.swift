// Losses built from the engine's ops (so they need no backward of their own).

extension Tensor {
    /// Mean squared error between two tensors of the same shape.
    public static func mse(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        guard prediction.shape == target.shape else {
            throw EngineError.shapeMismatch(op: "mse", shapes: [prediction.shape, target.shape], reason: "shapes differ")
        }
        return try (prediction - target).square().mean()
    }

    /// Mean cross-entropy of logits [B, C] against class indices (`F.cross_entropy`).
    public static func crossEntropy(_ logits: Tensor, targets: [Int]) throws -> Tensor {
        guard logits.rank == 2, logits.shape[0] == targets.count else {
            throw EngineError.shapeMismatch(op: "crossEntropy", shapes: [logits.shape, [targets.count]],
                                            reason: "logits must be [B, C] with one target per row")
        }
        let classes = logits.shape[1]
        if let bad = targets.first(where: { $0 < 0 || $0 >= classes }) {
            throw EngineError.invalidArgument(op: "crossEntropy", reason: "target \(bad) is not a class in 0..<\(classes)")
        }
        let index = try Tensor(targets.map(Float.init), shape: [targets.count, 1])
        return try -logits.logSoftmax(axis: 1).gather(axis: 1, index: index).mean()
    }
}
