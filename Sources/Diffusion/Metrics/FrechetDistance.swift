import Engine

/// The Fréchet distance between two sets of features, each modelled as a Gaussian — the FID of
/// Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
/// Equilibrium" (NeurIPS), when the features are Inception-v3 pool activations:
///
///     FD = ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^{1/2})
///
/// with μ the feature means and Σ the unbiased (N − 1) covariances, as pytorch-fid and clean-fid
/// compute them (`np.cov(x, rowvar=False)`).
///
/// Everything is computed in Double. The trace of the matrix square root uses the symmetric form
///
///     Tr((Σa Σb)^{1/2}) = Tr((Σa^{1/2} Σb Σa^{1/2})^{1/2}) = Σᵢ √λᵢ
///
/// where λᵢ are the eigenvalues of the symmetric positive semi-definite Σa^{1/2} Σb Σa^{1/2}
/// (the same non-zero eigenvalues as Σa Σb), found by cyclic Jacobi; eigenvalues that rounding
/// leaves slightly negative are clamped to 0. This avoids the complex intermediate results of a
/// general `sqrtm`. Cost: O((N + M) D²) for the covariances plus O(D³) per Jacobi sweep, meant
/// for D up to a few hundred.
///
/// - Parameters:
///   - a: features [N, D], N ≥ 2.
///   - b: features [M, D], M ≥ 2, same D.
/// - Returns: the Fréchet distance (≥ 0 up to rounding).
/// - Throws: `DiffusionError.shapeMismatch` when an input is not a matrix or the feature
///   dimensions differ; `DiffusionError.invalidArgument` when a set has fewer than 2 samples or
///   holds a NaN or infinity.
public func frechetDistance(_ a: Tensor, _ b: Tensor) throws -> Double {
    let x = try FeatureMatrix(a, name: "a", metric: "frechetDistance")
    let y = try FeatureMatrix(b, name: "b", metric: "frechetDistance")
    try requireSameDimension(x, y, shapes: [a.shape, b.shape], metric: "frechetDistance")
    for (matrix, name) in [(x, "a"), (y, "b")] where matrix.rows < 2 {
        throw DiffusionError.invalidArgument(
            name: "frechetDistance \(name)",
            reason: "needs at least 2 samples for an unbiased covariance, got \(matrix.rows)")
    }
    let d = x.dim
    let (muA, sigmaA) = meanAndCovariance(x)
    let (muB, sigmaB) = meanAndCovariance(y)

    var meanTerm = 0.0
    for j in 0..<d { let diff = muA[j] - muB[j]; meanTerm += diff * diff }
    var traces = 0.0
    for j in 0..<d { traces += sigmaA[j * d + j] + sigmaB[j * d + j] }

    let rootA = SymmetricEigen.squareRoot(sigmaA, n: d)
    var inner = SymmetricEigen.multiply(SymmetricEigen.multiply(rootA, sigmaB, n: d), rootA, n: d)
    for i in 0..<d {  // symmetrise away rounding before the symmetric eigensolver
        for j in (i + 1)..<d {
            let mean = (inner[i * d + j] + inner[j * d + i]) / 2
            inner[i * d + j] = mean
            inner[j * d + i] = mean
        }
    }
    let traceRoot = SymmetricEigen.decompose(inner, n: d, withVectors: false).values.reduce(0) { $0 + Swift.max($1, 0).squareRoot() }
    return meanTerm + traces - 2 * traceRoot
}

/// The column means and the unbiased covariance (divided by N − 1, row-major D × D) of `x`.
func meanAndCovariance(_ x: FeatureMatrix) -> (mean: [Double], covariance: [Double]) {
    let (n, d) = (x.rows, x.dim)
    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n { for j in 0..<d { mean[j] += x.values[i * d + j] } }
    for j in 0..<d { mean[j] /= Double(n) }
    var covariance = [Double](repeating: 0, count: d * d)
    var centred = [Double](repeating: 0, count: d)
    for i in 0..<n {
        for j in 0..<d { centred[j] = x.values[i * d + j] - mean[j] }
        for j in 0..<d {
            let cj = centred[j]
            for l in j..<d { covariance[j * d + l] += cj * centred[l] }
        }
    }
    for j in 0..<d {
        for l in j..<d {
            let value = covariance[j * d + l] / Double(n - 1)
            covariance[j * d + l] = value
            covariance[l * d + j] = value
        }
    }
    return (mean, covariance)
}
