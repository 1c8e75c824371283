import CKernels

// Scaled dot-product attention, fused and memory-lean: each head's scores live only in a
// per-thread scratch block (Lq × Lk); the forward keeps just each row's log-sum-exp, and the
// backward rebuilds the probabilities from the scores (as FlashAttention does). Memory is
// O(B·heads·L) instead of O(B·heads·L²): at 1024 tokens and 64 heads that is 256 KB, not 256 MB.

/// Head sizes up to this use the row-by-row kernels; larger ones the blocked sgemm path.
let smallHeadSize = 16

extension Tensor {
    /// softmax(q kᵀ · scale + mask) v (`torch.nn.functional.scaled_dot_product_attention`).
    /// q: [..., Lq, d], k: [..., Lk, d], v: [..., Lk, dv] with equal leading axes;
    /// mask: additive, broadcastable to [..., Lq, Lk]; scale defaults to 1/√d → [..., Lq, dv].
    public static func scaledDotProductAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                                                 mask: Tensor? = nil, scale: Float? = nil) throws -> Tensor {
        guard q.rank >= 2, k.rank == q.rank, v.rank == q.rank,
              q.shape.dropLast(2) == k.shape.dropLast(2), k.shape.dropLast(2) == v.shape.dropLast(2) else {
            throw EngineError.shapeMismatch(op: "attention", shapes: [q.shape, k.shape, v.shape],
                                            reason: "query, key and value need the same rank ≥ 2 and the same leading axes")
        }
        let (lq, d) = (q.shape[q.rank - 2], q.shape[q.rank - 1])
        let (lk, dk) = (k.shape[k.rank - 2], k.shape[k.rank - 1])
        let (lv, dv) = (v.shape[v.rank - 2], v.shape[v.rank - 1])
        guard d == dk, lk == lv else {
            throw EngineError.shapeMismatch(op: "attention", shapes: [q.shape, k.shape, v.shape],
                                            reason: "query and key need the same feature size, key and value the same length")
        }
        let batchShape = Array(q.shape.dropLast(2))
        let scoreShape = batchShape + [lq, lk]
        // The mask is kept at its own leading size: heads that share a mask block read the same
        // memory. maskOffsets[b] is head b's block (broadcast axes repeat a block).
        let maskFull: Tensor?, maskOffsets: [Int]
        if let m = mask {
            let lead = Array(m.shape.dropLast(Swift.min(2, m.rank)))
            guard let padded = Optional(Array(repeating: 1, count: Swift.max(0, batchShape.count - lead.count)) + lead),
                  padded.count == batchShape.count, zip(padded, batchShape).allSatisfy({ $0 == 1 || $0 == $1 }),
                  let full = try? m.detach().expand(padded + [lq, lk]) else {
                throw EngineError.shapeMismatch(op: "attention", shapes: [m.shape, scoreShape], reason: "mask does not broadcast to the scores")
            }
            let strides = contiguousStrides(padded)
            maskOffsets = (0..<batchShape.reduce(1, *)).map { flat in
                var rest = flat, block = 0
                for axis in stride(from: batchShape.count - 1, through: 0, by: -1) {
                    let i = rest % batchShape[axis]
                    rest /= batchShape[axis]
                    if padded[axis] != 1 { block += i * strides[axis] }
                }
                return block * lq * lk
            }
            maskFull = full
        } else {
            (maskFull, maskOffsets) = (nil, [])
        }
        let alpha = scale ?? 1 / Float(d).squareRoot()
        let batch = batchShape.reduce(1, *)
        if d <= smallHeadSize && dv <= smallHeadSize {
            return smallHeadAttention(q, k, v, mask: mask, maskFull: maskFull, maskOffsets: maskOffsets,
                                      batch: batch, lq: lq, lk: lk, d: d, dv: dv, alpha: alpha)
        }
        let lse = Tensor(uninitializedShape: batchShape + [lq])
        let out = Tensor(uninitializedShape: batchShape + [lq, dv])
        let (pq, pk, pv, po) = (q.storage.pointer, k.storage.pointer, v.storage.pointer, out.storage.pointer)
        // NOTE: the backward closure must hold the tensors it reads (lse, maskFull), not pointers.
        // With enough heads, each thread runs whole heads (single-threaded sgemms, the scores stay
        // in cache); with fewer heads than threads, each sgemm is split instead.
        let perHead = batch >= Threads.count
        // Queries are processed in blocks of rows so a block's scores (~64 KB) stay in cache
        // between the two sgemms and the softmax. The block size is fixed by the shapes alone,
        // so results do not depend on the thread count.
        let rowsPerBlock = Swift.min(lq, Swift.max(8, (16384 / Swift.max(lk, 1)) / 8 * 8))
        /// S = α Q Kᵀ + mask for rows r0..<r0+rows of head b, into `s`.
        func scores(_ b: Int, _ r0: Int, _ rows: Int, _ s: UnsafeMutablePointer<Float>) {
            sgemm(transposeA: false, transposeB: true, m: rows, n: lk, k: d, alpha: alpha,
                  a: pq + (b * lq + r0) * d, b: pk + b * lk * d, c: s, threaded: !perHead)
            if let maskFull {
                let block = maskFull.storage.pointer + maskOffsets[b] + r0 * lk
                for i in 0..<(rows * lk) { s[i] += block[i] }
            }
        }
        Threads.forEach(batch, parallel: perHead, scratch: rowsPerBlock * lk) { b, s in
            for r0 in Swift.stride(from: 0, to: lq, by: rowsPerBlock) {
                let rows = Swift.min(rowsPerBlock, lq - r0)
                scores(b, r0, rows, s)
                snp_softmax_rows_lse(s, lse.storage.pointer + b * lq + r0, rows, lk)
                sgemm(transposeA: false, transposeB: false, m: rows, n: dv, k: lk,
                      a: s, b: pv + b * lk * dv, c: po + (b * lq + r0) * dv, threaded: !perHead)
            }
        }
        var inputs = [q, k, v]
        if let mask { inputs.append(mask) }
        return record("attention", out, inputs: inputs) { g in
            let dq = Tensor(uninitializedShape: q.shape), dk = Tensor(uninitializedShape: k.shape), dvT = Tensor(uninitializedShape: v.shape)
            // The mask's gradient is dS summed over the heads that share each mask block.
            let maskGrad = mask?.tracksGrad == true ? Tensor.zeros(scoreShape) : nil
            let gp = g.storage.pointer
            Threads.forEach(batch, parallel: perHead, scratch: 2 * rowsPerBlock * lk) { b, scratch in
                let p = scratch, s = scratch + rowsPerBlock * lk
                for r0 in Swift.stride(from: 0, to: lq, by: rowsPerBlock) {
                    let rows = Swift.min(rowsPerBlock, lq - r0), first: Float = r0 == 0 ? 0 : 1
                    let go = gp + (b * lq + r0) * dv
                    scores(b, r0, rows, p)
                    snp_probabilities_from_lse(p, lse.storage.pointer + b * lq + r0, rows, lk)
                    // dV += Pᵀ dO, dP = dO Vᵀ (over the blocks, dV and dK accumulate in block order)
                    sgemm(transposeA: true, transposeB: false, m: lk, n: dv, k: rows, a: p, b: go,
                          beta: first, c: dvT.storage.pointer + b * lk * dv, threaded: !perHead)
                    sgemm(transposeA: false, transposeB: true, m: rows, n: lk, k: dv, a: go, b: pv + b * lk * dv, c: s, threaded: !perHead)
                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place
                    snp_softmax_backward_rows(p, s, s, rows, lk, 0)
                    if let maskGrad { (maskGrad.storage.pointer + (b * lq + r0) * lk).update(from: s, count: rows * lk) }
                    // dQ = α dS K, dK += α dSᵀ Q
                    sgemm(transposeA: false, transposeB: false, m: rows, n: d, k: lk, alpha: alpha,
                          a: s, b: pk + b * lk * d, c: dq.storage.pointer + (b * lq + r0) * d, threaded: !perHead)
                    sgemm(transposeA: true, transposeB: false, m: lk, n: d, k: rows, alpha: alpha,
                          a: s, b: pq + (b * lq + r0) * d, beta: first, c: dk.storage.pointer + b * lk * d, threaded: !perHead)
                }
            }
            var grads: [Tensor?] = [dq, dk, dvT]
            if let mask { grads.append(try maskGrad.map { try $0.sum(toShape: mask.shape) }) }
            return grads
        }
    }

    /// Attention for head sizes up to `smallHeadSize`: C kernels that work row by row on
    /// transposed keys and values, no sgemm (whose packing dominates at such sizes).
    private static func smallHeadAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, maskFull: Tensor?, maskOffsets: [Int],
                                           batch: Int, lq: Int, lk: Int, d: Int, dv: Int, alpha: Float) -> Tensor {
        let out = Tensor(uninitializedShape: Array(q.shape.dropLast()) + [dv])
        let lse = Tensor(uninitializedShape: Array(q.shape.dropLast()))
        let (pq, pk, pv) = (q.storage.pointer, k.storage.pointer, v.storage.pointer)
        /// Writes head b's keys and values transposed ([d, lk], [dv, lk]) into `kt`, `vt`.
        func transposeHead(_ b: Int, _ kt: UnsafeMutablePointer<Float>, _ vt: UnsafeMutablePointer<Float>) {
            let kb = pk + b * lk * d, vb = pv + b * lk * dv
            for j in 0..<lk {
                for c in 0..<d { kt[c * lk + j] = kb[j * d + c] }
                for c in 0..<dv { vt[c * lk + j] = vb[j * dv + c] }
            }
        }
        func maskRow(_ b: Int) -> UnsafePointer<Float>? { maskFull.map { UnsafePointer($0.storage.pointer + maskOffsets[b]) } }
        Threads.forEach(batch, parallel: batch >= Threads.count, scratch: (d + dv + 1) * lk) { b, scratch in
            let kt = scratch, vt = scratch + d * lk
            transposeHead(b, kt, vt)
            snp_attention_small_forward(pq + b * lq * d, kt, vt, maskRow(b), out.storage.pointer + b * lq * dv,
                                        lse.storage.pointer + b * lq, vt + dv * lk, lq, lk, d, dv, alpha)
        }
        var inputs = [q, k, v]
        if let mask { inputs.append(mask) }
        let scoreShape = Array(q.shape.dropLast()) + [lk]
        return record("attention", out, inputs: inputs) { g in
            let dq = Tensor(uninitializedShape: q.shape), dk = Tensor(uninitializedShape: k.shape), dvOut = Tensor(uninitializedShape: v.shape)
            let maskGrad = mask?.tracksGrad == true ? Tensor.zeros(scoreShape) : nil
            Threads.forEach(batch, parallel: batch >= Threads.count, scratch: 2 * (d + dv) * lk + 2 * lk) { b, scratch in
                let kt = scratch, vt = kt + d * lk, dkt = vt + dv * lk, dvt = dkt + d * lk, rows = dvt + dv * lk
                transposeHead(b, kt, vt)
                dkt.initialize(repeating: 0, count: (d + dv) * lk)
                snp_attention_small_backward(pq + b * lq * d, kt, vt, maskRow(b), g.storage.pointer + b * lq * dv,
                                             lse.storage.pointer + b * lq, dq.storage.pointer + b * lq * d, dkt, dvt,
                                             maskGrad.map { $0.storage.pointer + b * lq * lk }, rows, lq, lk, d, dv, alpha)
                let dkb = dk.storage.pointer + b * lk * d, dvb = dvOut.storage.pointer + b * lk * dv
                for j in 0..<lk {
                    for c in 0..<d { dkb[j * d + c] = dkt[c * lk + j] }
                    for c in 0..<dv { dvb[j * dv + c] = dvt[c * lk + j] }
                }
            }
            var grads: [Tensor?] = [dq, dk, dvOut]
            if let mask { grads.append(try maskGrad.map { try $0.sum(toShape: mask.shape) }) }
            return grads
        }
    }
}
