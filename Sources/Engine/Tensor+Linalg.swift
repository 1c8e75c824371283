// Matrix products through cblas_sgemm. Transposed operands are passed to sgemm as transposes.

extension Tensor {
    /// The matrix product with NumPy semantics: 1-d operands become a row / column vector,
    /// leading (batch) axes broadcast. With `transposeA`/`transposeB` the last two axes of that
    /// operand are read transposed (no copy is made).
    ///
    /// a: [..., m, k] (or [..., k, m] transposed), b: [..., k, n] (or [..., n, k]) → [..., m, n].
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        guard a.rank >= 1, b.rank >= 1 else {
            throw EngineError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], reason: "operands must have at least one axis")
        }
        if a.rank == 1 {
            return try matmul(a.unsqueeze(transposeA ? 1 : 0), b, transposeA: transposeA, transposeB: transposeB).squeeze(-2)
        }
        if b.rank == 1 {
            return try matmul(a, b.unsqueeze(transposeB ? 0 : 1), transposeA: transposeA, transposeB: transposeB).squeeze(-1)
        }
        // [..., m, k] @ [k, n]: fold the batch into m, one sgemm.
        if b.rank == 2 && a.rank > 2 && !transposeA {
            let k = a.shape[a.rank - 1]
            let flat = try batchedMatmul(a.reshape([-1, k]), b, transposeA: false, transposeB: transposeB)
            return try flat.reshape(Array(a.shape.dropLast()) + [flat.shape[1]])
        }
        return try batchedMatmul(a, b, transposeA: transposeA, transposeB: transposeB)
    }

    /// `a @ b` (no transposes), the `@` of the language.
    public static func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try matmul(a, b, transposeA: false, transposeB: false)
    }

    /// Both operands of rank ≥ 2; batch axes broadcast without copies (stride-0 offsets).
    static func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) throws -> Tensor {
        let (ar, br) = (a.rank, b.rank)
        let m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2]
        let k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1]
        let kb = transposeB ? b.shape[br - 1] : b.shape[br - 2]
        let n = transposeB ? b.shape[br - 2] : b.shape[br - 1]
        guard k == kb else {
            let shown = [a.shape, b.shape]
            throw EngineError.shapeMismatch(op: "matmul", shapes: shown,
                reason: "inner dimensions differ (\(k) vs \(kb)\(transposeA || transposeB ? ", with transposes A:\(transposeA) B:\(transposeB)" : ""))")
        }
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = try broadcastShape(batchA, batchB, op: "matmul")
        guard fitsBLAS(m, n, k) else {
            throw EngineError.invalidArgument(op: "matmul", reason: "sizes m=\(m) n=\(n) k=\(k) exceed OpenBLAS's 32-bit limit")
        }
        let out = Tensor(uninitializedShape: batch + [m, n])
        let count = batch.reduce(1, *)
        if m * n > 0 {
            let offsetsA = batchOffsets(batch, batchA, matrix: m * k), offsetsB = batchOffsets(batch, batchB, matrix: k * n)
            let pa = a.storage.pointer, pb = b.storage.pointer, pc = out.storage.pointer
            for i in 0..<count {
                if k == 0 { (pc + i * m * n).initialize(repeating: 0, count: m * n); continue }
                sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                      a: pa + offsetsA[i], b: pb + offsetsB[i], c: pc + i * m * n)
            }
        }
        let (sa, sb) = (a.detach(), b.detach())
        return record("matmul", out, inputs: [a, b]) { g in
            let gradA: Tensor? = a.tracksGrad ? try (transposeA
                ? batchedMatmul(sb, g, transposeA: transposeB, transposeB: true)
                : batchedMatmul(g, sb, transposeA: false, transposeB: !transposeB)).sum(toShape: a.shape) : nil
            let gradB: Tensor? = b.tracksGrad ? try (transposeB
                ? batchedMatmul(g, sa, transposeA: true, transposeB: transposeA)
                : batchedMatmul(sa, g, transposeA: !transposeA, transposeB: false)).sum(toShape: b.shape) : nil
            return [gradA, gradB]
        }
    }

    /// For every batch index of `batch`, the element offset of that matrix in an operand whose
    /// batch shape is `own` (broadcast axes repeat the same matrix).
    private static func batchOffsets(_ batch: [Int], _ own: [Int], matrix: Int) -> [Int] {
        let count = batch.reduce(1, *)
        let lead = batch.count - own.count
        let ownStrides = contiguousStrides(own)
        return (0..<count).map { flat in
            var rest = flat, offset = 0
            for d in stride(from: batch.count - 1, through: 0, by: -1) {
                let i = rest % batch[d]
                rest /= batch[d]
                if d >= lead && own[d - lead] != 1 { offset += i * ownStrides[d - lead] }
            }
            return offset * matrix
        }
    }

    /// `x Wᵀ + b` (`torch.nn.functional.linear`). x: [..., in], weight: [out, in], bias: [out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard weight.rank == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "linear", shapes: [x.shape, weight.shape],
                                            reason: "input's last axis must equal weight's second axis (weight is [out, in])")
        }
        if let bias, bias.shape != [weight.shape[0]] {
            throw EngineError.shapeMismatch(op: "linear", shapes: [weight.shape, bias.shape], reason: "bias must be [out]")
        }
        let y = try matmul(x, weight, transposeA: false, transposeB: true)
        return try bias.map { try y + $0 } ?? y
    }
}
