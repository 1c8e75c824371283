import Foundation

// Reductions over any set of axes, with keepDims. Sum is the primitive with a backward; mean,
// var and logsumexp are built from it. max/min have their own backward. All kernels fix their
// summation order independently of the thread count, so results are bit-identical across
// SNP_THREADS settings.

enum ReduceKind { case sum, max, min }

extension Tensor {
    /// Normalised, sorted, de-duplicated axes (nil means all axes).
    func reductionAxes(_ axes: [Int]?, op: String) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        let normalized = try axes.map { try Tensor.normalizeAxis($0, rank: rank, op: op) }
        guard Set(normalized).count == normalized.count else {
            throw EngineError.invalidArgument(op: op, reason: "axis repeated in \(axes)")
        }
        return normalized.sorted()
    }

    /// The shape after reducing `axes`, with 1s kept (keepDims) or the axes dropped.
    func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    /// Reduces one axis of a contiguous tensor viewed as [outer, n, inner] → [outer, inner].
    static func reduceAxis(_ x: Tensor, axis: Int, kind: ReduceKind) -> Tensor {
        let n = x.shape[axis]
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        var outShape = x.shape
        outShape[axis] = 1
        let out = Tensor(uninitializedShape: outShape)
        let src = x.storage.pointer, dst = out.storage.pointer
        let initial: Float = kind == .sum ? 0 : (kind == .max ? -.infinity : .infinity)
        if n == 0 {
            dst.initialize(repeating: initial, count: out.count)
            return out
        }
        if inner == 1 {
            Threads.parallelFor(outer, grain: Swift.max(1, elementwiseGrain / n)) { range in
                for o in range {
                    let row = src + o * n
                    switch kind {
                    case .sum: dst[o] = contiguousSum(row, n)
                    case .max: var m = row[0]; for i in 1..<n where row[i] > m || row[i].isNaN { m = row[i]; if m.isNaN { break } }; dst[o] = m
                    case .min: var m = row[0]; for i in 1..<n where row[i] < m || row[i].isNaN { m = row[i]; if m.isNaN { break } }; dst[o] = m
                    }
                }
            }
        } else {
            // Split over (outer, inner-block) pairs; each output element is reduced in order r = 0..<n.
            let blockSize = 256
            let blocks = (inner + blockSize - 1) / blockSize
            Threads.parallelFor(outer * blocks, grain: Swift.max(1, elementwiseGrain / (n * Swift.min(inner, blockSize)))) { range in
                for job in range {
                    let o = job / blocks, lo = (job % blocks) * blockSize, hi = Swift.min(inner, lo + blockSize)
                    let acc = dst + o * inner
                    let first = src + o * n * inner
                    for i in lo..<hi { acc[i] = first[i] }
                    for r in 1..<n {
                        let row = first + r * inner
                        switch kind {
                        case .sum: for i in lo..<hi { acc[i] += row[i] }
                        case .max: for i in lo..<hi where row[i] > acc[i] || row[i].isNaN { acc[i] = row[i] }
                        case .min: for i in lo..<hi where row[i] < acc[i] || row[i].isNaN { acc[i] = row[i] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Reduces several axes (keeping them as 1s).
    static func reduceKeepingDims(_ x: Tensor, axes: [Int], kind: ReduceKind) -> Tensor {
        var y = x
        for axis in axes.reversed() where y.shape[axis] != 1 || kind != .sum { y = reduceAxis(y, axis: axis, kind: kind) }
        return y
    }

    // MARK: - Public reductions

    /// Sum over `axes` (all if nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try reductionAxes(axes, op: "sum")
        let kept = Tensor.reduceKeepingDims(detach(), axes: axes, kind: .sum)
        let out = Tensor(storage: kept.storage, shape: reducedShape(axes, keepDims: keepDims))
        let inputShape = shape, keptShape = kept.shape
        return Tensor.record("sum", out, inputs: [self]) { g in [try g.reshape(keptShape).expand(inputShape)] }
    }

    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor { try sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all if nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try reductionAxes(axes, op: "mean")
        let n = axes.reduce(1) { $0 * shape[$1] }
        return try sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor { try mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with `correction` subtracted from the count (1 = unbiased, as
    /// `torch.var`'s default; 0 = population variance, as NumPy's).
    public func variance(axes: [Int]? = nil, correction: Int = 1, keepDims: Bool = false) throws -> Tensor {
        let axes = try reductionAxes(axes, op: "var")
        let n = axes.reduce(1) { $0 * shape[$1] }
        let centered = try self - mean(axes: axes, keepDims: true)
        return try centered.square().sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n - correction, 0)))
    }

    /// Maximum over `axes`; the gradient is shared among tied maxima.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor { try extremum(axes, keepDims, .max, "max") }
    /// Minimum over `axes`; the gradient is shared among tied minima.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor { try extremum(axes, keepDims, .min, "min") }

    private func extremum(_ axes: [Int]?, _ keepDims: Bool, _ kind: ReduceKind, _ op: String) throws -> Tensor {
        guard count > 0 else { throw EngineError.invalidArgument(op: op, reason: "cannot reduce an empty tensor \(shapeString(shape))") }
        let axes = try reductionAxes(axes, op: op)
        if let empty = axes.first(where: { shape[$0] == 0 }) {
            throw EngineError.invalidArgument(op: op, reason: "axis \(empty) is empty in \(shapeString(shape))")
        }
        let kept = Tensor.reduceKeepingDims(detach(), axes: axes, kind: kind)
        let out = Tensor(storage: kept.storage, shape: reducedShape(axes, keepDims: keepDims))
        let x = detach(), inputShape = shape, keptShape = kept.shape
        return Tensor.record(op, out, inputs: [self]) { g in
            let hits = try x.equal(kept)
            let ties = Tensor.reduceKeepingDims(hits, axes: axes, kind: .sum)
            return [try hits * (g.reshape(keptShape) / ties).expand(inputShape)]
        }
    }

    /// Index of the largest element along `axis` (as Float), or in the flattened tensor if nil.
    /// The first of tied maxima wins, as in PyTorch and NumPy.
    public func argmax(axis: Int? = nil, keepDims: Bool = false) throws -> Tensor {
        guard count > 0 else { throw EngineError.invalidArgument(op: "argmax", reason: "cannot reduce an empty tensor \(shapeString(shape))") }
        guard let axis else { return try reshape([count]).argmax(axis: 0, keepDims: false) }
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "argmax")
        let n = shape[a], outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: reducedShape([a], keepDims: keepDims))
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var best = src[o * n * inner + i], index = 0
                for r in 1..<Swift.max(n, 1) {
                    let v = src[(o * n + r) * inner + i]
                    if v > best || (v.isNaN && !best.isNaN) { best = v; index = r }
                }
                dst[o * inner + i] = Float(index)
            }
        }
        return out
    }

    /// log Σ exp over `axes`, stable for large inputs.
    public func logsumexp(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let axes = try reductionAxes(axes, op: "logsumexp")
        let m = try noGrad { try self.max(axes: axes, keepDims: true) }.map { $0.isFinite ? $0 : 0 }
        let s = try (self - m).exp().sum(axes: axes, keepDims: true).log() + m
        return keepDims ? s : try s.reshape(reducedShape(axes, keepDims: false))
    }
}

/// Σ row[0..<n] with eight interleaved lanes (vectorised; a fixed order, so deterministic).
@inline(__always)
func contiguousSum(_ row: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        acc += UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = acc.sum()
    while i < n { total += row[i]; i += 1 }
    return total
}
