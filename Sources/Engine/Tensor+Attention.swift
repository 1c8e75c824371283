import CKernels

// Scaled dot-product attention, fused: two sgemms and an in-place softmax forward, the
// analytic backward with four sgemms.

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
        let expandedMask = try mask.map { m -> Tensor in
            do { return try m.detach().expand(scoreShape) } catch {
                throw EngineError.shapeMismatch(op: "attention", shapes: [m.shape, scoreShape], reason: "mask does not broadcast to the scores")
            }
        }
        let alpha = scale ?? 1 / Float(d).squareRoot()
        let batch = batchShape.reduce(1, *)
        let probs = Tensor(uninitializedShape: scoreShape)
        let out = Tensor(uninitializedShape: batchShape + [lq, dv])
        let (pq, pk, pv, pp, po) = (q.storage.pointer, k.storage.pointer, v.storage.pointer, probs.storage.pointer, out.storage.pointer)
        let mp = expandedMask?.storage.pointer
        // With enough heads, each thread runs whole heads (single-threaded sgemms, the scores stay
        // in cache); with fewer heads than threads, each sgemm is split instead.
        let perHead = batch >= Threads.count
        forEachHead(batch, perHead) { b in
            let scores = pp + b * lq * lk
            sgemm(transposeA: false, transposeB: true, m: lq, n: lk, k: d, alpha: alpha,
                  a: pq + b * lq * d, b: pk + b * lk * d, c: scores, threaded: !perHead)
            if let mp { for i in 0..<(lq * lk) { scores[i] += mp[b * lq * lk + i] } }
            snp_softmax_rows(scores, scores, lq, lk, 0)
            sgemm(transposeA: false, transposeB: false, m: lq, n: dv, k: lk,
                  a: scores, b: pv + b * lk * dv, c: po + b * lq * dv, threaded: !perHead)
        }
        let (sq, sk, sv) = (q.detach(), k.detach(), v.detach())
        var inputs = [q, k, v]
        if let mask { inputs.append(mask) }
        return record("attention", out, inputs: inputs) { g in
            let dq = Tensor(uninitializedShape: q.shape), dk = Tensor(uninitializedShape: k.shape), dvT = Tensor(uninitializedShape: v.shape)
            let ds = Tensor(uninitializedShape: scoreShape)
            let (gp, dsp, pp) = (g.storage.pointer, ds.storage.pointer, probs.storage.pointer)
            forEachHead(batch, perHead) { b in
                let p = pp + b * lq * lk, go = gp + b * lq * dv, s = dsp + b * lq * lk
                // dV = Pᵀ dO, dP = dO Vᵀ
                sgemm(transposeA: true, transposeB: false, m: lk, n: dv, k: lq, a: p, b: go, c: dvT.storage.pointer + b * lk * dv, threaded: !perHead)
                sgemm(transposeA: false, transposeB: true, m: lq, n: lk, k: dv, a: go, b: sv.storage.pointer + b * lk * dv, c: s, threaded: !perHead)
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place
                snp_softmax_backward_rows(p, s, s, lq, lk, 0)
                // dQ = α dS K, dK = α dSᵀ Q
                sgemm(transposeA: false, transposeB: false, m: lq, n: d, k: lk, alpha: alpha,
                      a: s, b: sk.storage.pointer + b * lk * d, c: dq.storage.pointer + b * lq * d, threaded: !perHead)
                sgemm(transposeA: true, transposeB: false, m: lk, n: d, k: lq, alpha: alpha,
                      a: s, b: sq.storage.pointer + b * lq * d, c: dk.storage.pointer + b * lk * d, threaded: !perHead)
            }
            var grads: [Tensor?] = [dq, dk, dvT]
            if let mask { grads.append(mask.tracksGrad ? try ds.sum(toShape: mask.shape) : nil) }
            return grads
        }
    }

    /// Runs `body` for every head, spread over the threads when `parallel`.
    private static func forEachHead(_ count: Int, _ parallel: Bool, _ body: (Int) -> Void) {
        if parallel { Threads.parallelFor(count, grain: 1) { r in for b in r { body(b) } } } else { for b in 0..<count { body(b) } }
    }
}
