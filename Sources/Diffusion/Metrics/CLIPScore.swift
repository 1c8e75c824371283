import Engine

/// The cosine similarity of each pair of rows, cos(iᵢ, tᵢ) = iᵢ · tᵢ / (‖iᵢ‖ ‖tᵢ‖), in Double.
///
/// - Parameters:
///   - a: features [N, D] (e.g. CLIP image embeddings), N ≥ 1.
///   - b: features [N, D] (e.g. CLIP text embeddings of the prompts), paired row by row.
/// - Returns: N cosine similarities in [−1, 1].
/// - Throws: `DiffusionError.shapeMismatch` when an input is not a matrix or the shapes differ;
///   `DiffusionError.invalidArgument` when there are no rows, a row is all zeros (no direction),
///   or a value is NaN or infinite.
public func cosineSimilarities(_ a: Tensor, _ b: Tensor) throws -> [Double] {
    let x = try FeatureMatrix(a, name: "a", metric: "cosineSimilarities")
    let y = try FeatureMatrix(b, name: "b", metric: "cosineSimilarities")
    guard a.shape == b.shape else {
        throw DiffusionError.shapeMismatch(what: "cosineSimilarities", shapes: [a.shape, b.shape],
                                           reason: "the two feature sets must be paired row by row (same [N, D])")
    }
    guard x.rows >= 1 else {
        throw DiffusionError.invalidArgument(name: "cosineSimilarities", reason: "needs at least one pair of rows")
    }
    let (xNorms, yNorms) = (x.squaredRowNorms, y.squaredRowNorms)
    return try (0..<x.rows).map { i in
        guard xNorms[i] > 0, yNorms[i] > 0 else {
            throw DiffusionError.invalidArgument(name: "cosineSimilarities",
                                                 reason: "row \(i) is a zero vector, which has no direction")
        }
        var dot = 0.0
        for j in 0..<x.dim { dot += x.values[i * x.dim + j] * y.values[i * x.dim + j] }
        return Swift.min(1, Swift.max(-1, dot / (xNorms[i].squareRoot() * yNorms[i].squareRoot())))
    }
}

/// CLIPScore (Hessel, Holtzman, Forbes, Le Bras & Choi 2021, "CLIPScore: A Reference-free
/// Evaluation Metric for Image Captioning", EMNLP), as torchmetrics' `CLIPScore` computes it:
///
///     CLIPScore = mean over i of 100 · max(cos(imageᵢ, textᵢ), 0)
///
/// from precomputed, paired CLIP embeddings (row i of the image features is the image generated
/// for the prompt in row i of the text features). Negative similarities count as 0.
///
/// - Returns: the score in [0, 100].
/// - Throws: as `cosineSimilarities(_:_:)`.
public func clipScore(imageFeatures: Tensor, textFeatures: Tensor) throws -> Double {
    let cosines = try cosineSimilarities(imageFeatures, textFeatures)
    return cosines.reduce(0) { $0 + 100 * Swift.max($1, 0) } / Double(cosines.count)
}
