import Engine
import Foundation

/// diffusers `get_2d_sincos_pos_embed` for a `gridHeight × gridWidth` grid of patches, as in
/// MAE: for the patch at row i, column j, sin/cos features of the column coordinate in the first
/// half and of the row coordinate in the second (coordinates are index · base/grid / scale).
/// Computed in double, as diffusers does, then rounded to float. → [gridHeight·gridWidth, dim].
public func sincosPositionEmbedding(dim: Int, gridHeight: Int, gridWidth: Int, baseSize: Int, interpolationScale: Double) -> Tensor {
    let quarter = dim / 4
    let omega = (0..<quarter).map { 1 / Foundation.pow(10000, Double($0) / (Double(dim / 2) / 2)) }
    func features(_ position: Double) -> [Double] {
        omega.map { Foundation.sin(position * $0) } + omega.map { Foundation.cos(position * $0) }
    }
    var values: [Float] = []
    values.reserveCapacity(gridHeight * gridWidth * dim)
    for i in 0..<gridHeight {
        for j in 0..<gridWidth {
            // Same float32 arithmetic as torch.arange(n) / (n / base) / scale.
            let column = Double(Float(j) / (Float(gridWidth) / Float(baseSize)) / Float(interpolationScale))
            let row = Double(Float(i) / (Float(gridHeight) / Float(baseSize)) / Float(interpolationScale))
            values += (features(column) + features(row)).map { Float($0) }
        }
    }
    return try! Tensor(values, shape: [gridHeight * gridWidth, dim])
}

/// diffusers `PatchEmbed` (sincos positions, no layer norm): a patch×patch stride-patch conv
/// (`proj`), flattened to tokens, plus fixed position features (not a parameter: diffusers keeps
/// them as a non-persistent buffer). x: [B, C, H, W] → [B, (H/p)(W/p), dim].
public final class PatchEmbed: Module {
    let proj: Conv2d
    public let patchSize: Int, dim: Int, baseSize: Int, interpolationScale: Double
    private var cachedGrid: (Int, Int)?
    private var cachedPositions: Tensor?

    public init(sampleSize: Int, patchSize: Int, inChannels: Int, dim: Int, interpolationScale: Double) {
        proj = Conv2d(inChannels, dim, kernelSize: patchSize, stride: patchSize)
        (self.patchSize, self.dim, self.interpolationScale) = (patchSize, dim, interpolationScale)
        baseSize = sampleSize / patchSize
        super.init()
        child("proj", proj)
    }

    func positions(gridHeight: Int, gridWidth: Int) -> Tensor {
        if let cachedGrid, cachedGrid == (gridHeight, gridWidth), let cachedPositions { return cachedPositions }
        let p = sincosPositionEmbedding(dim: dim, gridHeight: gridHeight, gridWidth: gridWidth, baseSize: baseSize, interpolationScale: interpolationScale)
        (cachedGrid, cachedPositions) = ((gridHeight, gridWidth), p)
        return p
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let (gh, gw) = (x.shape[2] / patchSize, x.shape[3] / patchSize)
        let tokens = try proj(x).flatten(from: 2).transpose(1, 2)
        return try tokens + positions(gridHeight: gh, gridWidth: gw)
    }
}
