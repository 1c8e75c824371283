// Movement ops: reshape, permute, slicing, gather, concat/stack/split, expand, pad, repeat.
// Views are materialised (storage stays contiguous); reshape alone shares storage.

/// One entry of a multi-axis slice, Python style: `x[2]`, `x[1:5:2]`, `x[:]`, `x[-1]`.
public enum SliceIndex: Equatable, Sendable {
    /// One position; the axis is removed (negative counts from the end).
    case index(Int)
    /// `start:end:step` with Python's clamping; nil means the whole extent. Step must be positive.
    case range(start: Int?, end: Int?, step: Int)
    /// `:`, the whole axis.
    case all

    public static func range(_ start: Int?, _ end: Int?) -> SliceIndex { .range(start: start, end: end, step: 1) }
}

extension Tensor {
    /// Copies the elements `offset + Σ index[d] * strides[d]` of `source` into a new contiguous
    /// tensor of `shape`. Strides may be 0 (broadcast) or any positive step.
    static func gatherStrided(_ source: Tensor, offset: Int, shape: [Int], strides: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let n = out.count
        guard n > 0 else { return out }
        // Merge axes that are contiguous in the source so the inner loop runs long.
        var dims: [Int] = [], st: [Int] = []
        for (d, s) in zip(shape, strides) where d != 1 {
            if let last = dims.last, st.last! == s * d {
                dims[dims.count - 1] = last * d
                st[st.count - 1] = s
            } else { dims.append(d); st.append(s) }
        }
        if dims.isEmpty { dims = [1]; st = [0] }
        let inner = dims.last!, innerStride = st.last!
        let src = source.storage.pointer + offset, dst = out.storage.pointer
        Threads.parallelFor(n / inner, grain: Swift.max(1, elementwiseGrain / inner)) { range in
            for row in range {
                var rest = row, o = 0, d = dims.count - 2
                while d >= 0 { o += (rest % dims[d]) * st[d]; rest /= dims[d]; d -= 1 }
                let s = src + o, t = dst + row * inner
                if innerStride == 1 { t.update(from: s, count: inner) }
                else { for j in 0..<inner { t[j] = s[j * innerStride] } }
            }
        }
        return out
    }

    // MARK: - Reshape

