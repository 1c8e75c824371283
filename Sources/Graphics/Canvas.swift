/// An opaque RGB picture to draw on with anti-aliased shapes and text.
///
/// Every primitive computes a coverage in [0, 1] per pixel and blends
/// `pixel + (colour − pixel) · coverage · opacity`; a pixel fully inside a shape takes the
/// shape's colour exactly. Drawing outside the canvas or outside `clip` is discarded.
public struct Canvas {
    /// The picture drawn so far (format `.rgb`).
    public private(set) var image: Image
    /// When set, only pixels whose centre lies in this rectangle are drawn.
    public var clip: Rect?

    public var width: Int { image.width }
    public var height: Int { image.height }

    public init(width: Int, height: Int, background: Color = .white) throws {
        image = try Image(width: width, height: height, format: .rgb, color: background.withOpacity(1))
    }

    /// Fills `rect`; pixels it covers partially (fractional edges) are blended by the covered area.
    public mutating func fill(_ rect: Rect, color: Color) {
        guard rect.width > 0, rect.height > 0 else { return }
        for y in rows(rect.minY, rect.maxY) {
            let coverY = Swift.min(Double(y + 1), rect.maxY) - Swift.max(Double(y), rect.minY)
            for x in columns(rect.minX, rect.maxX) {
                let coverX = Swift.min(Double(x + 1), rect.maxX) - Swift.max(Double(x), rect.minX)
                blend(x: x, y: y, color: color, coverage: coverX * coverY)
            }
        }
    }

    /// A border of `width` pixels drawn just inside `rect` (crisp when `rect` has whole-pixel edges).
    public mutating func stroke(_ rect: Rect, color: Color, width: Double = 1) {
        let band = Swift.min(width, rect.width / 2, rect.height / 2)
        fill(Rect(x: rect.minX, y: rect.minY, width: rect.width, height: band), color: color)
        fill(Rect(x: rect.minX, y: rect.maxY - band, width: rect.width, height: band), color: color)
        fill(Rect(x: rect.minX, y: rect.minY + band, width: band, height: rect.height - 2 * band), color: color)
        fill(Rect(x: rect.maxX - band, y: rect.minY + band, width: band, height: rect.height - 2 * band), color: color)
    }

    /// A disc with an anti-aliased rim.
    public mutating func fillCircle(center: Point, radius: Double, color: Color) {
        guard radius > 0 else { return }
        for y in rows(center.y - radius - 1, center.y + radius + 1) {
            for x in columns(center.x - radius - 1, center.x + radius + 1) {
                let dx = Double(x) + 0.5 - center.x
                let dy = Double(y) + 0.5 - center.y
                let distance = (dx * dx + dy * dy).squareRoot()
                blend(x: x, y: y, color: color, coverage: radius + 0.5 - distance)
            }
        }
    }

    /// A straight line `width` pixels wide with round ends.
    public mutating func drawLine(from start: Point, to end: Point, color: Color, width: Double = 1) {
        drawPolyline([start, end], color: color, width: width)
    }

    /// Connected line segments `width` pixels wide with round joins and ends.
    ///
    /// Coverage is the distance from each pixel centre to the nearest segment
    /// (`width/2 + 0.5 − distance`, clamped), taken as the maximum over segments and blended once,
    /// so joins of a translucent line are not darker than its segments. Lines thinner than a pixel
    /// are drawn one pixel wide at proportionally lower coverage. Non-finite points are skipped,
    /// breaking the line there.
    public mutating func drawPolyline(_ points: [Point], color: Color, width: Double = 1) {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard !finite.isEmpty, width > 0 else { return }
        let half = Swift.max(width, 1) / 2
        let strength = Swift.min(width, 1)
        let reach = half + 1
        // The mask spans the line's bounding box, cut to the canvas.
        let maskColumns = columns(finite.map(\.x).min()! - reach, finite.map(\.x).max()! + reach)
        let maskRows = rows(finite.map(\.y).min()! - reach, finite.map(\.y).max()! + reach)
        guard !maskColumns.isEmpty, !maskRows.isEmpty else { return }
        let (left, right, top, bottom) = (maskColumns.lowerBound, maskColumns.upperBound, maskRows.lowerBound, maskRows.upperBound)
        let maskWidth = right - left
        var mask = [Double](repeating: 0, count: maskWidth * (bottom - top))
        let segments = points.count == 1 ? [(points[0], points[0])] : Array(zip(points, points.dropFirst()))
        for (a, b) in segments where a.x.isFinite && a.y.isFinite && b.x.isFinite && b.y.isFinite {
            for y in rows(Swift.min(a.y, b.y) - reach, Swift.max(a.y, b.y) + reach) {
                for x in columns(Swift.min(a.x, b.x) - reach, Swift.max(a.x, b.x) + reach) {
                    let distance = Canvas.distance(from: Point(x: Double(x) + 0.5, y: Double(y) + 0.5), toSegment: a, b)
                    let coverage = Swift.min(Swift.max(half + 0.5 - distance, 0), 1) * strength
                    let index = (y - top) * maskWidth + (x - left)
                    mask[index] = Swift.max(mask[index], coverage)
                }
            }
        }
        for y in top..<bottom {
            for x in left..<right where mask[(y - top) * maskWidth + (x - left)] > 0 {
                blend(x: x, y: y, color: color, coverage: mask[(y - top) * maskWidth + (x - left)])
            }
        }
    }

