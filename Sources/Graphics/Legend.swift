/// A plot legend: a swatch line and the name of each series, in a white box inside the axes.
struct Legend {
    let entries: [(name: String, color: Color)]
    let font: Font

    static let padding = 6.0
    static let swatchLength = 18.0
    static let swatchGap = 6.0
    static let rowGap = 2.0
    /// Distance from the axes' edges.
    static let inset = 8.0

    var size: (width: Double, height: Double) {
        let nameWidth = Double(entries.map { font.measure($0.name).width }.max() ?? 0)
        let rows = Double(entries.count)
        return (2 * Legend.padding + Legend.swatchLength + Legend.swatchGap + nameWidth,
                2 * Legend.padding + rows * Double(font.lineHeight) + (rows - 1) * Legend.rowGap)
    }

    /// The inside corner of `area` whose legend box covers the fewest of `ink` (points sampled
    /// along the drawn lines); top-right wins ties, then top-left, bottom-right, bottom-left.
    func place(in area: Rect, avoiding ink: [Point]) -> Rect {
        let (width, height) = size
        let left = area.minX + Legend.inset
        let right = area.maxX - Legend.inset - width
        let top = area.minY + Legend.inset
        let bottom = area.maxY - Legend.inset - height
        let corners = [(right, top), (left, top), (right, bottom), (left, bottom)].map {
            Rect(x: $0.0.rounded(), y: $0.1.rounded(), width: width.rounded(.up), height: height.rounded(.up))
        }
        let covered = corners.map { box in ink.reduce(0) { $0 + (box.contains($1) ? 1 : 0) } }
        return corners[covered.firstIndex(of: covered.min()!)!]
    }

    func draw(on canvas: inout Canvas, in box: Rect) {
        canvas.fill(box, color: Color.white.withOpacity(0.9))
        canvas.stroke(box, color: Color(hex: 0xcccccc))
        for (row, entry) in entries.enumerated() {
            let top = box.minY + Legend.padding + Double(row) * (Double(font.lineHeight) + Legend.rowGap)
            let middle = top + Double(font.lineHeight) / 2
            let swatchStart = box.minX + Legend.padding
            canvas.drawLine(from: Point(x: swatchStart, y: middle), to: Point(x: swatchStart + Legend.swatchLength, y: middle),
                            color: entry.color, width: 2)
            canvas.drawText(entry.name, at: Point(x: swatchStart + Legend.swatchLength + Legend.swatchGap, y: top),
                            font: font, color: .ink)
        }
    }

    /// Points every `spacing` pixels along a polyline (breaks at non-finite points), for `place`.
    static func samples(along points: [Point], spacing: Double = 3) -> [Point] {
        var out = points.filter { $0.x.isFinite && $0.y.isFinite }
        for (a, b) in zip(points, points.dropFirst()) where a.x.isFinite && a.y.isFinite && b.x.isFinite && b.y.isFinite {
            let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
            let steps = Int(length / spacing)
            guard steps > 1 else { continue }
            for step in 1..<steps {
                let t = Double(step) / Double(steps)
                out.append(Point(x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t))
            }
        }
        return out
    }
}
