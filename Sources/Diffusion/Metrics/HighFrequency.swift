import Engine

/// The mean absolute discrete Laplacian of images [N, C, H, W]: per pixel of the interior,
/// |4·x(i, j) − x(i−1, j) − x(i+1, j) − x(i, j−1) − x(i, j+1)|, averaged over pixels, channels and
/// images. Flat regions give 0 and per-pixel noise of standard deviation s gives about 3.6·s
/// (√20·s·√(2/π)), so it makes "static" a number to put beside FD: real images, teacher samples
/// and one-step students are compared on it.
public func meanAbsoluteLaplacian(_ images: Tensor) throws -> Double {
    guard images.rank == 4, images.shape[2] >= 3, images.shape[3] >= 3 else {
        throw DiffusionError.shapeMismatch(what: "mean |Laplacian|", shapes: [images.shape], reason: "needs images [N, C, H, W] with H, W ≥ 3")
    }
    let planes = images.shape[0] * images.shape[1], h = images.shape[2], w = images.shape[3]
    let x = images.scalars
    var total = 0.0
    for p in 0..<planes {
        let base = p * h * w
        for i in 1..<(h - 1) {
            for j in 1..<(w - 1) {
                let c = base + i * w + j
                total += Double(abs(4 * x[c] - x[c - w] - x[c + w] - x[c - 1] - x[c + 1]))
            }
        }
    }
    return total / Double(planes * (h - 2) * (w - 2))
}