    /// Same elements, new shape (one dimension may be -1). Shares storage.
    public func reshape(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        let unknown = newShape.indices.filter { newShape[$0] == -1 }
        guard unknown.count <= 1, !newShape.contains(where: { $0 < -1 }) else {
            throw EngineError.invalidArgument(op: "reshape", reason: "invalid target shape \(shapeString(newShape))")
        }
        if let u = unknown.first {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw EngineError.shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "cannot infer -1")
            }
            target[u] = count / known
        }
        guard target.reduce(1, *) == count else {
            throw EngineError.shapeMismatch(op: "reshape", shapes: [shape, newShape],
                                            reason: "\(count) elements cannot take the new shape")
        }
        if target == shape { return self }
        let inputShape = shape
        return Tensor.record("reshape", Tensor(storage: storage, shape: target), inputs: [self]) { g in
            [try g.reshape(inputShape)]
        }
    }

    /// All axes from `start` to `end` merged into one.
    public func flatten(from start: Int = 0, to end: Int = -1) throws -> Tensor {
        guard rank > 0 else { return try reshape([1]) }
        let s = try Tensor.normalizeAxis(start, rank: rank, op: "flatten"), e = try Tensor.normalizeAxis(end, rank: rank, op: "flatten")
        guard s <= e else { throw EngineError.invalidArgument(op: "flatten", reason: "start axis \(start) is after end axis \(end)") }
        return try reshape(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    /// A new axis of size 1 at `axis`.
    public func unsqueeze(_ axis: Int) throws -> Tensor {
        let a = try Tensor.normalizeAxis(axis, rank: rank + 1, op: "unsqueeze")
        var s = shape
        s.insert(1, at: a)
        return try reshape(s)
    }

    /// Removes axis `axis` (which must have size 1), or every size-1 axis if nil.
    public func squeeze(_ axis: Int? = nil) throws -> Tensor {
        guard let axis else { return try reshape(shape.filter { $0 != 1 }) }
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "squeeze")
        guard shape[a] == 1 else {
            throw EngineError.invalidArgument(op: "squeeze", reason: "axis \(axis) has size \(shape[a]), not 1, in \(shapeString(shape))")
        }
        var s = shape
        s.remove(at: a)
        return try reshape(s)
    }

    // MARK: - Permute

    /// Reorders the axes: output axis i is input axis `order[i]`.
    public func permute(_ order: [Int]) throws -> Tensor {
        let order = try order.map { try Tensor.normalizeAxis($0, rank: rank, op: "permute") }
        guard order.count == rank, Set(order).count == rank else {
            throw EngineError.invalidArgument(op: "permute", reason: "\(order) is not a permutation of the \(rank) axes of \(shapeString(shape))")
        }
        if order == Array(0..<rank) { return self }
        let st = strides
        let out = Tensor.gatherStrided(self, offset: 0, shape: order.map { shape[$0] }, strides: order.map { st[$0] })
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.record("permute", out, inputs: [self]) { g in [try g.permute(inverse)] }
    }

    /// Swaps two axes (the last two by default).
    public func transpose(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        let x = try Tensor.normalizeAxis(a, rank: rank, op: "transpose"), y = try Tensor.normalizeAxis(b, rank: rank, op: "transpose")
        var order = Array(0..<rank)
        order.swapAt(x, y)
        return try permute(order)
    }

    // MARK: - Slicing

    /// Python-style slicing, one entry per leading axis (`x[1, :, 2:8:2]`); later axes are kept whole.
    public func slice(_ indices: [SliceIndex]) throws -> Tensor {
        guard indices.count <= rank else {
            throw EngineError.invalidArgument(op: "slice", reason: "\(indices.count) indices for a tensor of rank \(rank) \(shapeString(shape))")
        }
        let st = strides
        var offset = 0, outShape: [Int] = [], outStrides: [Int] = []
        for axis in 0..<rank {
            let n = shape[axis]
            switch axis < indices.count ? indices[axis] : .all {
            case .index(let i):
                let j = i < 0 ? i + n : i
                guard j >= 0 && j < n else {
                    throw EngineError.invalidArgument(op: "slice", reason: "index \(i) is out of range for axis \(axis) of size \(n)")
                }
                offset += j * st[axis]
            case .all:
                outShape.append(n); outStrides.append(st[axis])
            case let .range(start, end, step):
                guard step > 0 else {
                    throw EngineError.invalidArgument(op: "slice", reason: "step must be positive, got \(step) on axis \(axis)")
                }
                func clampIndex(_ v: Int?, _ fallback: Int) -> Int {
                    guard let v else { return fallback }
                    return Swift.min(Swift.max(v < 0 ? v + n : v, 0), n)
                }
                let lo = clampIndex(start, 0), hi = clampIndex(end, n)
                let len = hi > lo ? (hi - lo + step - 1) / step : 0
                offset += len > 0 ? lo * st[axis] : 0
                outShape.append(len); outStrides.append(st[axis] * step)
            }
        }
        let out = Tensor.gatherStrided(self, offset: offset, shape: outShape, strides: outStrides)
        let inputShape = shape
        return Tensor.record("slice", out, inputs: [self]) { g in
            // Scatter the gradient into zeros at the sliced positions.
            let full = Tensor.zeros(inputShape)
            let dst = full.storage.pointer + offset, src = g.storage.pointer
            var index = [Int](repeating: 0, count: outShape.count)
            for k in 0..<g.count {
                var o = 0
                for d in 0..<outShape.count { o += index[d] * outStrides[d] }
                dst[o] += src[k]
                var d = outShape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < outShape[d] { break }; index[d] = 0; d -= 1 }
            }
            return [full]
        }
    }

    /// `start..<end` by `step` along one axis (Python clamping, negative indices from the end).
    public func slice(axis: Int, start: Int? = nil, end: Int? = nil, step: Int = 1) throws -> Tensor {
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "slice")
        return try slice(Array(repeating: SliceIndex.all, count: a) + [.range(start: start, end: end, step: step)])
    }

    // MARK: - Gather

    /// The entries `indices` (negative from the end) along `axis` (`torch.index_select`).
    public func indexSelect(axis: Int, indices: [Int]) throws -> Tensor {
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "indexSelect")
        let n = shape[a]
        let resolved = try indices.map { i -> Int in
            let j = i < 0 ? i + n : i
            guard j >= 0 && j < n else {
                throw EngineError.invalidArgument(op: "indexSelect", reason: "index \(i) is out of range for axis \(axis) of size \(n)")
            }
            return j
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = resolved.count
        let out = Tensor(uninitializedShape: outShape)
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for (k, j) in resolved.enumerated() {
                (dst + (o * resolved.count + k) * inner).update(from: src + (o * n + j) * inner, count: inner)
            }
        }
        let inputShape = shape
        return Tensor.record("indexSelect", out, inputs: [self]) { g in
            let full = Tensor.zeros(inputShape)
            let gd = full.storage.pointer, gs = g.storage.pointer
            for o in 0..<outer {
                for (k, j) in resolved.enumerated() {
                    let t = gd + (o * n + j) * inner, s = gs + (o * resolved.count + k) * inner
                    for i in 0..<inner { t[i] += s[i] }
                }
            }
            return [full]
        }
    }

    /// `out[i][j][k] = x[i][index[i][j][k]][k]` for axis 1, and so on (`torch.gather`).
    /// `index` has this tensor's rank; its sizes may not exceed this tensor's off `axis`.
    public func gather(axis: Int, index: Tensor) throws -> Tensor {
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "gather")
        guard index.rank == rank, (0..<rank).allSatisfy({ $0 == a || index.shape[$0] <= shape[$0] }) else {
            throw EngineError.shapeMismatch(op: "gather", shapes: [shape, index.shape], reason: "index must have the input's rank and no larger sizes off axis \(axis)")
        }
        let n = shape[a], st = strides, ist = index.strides
        var positions = [Int](repeating: 0, count: index.count)
        for k in 0..<index.count {
            var source = 0
            for d in 0..<rank {
                let i = (k / ist[d]) % index.shape[d]
                if d == a {
                    let v = Int(index.storage.pointer[k])
                    let j = v < 0 ? v + n : v
                    guard j >= 0 && j < n else {
                        throw EngineError.invalidArgument(op: "gather", reason: "index \(v) is out of range for axis \(axis) of size \(n)")
                    }
                    source += j * st[d]
                } else { source += i * st[d] }
            }
            positions[k] = source
        }
        let out = Tensor(uninitializedShape: index.shape)
        for k in 0..<index.count { out.storage.pointer[k] = storage.pointer[positions[k]] }
        let inputShape = shape
        return Tensor.record("gather", out, inputs: [self]) { g in
            let full = Tensor.zeros(inputShape)
            for k in 0..<g.count { full.storage.pointer[positions[k]] += g.storage.pointer[k] }
            return [full]
        }
    }

    // MARK: - Concat, stack, split

    /// Joins tensors along an existing axis; all other sizes must agree.
    public static func concat(_ tensors: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = tensors.first else { throw EngineError.invalidArgument(op: "concat", reason: "no tensors to join") }
        let a = try normalizeAxis(axis, rank: first.rank, op: "concat")
        for t in tensors where t.rank != first.rank || (0..<first.rank).contains(where: { $0 != a && t.shape[$0] != first.shape[$0] }) {
            throw EngineError.shapeMismatch(op: "concat", shapes: tensors.map(\.shape), reason: "sizes differ off axis \(axis)")
        }
        let sizes = tensors.map { $0.shape[a] }
        var outShape = first.shape
        outShape[a] = sizes.reduce(0, +)
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: outShape)
        let total = outShape[a]
        var start = 0
        for t in tensors {
            let n = t.shape[a]
            for o in 0..<outer {
                (out.storage.pointer + (o * total + start) * inner).update(from: t.storage.pointer + o * n * inner, count: n * inner)
            }
            start += n
        }
        return record("concat", out, inputs: tensors) { g in try g.split(sizes: sizes, axis: a) }
    }

    /// Joins same-shaped tensors along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = tensors.first else { throw EngineError.invalidArgument(op: "stack", reason: "no tensors to stack") }
        guard tensors.allSatisfy({ $0.shape == first.shape }) else {
            throw EngineError.shapeMismatch(op: "stack", shapes: tensors.map(\.shape), reason: "shapes differ")
        }
        let a = try normalizeAxis(axis, rank: first.rank + 1, op: "stack")
        return try concat(tensors.map { try $0.unsqueeze(a) }, axis: a)
    }

    /// Pieces of the given sizes along `axis` (they must add up to its size).
    public func split(sizes: [Int], axis: Int = 0) throws -> [Tensor] {
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "split")
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[a] else {
            throw EngineError.invalidArgument(op: "split", reason: "sizes \(sizes) do not add up to \(shape[a]), the size of axis \(axis) of \(shapeString(shape))")
        }
        var start = 0
        return try sizes.map { n in
            defer { start += n }
            return try slice(axis: a, start: start, end: start + n)
        }
    }

    /// `chunks` nearly equal pieces along `axis` (the last may be smaller), as `torch.chunk`.
    public func chunk(_ chunks: Int, axis: Int = 0) throws -> [Tensor] {
        guard chunks >= 1 else { throw EngineError.invalidArgument(op: "chunk", reason: "chunks must be ≥ 1, got \(chunks)") }
        let a = try Tensor.normalizeAxis(axis, rank: rank, op: "chunk")
        let n = shape[a], size = Swift.max(1, (n + chunks - 1) / chunks)
        var sizes: [Int] = []
        var left = n
        while left > 0 { sizes.append(Swift.min(size, left)); left -= size }
        return try split(sizes: sizes.isEmpty ? [0] : sizes, axis: a)
    }

    // MARK: - Expand, pad, repeat

    /// Broadcasts to `newShape` (size-1 axes stretch, new axes are added in front).
    public func expand(_ newShape: [Int]) throws -> Tensor {
        if newShape == shape { return self }
        let lead = newShape.count - rank
        guard lead >= 0, (0..<rank).allSatisfy({ shape[$0] == 1 || shape[$0] == newShape[lead + $0] }) else {
            throw EngineError.shapeMismatch(op: "expand", shapes: [shape, newShape], reason: "cannot broadcast")
        }
        let st = strides
        let srcStrides = newShape.indices.map { i in i < lead || shape[i - lead] == 1 ? 0 : st[i - lead] }
        let out = Tensor.gatherStrided(self, offset: 0, shape: newShape, strides: srcStrides)
        let inputShape = shape
        return Tensor.record("expand", out, inputs: [self]) { g in [try g.sum(toShape: inputShape)] }
    }

    /// Pads with `value`: `padding[i] = (before, after)` for axis i, counted from the first axis.
    public func pad(_ padding: [(before: Int, after: Int)], value: Float = 0) throws -> Tensor {
        guard padding.count <= rank, padding.allSatisfy({ $0.before >= 0 && $0.after >= 0 }) else {
            throw EngineError.invalidArgument(op: "pad", reason: "need at most \(rank) non-negative (before, after) pairs for \(shapeString(shape))")
        }
        let pads = padding + Array(repeating: (before: 0, after: 0), count: rank - padding.count)
        let outShape = shape.indices.map { shape[$0] + pads[$0].before + pads[$0].after }
        let out = Tensor.full(outShape, value)
        let ost = out.strides
        let offset = pads.indices.reduce(0) { $0 + pads[$1].before * ost[$1] }
        // Write the input into the interior by scattering rows of the last axis.
        let inner = shape.last ?? 1, rows = count / Swift.max(inner, 1)
        let lead = Array(shape.dropLast())
        for row in 0..<rows {
            var rest = row, o = offset
            for d in stride(from: lead.count - 1, through: 0, by: -1) { o += (rest % lead[d]) * ost[d]; rest /= lead[d] }
            (out.storage.pointer + o).update(from: storage.pointer + row * inner, count: inner)
        }
        return Tensor.record("pad", out, inputs: [self]) { g in
            [try g.slice(pads.indices.map { .range(start: pads[$0].before, end: pads[$0].before + self.shape[$0], step: 1) })]
        }
    }

    /// Tiles the tensor `counts[i]` times along axis i (`torch.Tensor.repeat`).
    public func `repeat`(_ counts: [Int]) throws -> Tensor {
        guard counts.count >= rank, counts.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.invalidArgument(op: "repeat", reason: "need at least \(rank) non-negative counts for \(shapeString(shape)), got \(counts)")
        }
        let padded = Array(repeating: 1, count: counts.count - rank) + shape
        var interleaved: [Int] = [], expanded: [Int] = []
        for (r, d) in zip(counts, padded) { interleaved += [1, d]; expanded += [r, d] }
        return try reshape(interleaved).expand(expanded).reshape(zip(counts, padded).map(*))
    }
}