    /// Blends a coverage bitmap (rendered text) in `color` with its top-left corner at `(x, y)`.
    public mutating func draw(_ bitmap: TextBitmap, x: Int, y: Int, color: Color) {
        for row in 0..<bitmap.height {
            for column in 0..<bitmap.width {
                let value = bitmap.coverage[row * bitmap.width + column]
                if value > 0 { blend(x: x + column, y: y + row, color: color, coverage: Double(value) / 255) }
            }
        }
    }

    /// Draws one line of `text` placed by `alignment` around `point`; `rotated` turns it a quarter
    /// turn counter-clockwise (reading bottom to top, for a y-axis label), alignment then applying
    /// to the turned box. Returns the box the text occupies.
    @discardableResult
    public mutating func drawText(_ text: String, at point: Point, font: Font, color: Color = .ink,
                                  alignment: TextAlignment = .topLeft, rotated: Bool = false) -> Rect {
        guard point.x.isFinite, point.y.isFinite else { return Rect(x: point.x, y: point.y, width: 0, height: 0) }
        let bitmap = rotated ? font.render(text).rotatedCounterClockwise() : font.render(text)
        let width = Double(bitmap.width)
        let height = Double(bitmap.height)
        let x: Double
        switch alignment.horizontal {
        case .left: x = point.x
        case .center: x = point.x - width / 2
        case .right: x = point.x - width
        }
        let y: Double
        switch alignment.vertical {
        case .top: y = point.y
        case .center: y = point.y - height / 2
        case .bottom: y = point.y - height
        }
        // Whole pixels: shifting glyph bitmaps by fractions would blur them.
        let box = Rect(x: x.rounded(), y: y.rounded(), width: width, height: height)
        draw(bitmap, x: Int(box.x), y: Int(box.y), color: color)
        return box
    }

    /// Copies `picture` with its top-left corner at `(x, y)`, each pixel as a `scale × scale` block
    /// (nearest neighbour); an RGBA picture is composited by its alpha.
    public mutating func draw(_ picture: Image, x: Int, y: Int, scale: Int = 1) {
        let scale = Swift.max(scale, 1)
        for sourceY in 0..<picture.height {
            for sourceX in 0..<picture.width {
                let color = picture[sourceX, sourceY]
                for dy in 0..<scale {
                    for dx in 0..<scale {
                        blend(x: x + sourceX * scale + dx, y: y + sourceY * scale + dy, color: color, coverage: 1)
                    }
                }
            }
        }
    }

    /// The columns whose pixels overlap `low…high`, cut to the canvas (empty for NaN bounds).
    private func columns(_ low: Double, _ high: Double) -> Range<Int> {
        Canvas.span(low, high, limit: image.width)
    }

    private func rows(_ low: Double, _ high: Double) -> Range<Int> {
        Canvas.span(low, high, limit: image.height)
    }

    /// NOTE: clamps in Double before converting, since `Int(_:)` traps on NaN and on values
    /// beyond Int's range, which a caller's far-off or non-finite coordinates would produce.
    private static func span(_ low: Double, _ high: Double, limit: Int) -> Range<Int> {
        guard !low.isNaN, !high.isNaN else { return 0..<0 }
        let start = Int(Swift.min(Swift.max(low.rounded(.down), 0), Double(limit)))
        let end = Int(Swift.min(Swift.max(high.rounded(.up), 0), Double(limit)))
        return start..<Swift.max(start, end)
    }

    /// `pixel + (colour − pixel) · coverage · opacity`, rounded; a no-op outside canvas or clip.
    private mutating func blend(x: Int, y: Int, color: Color, coverage: Double) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        let alpha = Swift.min(Swift.max(coverage, 0), 1) * Double(color.opacity)
        guard alpha > 0 else { return }
        if let clip, !clip.contains(Point(x: Double(x) + 0.5, y: Double(y) + 0.5)) { return }
        let base = (y * image.width + x) * 3
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            pixels[base] = Canvas.mix(pixels[base], color.red, alpha)
            pixels[base + 1] = Canvas.mix(pixels[base + 1], color.green, alpha)
            pixels[base + 2] = Canvas.mix(pixels[base + 2], color.blue, alpha)
        }
    }

    private static func mix(_ below: UInt8, _ above: UInt8, _ alpha: Double) -> UInt8 {
        UInt8((Double(below) + (Double(above) - Double(below)) * alpha).rounded())
    }

    /// Distance from `point` to the segment `a`–`b`.
    private static func distance(from point: Point, toSegment a: Point, _ b: Point) -> Double {
        let dx = b.x - a.x
        let dy = b.y - a.y
        let lengthSquared = dx * dx + dy * dy
        var t = 0.0
        if lengthSquared > 0 {
            t = Swift.min(Swift.max(((point.x - a.x) * dx + (point.y - a.y) * dy) / lengthSquared, 0), 1)
        }
        let ex = point.x - (a.x + t * dx)
        let ey = point.y - (a.y + t * dy)
        return (ex * ex + ey * ey).squareRoot()
    }
}
