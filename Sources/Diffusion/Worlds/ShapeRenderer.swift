import Engine
import Foundation

/// Draws one shapes-world image: the shape's coverage of each pixel is measured on a 4×4 grid of
/// sub-samples, so edges are anti-aliased, and blended over the background.
enum ShapeRenderer {
    /// Centre (in units of the image side) of each position.
    static func centre(_ p: ShapeAttributes.Position, _ size: ShapeAttributes.Size) -> (Float, Float) {
        let offset: Float = size == .large ? 0.14 : 0.24
        switch p {
        case .center: return (0.5, 0.5)
        case .left: return (0.5 - offset, 0.5)
        case .right: return (0.5 + offset, 0.5)
        case .top: return (0.5, 0.5 - offset)
        case .bottom: return (0.5, 0.5 + offset)
        }
    }

    /// Half-extent of the shape (in units of the image side).
    static func radius(_ size: ShapeAttributes.Size) -> Float { size == .large ? 0.34 : 0.20 }

    /// Whether the point (x, y), relative to the shape's centre and scaled by its radius, is inside.
    static func inside(_ shape: ShapeAttributes.Shape, _ x: Float, _ y: Float) -> Bool {
        switch shape {
        case .circle: return x * x + y * y <= 1
        case .square: return Swift.abs(x) <= 0.82 && Swift.abs(y) <= 0.82
        case .diamond: return Swift.abs(x) + Swift.abs(y) <= 1
        case .triangle:  // apex up, base at y = 0.8
            return y <= 0.8 && y >= -1 && Swift.abs(x) <= (y + 1) / 1.8 * 0.95
        case .cross: return (Swift.abs(x) <= 0.3 && Swift.abs(y) <= 0.95) || (Swift.abs(y) <= 0.3 && Swift.abs(x) <= 0.95)
        }
    }

    /// Writes [3, side, side] values in [−1, 1] for `a` into `out`, with a sub-pixel jitter of the
    /// centre (jx, jy) in pixels so that images of the same attributes differ.
    static func render(_ a: ShapeAttributes, side: Int, jitter: (Float, Float), into out: UnsafeMutablePointer<Float>) {
        let (cx, cy) = centre(a.position, a.size), r = radius(a.size) * Float(side)
        let centreX = cx * Float(side) + jitter.0, centreY = cy * Float(side) + jitter.1
        let fg = a.colour.rgb, bg = a.background.rgb
        let plane = side * side
        for py in 0..<side {
            for px in 0..<side {
                var hits = 0
                for sy in 0..<4 {
                    for sx in 0..<4 {
                        let x = (Float(px) + (Float(sx) + 0.5) / 4 - centreX) / r
                        let y = (Float(py) + (Float(sy) + 0.5) / 4 - centreY) / r
                        if inside(a.shape, x, y) { hits += 1 }
                    }
                }
                let c = Float(hits) / 16
                let i = py * side + px
                out[i] = 2 * (bg.0 + (fg.0 - bg.0) * c) - 1
                out[plane + i] = 2 * (bg.1 + (fg.1 - bg.1) * c) - 1
                out[2 * plane + i] = 2 * (bg.2 + (fg.2 - bg.2) * c) - 1
            }
        }
    }
}
