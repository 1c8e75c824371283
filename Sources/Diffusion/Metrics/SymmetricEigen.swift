/// Dense symmetric matrices in Double (row-major, n × n) and the cyclic Jacobi eigenvalue method,
/// for the small (D ≤ a few hundred) covariance matrices of the metrics.
enum SymmetricEigen {
    /// Eigenvalues and eigenvectors of the symmetric matrix `a` (n × n, row-major) by the cyclic
    /// Jacobi method (Golub & Van Loan, "Matrix Computations", §8.5): sweeps of plane rotations
    /// that zero each off-diagonal entry in turn, until the off-diagonal mass is negligible
    /// relative to the matrix (quadratic convergence; O(n³) per sweep).
    ///
    /// - Returns: the eigenvalues (unsorted) and the eigenvectors as the columns of an n × n
    ///   row-major matrix, in the same order; a = V diag(λ) Vᵀ. With `withVectors` false the
    ///   rotations are not accumulated and the vectors are the identity.
    static func decompose(_ a: [Double], n: Int, withVectors: Bool = true) -> (values: [Double], vectors: [Double]) {
        precondition(a.count == n * n, "a symmetric matrix needs n × n entries")
        var a = a
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let total = a.reduce(0) { $0 + $1 * $1 }
        guard n > 1, total > 0 else { return ((0..<n).map { a[$0 * n + $0] }, v) }

        // Raw buffers: the rotations are the whole cost, O(n) each, n²/2 per sweep.
        a.withUnsafeMutableBufferPointer { A in
            v.withUnsafeMutableBufferPointer { V in
                for _ in 0..<100 {
                    var off = 0.0
                    for p in 0..<n { for q in (p + 1)..<n { off += 2 * A[p * n + q] * A[p * n + q] } }
                    if off <= 1e-30 * total { break }
                    for p in 0..<(n - 1) {
                        for q in (p + 1)..<n {
                            let apq = A[p * n + q]
                            if apq == 0 { continue }
                            // Rotation J (J_pp = J_qq = c, J_pq = s, J_qp = −s) with (Jᵀ A J)_pq = 0;
                            // t = tan of the smaller of the two angles that do it.
                            let theta = (A[q * n + q] - A[p * n + p]) / (2 * apq)
                            let t: Double
                            if Swift.abs(theta) > 1e150 {
                                t = 1 / (2 * theta)
                            } else {
                                t = (theta >= 0 ? 1 : -1) / (Swift.abs(theta) + (theta * theta + 1).squareRoot())
                            }
                            let c = 1 / (t * t + 1).squareRoot(), s = t * c
                            for k in 0..<n {  // A ← A J (columns p, q)
                                let akp = A[k * n + p], akq = A[k * n + q]
                                A[k * n + p] = c * akp - s * akq
                                A[k * n + q] = s * akp + c * akq
                            }
                            for k in 0..<n {  // A ← Jᵀ A (rows p, q)
                                let apk = A[p * n + k], aqk = A[q * n + k]
                                A[p * n + k] = c * apk - s * aqk
                                A[q * n + k] = s * apk + c * aqk
                            }
                            A[p * n + q] = 0
                            A[q * n + p] = 0
                            if withVectors {
                                for k in 0..<n {  // V ← V J
                                    let vkp = V[k * n + p], vkq = V[k * n + q]
                                    V[k * n + p] = c * vkp - s * vkq
                                    V[k * n + q] = s * vkp + c * vkq
                                }
                            }
                        }
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }

    /// The principal square root of the symmetric positive semi-definite matrix `a`:
    /// V diag(√max(λ, 0)) Vᵀ (eigenvalues below zero by rounding are clamped to 0).
    static func squareRoot(_ a: [Double], n: Int) -> [Double] {
        let (values, vectors) = decompose(a, n: n)
        let roots = values.map { Swift.max($0, 0).squareRoot() }
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                var sum = 0.0
                for k in 0..<n { sum += vectors[i * n + k] * roots[k] * vectors[j * n + k] }
                out[i * n + j] = sum
                out[j * n + i] = sum
            }
        }
        return out
    }

    /// The product of two n × n row-major matrices.
    static func multiply(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for k in 0..<n {
                let aik = a[i * n + k]
                if aik == 0 { continue }
                for j in 0..<n { out[i * n + j] += aik * b[k * n + j] }
            }
        }
        return out
    }
}
