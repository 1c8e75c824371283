extension LinePlot {
    /// Draws the plot: grid, curves (clipped to the axes), frame, ticks, labels, title, legend.
    public func render() throws -> Image {
        let fonts = PlotFonts(path: fontPath)
        let frame = try frame(fonts: fonts)
        var canvas = try Canvas(width: width, height: height)
        drawGrid(on: &canvas, frame: frame)

        canvas.clip = frame.area
        var ink: [Point] = []
        for index in series.indices {
            let color = color(ofSeries: index)
            let raw = showableY(ofSeries: index)
            let rawPoints = pixels(x: series[index].x, y: raw, frame: frame)
            if smoothing > 0 {
                drawCurve(rawPoints, on: &canvas, color: color.withOpacity(0.25), width: 1.25)
                let smooth = pixels(x: series[index].x, y: LinePlot.smoothed(raw, weight: smoothing), frame: frame)
                drawCurve(smooth, on: &canvas, color: color, width: 2)
                ink += Legend.samples(along: smooth)
            } else {
                drawCurve(rawPoints, on: &canvas, color: color, width: 2)
            }
            ink += Legend.samples(along: rawPoints)
        }
        canvas.clip = nil

        drawAxes(on: &canvas, frame: frame, fonts: fonts)
        let entries = series.indices.map { (name: series[$0].name, color: color(ofSeries: $0)) }
        if entries.contains(where: { !$0.name.isEmpty }) {
            let legend = Legend(entries: entries, font: fonts.legend)
            legend.draw(on: &canvas, in: legend.place(in: frame.area, avoiding: ink))
        }
        return canvas.image
    }

    /// Renders and writes the plot as a PNG (atomically, see `PNG.write`).
    public func savePNG(to path: String) throws {
        try PNG.write(render(), to: path)
    }

    /// Pixel positions; points the axes cannot show become NaN, which breaks the line.
    private func pixels(x: [Double], y: [Double], frame: PlotFrame) -> [Point] {
        zip(x, y).map { frame.point(x: $0, y: $1) ?? Point(x: .nan, y: .nan) }
    }

    /// The polyline, with a dot for each point that has no showable neighbour (else invisible).
    private func drawCurve(_ points: [Point], on canvas: inout Canvas, color: Color, width: Double) {
        canvas.drawPolyline(points, color: color, width: width)
        let shown = points.map { $0.x.isFinite && $0.y.isFinite }
        for index in points.indices where shown[index] {
            let before = index > 0 && shown[index - 1]
            let after = index + 1 < points.count && shown[index + 1]
            if !before && !after { canvas.fillCircle(center: points[index], radius: width * 1.25, color: color) }
        }
    }

    private func drawGrid(on canvas: inout Canvas, frame: PlotFrame) {
        let area = frame.area
        for value in frame.xTicks.values {
            guard let x = frame.pixelX(value), x >= area.minX, x <= area.maxX else { continue }
            canvas.fill(Rect(x: x.rounded(.down), y: area.minY, width: 1, height: area.height), color: .lightGray)
        }
        for value in frame.yTicks.values {
            guard let y = frame.pixelY(value), y >= area.minY, y <= area.maxY else { continue }
            canvas.fill(Rect(x: area.minX, y: y.rounded(.down), width: area.width, height: 1), color: .lightGray)
        }
    }

    /// Frame one pixel outside the data area, tick marks and labels outside it, axis labels, title.
    private func drawAxes(on canvas: inout Canvas, frame: PlotFrame, fonts: PlotFonts) {
        let area = frame.area
        let axisColor = Color(hex: 0x4d4d4d)
        canvas.stroke(Rect(x: area.minX - 1, y: area.minY - 1, width: area.width + 2, height: area.height + 2),
                      color: axisColor)
        let markEnd = PlotMetrics.tickLength + 1
        for (value, label) in zip(frame.xTicks.values, frame.xTicks.labels) {
            guard let x = frame.pixelX(value), x >= area.minX, x <= area.maxX else { continue }
            let column = x.rounded(.down)
            canvas.fill(Rect(x: column, y: area.maxY + 1, width: 1, height: PlotMetrics.tickLength), color: axisColor)
            canvas.drawText(label, at: Point(x: column + 0.5, y: area.maxY + markEnd + PlotMetrics.tickGap),
                            font: fonts.tick, alignment: .topCenter)
        }
        for (value, label) in zip(frame.yTicks.values, frame.yTicks.labels) {
            guard let y = frame.pixelY(value), y >= area.minY, y <= area.maxY else { continue }
            let row = y.rounded(.down)
            canvas.fill(Rect(x: area.minX - markEnd, y: row, width: PlotMetrics.tickLength, height: 1), color: axisColor)
            canvas.drawText(label, at: Point(x: area.minX - markEnd - PlotMetrics.tickGap, y: row + 0.5),
                            font: fonts.tick, alignment: .centerRight)
        }
        if !title.isEmpty {
            canvas.drawText(title, at: Point(x: area.center.x, y: PlotMetrics.outer), font: fonts.title,
                            alignment: .topCenter)
        }
        if !xLabel.isEmpty {
            canvas.drawText(xLabel, at: Point(x: area.center.x, y: Double(height) - PlotMetrics.outer), font: fonts.label,
                            alignment: TextAlignment(horizontal: .center, vertical: .bottom))
        }
        if !yLabel.isEmpty {
            canvas.drawText(yLabel, at: Point(x: PlotMetrics.outer, y: area.center.y), font: fonts.label,
                            alignment: .centerLeft, rotated: true)
        }
    }
}
