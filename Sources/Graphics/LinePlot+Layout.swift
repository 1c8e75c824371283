/// The four text sizes of a plot, all from one font file.
struct PlotFonts {
    let title: Font
    let label: Font
    let tick: Font
    let legend: Font

    init(path: String) {
        title = Font(path: path, pixelSize: 16)
        label = Font(path: path, pixelSize: 13)
        tick = Font(path: path, pixelSize: 11)
        legend = Font(path: path, pixelSize: 12)
    }
}

/// Fixed spacing of a plot, in pixels.
enum PlotMetrics {
    /// Empty border around everything.
    static let outer = 12.0
    static let tickLength = 5.0
    /// Between a tick mark and its label.
    static let tickGap = 3.0
    /// Between an axis label and the tick labels, and below the title.
    static let labelGap = 8.0
    /// Fraction of the data span left empty at each end of an axis.
    static let dataMargin = 0.04
}

extension LinePlot {
    /// Where the axes will sit and how data maps to pixels, as `render()` draws it: so a caller
    /// (or a test) can find the pixel of a data point.
    public func frame() throws -> PlotFrame {
        try frame(fonts: PlotFonts(path: fontPath))
    }

    func frame(fonts: PlotFonts) throws -> PlotFrame {
        guard smoothing >= 0 && smoothing < 1 else {
            throw GraphicsError.invalidArgument(function: "LinePlot", reason: "smoothing \(smoothing) is outside [0, 1)")
        }
        try Image.checkSize(width: width, height: height, function: "LinePlot")
        var xs: [Double] = []
        var ys: [Double] = []
        for item in series {
            for (x, y) in zip(item.x, item.y) {
                if let cx = xScale.coordinate(x), let cy = yScale.coordinate(y) {
                    xs.append(cx)
                    ys.append(cy)
                }
            }
        }
        let xRange = xScale.limits(low: xs.min(), high: xs.max(), margin: PlotMetrics.dataMargin)
        let yRange = yScale.limits(low: ys.min(), high: ys.max(), margin: PlotMetrics.dataMargin)
        // About one x tick per 110 pixels and one y tick per 70: labels never crowd.
        let xTicks = xScale.ticks(xRange, target: Swift.max(2, width / 110))
        let yTicks = yScale.ticks(yRange, target: Swift.max(2, height / 70))

        let tickReach = PlotMetrics.tickLength + PlotMetrics.tickGap
        let titleHeight = title.isEmpty ? 0 : Double(fonts.title.lineHeight) + PlotMetrics.labelGap
        let yLabelWidth = yLabel.isEmpty ? 0 : Double(fonts.label.lineHeight) + PlotMetrics.labelGap
        let xLabelHeight = xLabel.isEmpty ? 0 : Double(fonts.label.lineHeight) + PlotMetrics.labelGap / 2
        let yTickWidth = Double(yTicks.labels.map { fonts.tick.measure($0).width }.max() ?? 0)
        // The last x tick label is centred on its tick and may reach past the right edge.
        let xTickOverhang = Double(xTicks.labels.last.map { fonts.tick.measure($0).width } ?? 0) / 2

        let left = (PlotMetrics.outer + yLabelWidth + yTickWidth + tickReach).rounded(.up)
        let top = (PlotMetrics.outer + titleHeight).rounded(.up)
        let right = Swift.max(PlotMetrics.outer, xTickOverhang + 2).rounded(.up)
        let bottom = (PlotMetrics.outer + xLabelHeight + Double(fonts.tick.lineHeight) + tickReach).rounded(.up)
        let area = Rect(x: left, y: top, width: Double(width) - left - right, height: Double(height) - top - bottom)
        guard area.width >= 20, area.height >= 20 else {
            throw GraphicsError.invalidArgument(function: "LinePlot",
                reason: "\(width)×\(height) leaves no room for the axes inside the labels")
        }
        return PlotFrame(area: area, xRange: xRange, yRange: yRange, xScale: xScale, yScale: yScale,
                         xTicks: xTicks, yTicks: yTicks)
    }
}
