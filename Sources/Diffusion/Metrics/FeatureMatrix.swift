import Engine

/// A feature matrix [rows, dim] read out of a tensor into Double, row-major, after the checks
/// every metric shares: rank 2, at least one feature, finite values.
struct FeatureMatrix {
    let rows: Int
    let dim: Int
    let values: [Double]

    /// - Parameters:
    ///   - tensor: the features, [N, D].
    ///   - name: the argument's name, for error messages.
    ///   - metric: the metric's name, for error messages.
    init(_ tensor: Tensor, name: String, metric: String) throws {
        guard tensor.rank == 2 else {
            throw DiffusionError.shapeMismatch(what: "\(metric) \(name)", shapes: [tensor.shape],
                                               reason: "features must be a matrix [N, D]")
        }
        guard tensor.shape[1] >= 1 else {
            throw DiffusionError.shapeMismatch(what: "\(metric) \(name)", shapes: [tensor.shape],
                                               reason: "features must have at least one dimension")
        }
        let scalars = tensor.scalars
        guard scalars.allSatisfy({ $0.isFinite }) else {
            throw DiffusionError.invalidArgument(name: "\(metric) \(name)", reason: "features must be finite (found NaN or infinity)")
        }
        rows = tensor.shape[0]
        dim = tensor.shape[1]
        values = scalars.map(Double.init)
    }

    /// The squared Euclidean norm of every row.
    var squaredRowNorms: [Double] {
        (0..<rows).map { i in
            var sum = 0.0
            for j in 0..<dim { let v = values[i * dim + j]; sum += v * v }
            return sum
        }
    }
}

/// Throws unless `a` and `b` have the same feature dimension.
func requireSameDimension(_ a: FeatureMatrix, _ b: FeatureMatrix, shapes: [[Int]], metric: String) throws {
    guard a.dim == b.dim else {
        throw DiffusionError.shapeMismatch(what: metric, shapes: shapes,
                                           reason: "the two feature sets must have the same dimension D")
    }
}
