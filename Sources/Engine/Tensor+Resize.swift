// Bicubic resampling of images, as PyTorch's `F.interpolate(mode="bicubic")` computes it.

extension Tensor {
    /// Bicubic resampling of images [B, C, H, W] to [B, C, height, width], the same as
    /// `torch.nn.functional.interpolate(x, size=(height, width), mode="bicubic",
    /// align_corners=False)` (no antialiasing: downsampling samples the cubic, it does not
    /// average over the footprint, as PyTorch's default `antialias=False`).
    ///
    /// Output pixel i of an axis of n → m pixels reads the source position
    /// s = (n / m)(i + ½) − ½, with the four taps ⌊s⌋ − 1 … ⌊s⌋ + 2 clamped to the edge (edge pixels
    /// repeat) and the weights of Keys' cubic convolution with a = −0.75 at t = s − ⌊s⌋; the
    /// scale and positions are computed in Float, as PyTorch does for float32. Values are not
    /// clamped (the cubic can overshoot the input's range). The resampling is separable and
    /// linear, so it is done as two matrix products, `R · x · Cᵀ` with R [height, H] and
    /// C [width, W] the interpolation weights: differentiable through `matmul`.
    public func resizeBicubic(height: Int, width: Int) throws -> Tensor {
        guard rank == 4 else {
            throw EngineError.shapeMismatch(op: "resizeBicubic", shapes: [shape], reason: "input must be [B, C, H, W]")
        }
        guard shape[2] >= 1, shape[3] >= 1 else {
            throw EngineError.invalidArgument(op: "resizeBicubic", reason: "the input must have at least one row and column, got \(shape[2])×\(shape[3])")
        }
        guard height >= 1, width >= 1 else {
            throw EngineError.invalidArgument(op: "resizeBicubic", reason: "the output size must be at least 1×1, got \(height)×\(width)")
        }
        if height == shape[2] && width == shape[3] { return self }
        let rows = try Tensor.bicubicWeights(from: shape[2], to: height)   // [height, H]
        let columns = try Tensor.bicubicWeights(from: shape[3], to: width)  // [width, W]
        // [B, C, H, W] @ Cᵀ → [B, C, H, width] (one sgemm), then R @ that per plane.
        let across = try Tensor.matmul(self, columns, transposeB: true)
        return try Tensor.matmul(rows, across)
    }

    /// The [m, n] matrix that resamples n values to m by PyTorch's bicubic interpolation
    /// (`align_corners=False`): row i holds the four tap weights of output i, taps clamped to
    /// the edge (a clamped tap adds its weight to the edge value's).
    public static func bicubicWeights(from n: Int, to m: Int) throws -> Tensor {
        let a: Float = -0.75
        // Keys' kernel: |x| ≤ 1 and 1 < |x| < 2 (PyTorch's cubic_convolution1 / 2).
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        let scale = Float(n) / Float(m)
        var weights = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            let source = scale * (Float(i) + 0.5) - 0.5
            let floorIndex = Int(source.rounded(.down))
            let index = Swift.min(floorIndex, n - 1)
            let t = Swift.min(Swift.max(source - Float(index), 0), 1)
            let rest = 1 - t
            let coefficients = [far(t + 1), near(t), near(rest), far(rest + 1)]
            for (k, c) in coefficients.enumerated() {
                let tap = Swift.max(0, Swift.min(index - 1 + k, n - 1))
                weights[i * n + tap] += c
            }
        }
        return try Tensor(weights, shape: [m, n])
    }
}
