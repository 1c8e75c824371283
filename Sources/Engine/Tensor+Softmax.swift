import CKernels
import Foundation

// Softmax and log-softmax along one axis, stable (the row maximum is subtracted first).

extension Tensor {
    /// Runs `kernel` over rows of the last axis, moving `axis` there and back if needed.
    private func alongAxis(_ axis: Int, op: String, _ body: (Tensor) throws -> Tensor) throws -> Tensor {
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: op)
        if a == rank - 1 || rank == 0 { return try body(self) }
        return try body(transpose(a, -1)).transpose(a, -1)
    }

    /// exp(x − max) / Σ exp(x − max) along `axis`.
    public func softmax(axis: Int = -1) throws -> Tensor {
        try alongAxis(axis, op: "softmax") { x in
            let out = Tensor.softmaxRows(x, log: false)
            let y = out.detach()
            return Tensor.record("softmax", out, inputs: [x]) { g in
                // dx = y ⊙ (g − Σ g⊙y)
                [Tensor.rowwise(g, y) { g, y, n in
                    var dot: Float = 0
                    for i in 0..<n { dot += g[i] * y[i] }
                    return { i in y[i] * (g[i] - dot) }
                }]
            }
        }
    }

    /// x − logsumexp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        try alongAxis(axis, op: "logSoftmax") { x in
            let out = Tensor.softmaxRows(x, log: true)
            let y = out.detach()
            return Tensor.record("logSoftmax", out, inputs: [x]) { g in
                // dx = g − exp(y) Σ g
                [Tensor.rowwise(g, y) { g, y, n in
                    var total: Float = 0
                    for i in 0..<n { total += g[i] }
                    return { i in g[i] - Foundation.exp(y[i]) * total }
                }]
            }
        }
    }

    static func softmaxRows(_ x: Tensor, log: Bool) -> Tensor {
        let n = x.shape.last ?? 1, rows = x.count / Swift.max(n, 1)
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.storage.pointer, dst = out.storage.pointer
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
            snp_softmax_rows(src + range.lowerBound * n, dst + range.lowerBound * n, range.count, n, log ? 1 : 0)
        }
        return out
    }

    /// Applies a per-row gradient formula: `body` gets the row of g and y and returns the value
    /// at each index of that row.
    private static func rowwise(_ g: Tensor, _ y: Tensor,
                                _ body: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> (Int) -> Float) -> Tensor {
        let n = y.shape.last ?? 1, rows = y.count / Swift.max(n, 1)
        let out = Tensor(uninitializedShape: y.shape)
        let gp = g.storage.pointer, yp = y.storage.pointer, op = out.storage.pointer
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
            for r in range {
                let value = body(gp + r * n, yp + r * n, n)
                for i in 0..<n { op[r * n + i] = value(i) }
            }
        }
        return out
    }
}
