import Engine

/// Improved precision and recall of a generated feature set against a real one (Kynkäänniemi,
/// Karras, Laine, Lehtinen & Aila 2019, "Improved Precision and Recall Metric for Assessing
/// Generative Models", NeurIPS).
///
/// Each set's manifold is approximated by balls around its samples: the radius of sample x is the
/// distance to its k-th nearest *other* sample of the same set. Then
///
///     precision = |{ f ∈ fake : ∃ r ∈ real, ‖f − r‖ ≤ radius(r) }| / |fake|
///     recall    = |{ r ∈ real : ∃ f ∈ fake, ‖r − f‖ ≤ radius(f) }| / |real|
///
/// Precision is the fraction of generated samples that look real; recall the fraction of the
/// real distribution the generator covers. Pairwise squared distances come from one matrix
/// product each, ‖x‖² + ‖y‖² − 2 x yᵀ (clamped at 0), with the norms and the comparisons in
/// Double. Memory is O(N · M) Doubles.
///
/// - Parameters:
///   - real: real features [N, D], N ≥ k + 1.
///   - fake: generated features [M, D], M ≥ k + 1, same D.
///   - k: the neighbour that sets a ball's radius (the paper uses 3), ≥ 1.
/// - Returns: precision and recall, each in [0, 1] (a count divided by the set's size).
/// - Throws: `DiffusionError.invalidArgument` for k < 1, a set with fewer than k + 1 samples, or
///   a NaN or infinity; `DiffusionError.shapeMismatch` when an input is not a matrix or the
///   feature dimensions differ.
public func precisionRecall(real: Tensor, fake: Tensor, k: Int = 3) throws -> (precision: Double, recall: Double) {
    guard k >= 1 else {
        throw DiffusionError.invalidArgument(name: "precisionRecall k", reason: "must be at least 1, got \(k)")
    }
    let r = try FeatureMatrix(real, name: "real", metric: "precisionRecall")
    let f = try FeatureMatrix(fake, name: "fake", metric: "precisionRecall")
    try requireSameDimension(r, f, shapes: [real.shape, fake.shape], metric: "precisionRecall")
    for (matrix, name) in [(r, "real"), (f, "fake")] where matrix.rows < k + 1 {
        throw DiffusionError.invalidArgument(
            name: "precisionRecall \(name)",
            reason: "needs at least k + 1 = \(k + 1) samples for k-nearest-neighbour radii, got \(matrix.rows)")
    }
    let realRadii = try kthNeighbourSquaredRadii(real, r, k: k)
    let fakeRadii = try kthNeighbourSquaredRadii(fake, f, k: k)
    let fakeToReal = try pairwiseSquaredDistances(fake, f, real, r)  // [M, N]
    let realToFake = try pairwiseSquaredDistances(real, r, fake, f)  // [N, M]
    let precision = coveredCount(fakeToReal, queries: f.rows, centres: r.rows, radii: realRadii)
    let recall = coveredCount(realToFake, queries: r.rows, centres: f.rows, radii: fakeRadii)
    return (Double(precision) / Double(f.rows), Double(recall) / Double(r.rows))
}

/// ‖xᵢ − yⱼ‖² for all pairs, [rows of x × rows of y] row-major: ‖x‖² + ‖y‖² − 2 x yᵀ, the
/// product by `Tensor.matmul`, the rest in Double, clamped at 0.
func pairwiseSquaredDistances(_ x: Tensor, _ xm: FeatureMatrix, _ y: Tensor, _ ym: FeatureMatrix) throws -> [Double] {
    let gram = try Tensor.matmul(x, y, transposeB: true).scalars
    let (xNorms, yNorms) = (xm.squaredRowNorms, ym.squaredRowNorms)
    var out = [Double](repeating: 0, count: xm.rows * ym.rows)
    for i in 0..<xm.rows {
        for j in 0..<ym.rows {
            out[i * ym.rows + j] = Swift.max(0, xNorms[i] + yNorms[j] - 2 * Double(gram[i * ym.rows + j]))
        }
    }
    return out
}

/// For each sample, the squared distance to its k-th nearest other sample of the same set.
func kthNeighbourSquaredRadii(_ x: Tensor, _ xm: FeatureMatrix, k: Int) throws -> [Double] {
    let n = xm.rows
    let distances = try pairwiseSquaredDistances(x, xm, x, xm)
    return (0..<n).map { i in
        var others = [Double]()
        others.reserveCapacity(n - 1)
        for j in 0..<n where j != i { others.append(distances[i * n + j]) }
        others.sort()
        return others[k - 1]
    }
}

/// How many queries lie within the ball (squared radius `radii[j]`) of at least one centre.
func coveredCount(_ distances: [Double], queries: Int, centres: Int, radii: [Double]) -> Int {
    (0..<queries).reduce(0) { count, i in
        let inside = (0..<centres).contains { j in distances[i * centres + j] <= radii[j] }
        return count + (inside ? 1 : 0)
    }
}
