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
        try alongAxis(axis, op: "softmax") { x in try Tensor.softmaxRecorded(x, log: false) }
    }

    /// x − logsumexp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        try alongAxis(axis, op: "logSoftmax") { x in try Tensor.softmaxRecorded(x, log: true) }
    }

    private static func softmaxRecorded(_ x: Tensor, log: Bool) throws -> Tensor {
        let out = softmaxRows(x, log: log), y = out.detach()
        return record(log ? "logSoftmax" : "softmax", out, inputs: [x]) { g in
            let n = y.shape.last ?? 1, rows = y.count / Swift.max(n, 1)
            let dx = Tensor(uninitializedShape: y.shape)
            let (yp, gp, dp) = (y.storage.pointer, g.storage.pointer, dx.storage.pointer)
            Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { r in
                snp_softmax_backward_rows(yp + r.lowerBound * n, gp + r.lowerBound * n, dp + r.lowerBound * n, r.count, n, log ? 1 : 0)
            }
            return [dx]
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
}
