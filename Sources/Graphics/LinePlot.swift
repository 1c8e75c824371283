/// A line chart of named series: axes with 1-2-5 ticks and grid, title, axis labels, a legend,
/// optional log axes and EMA smoothing; rendered to an `Image` or a PNG file.
///
/// ```swift
/// var plot = LinePlot(title: "Training loss", xLabel: "step", yLabel: "loss")
/// plot.add("student", y: losses)
/// try plot.add("teacher", x: steps, y: teacherLosses)
/// plot.yScale = .log
/// plot.smoothing = 0.9
/// try plot.savePNG(to: "loss.png")
/// ```
///
/// Points that cannot be shown — NaN, ±inf, and values ≤ 0 on a log axis — are skipped and break
/// the line there (nothing throws). A series with no showable point is listed in the legend but
/// not drawn; a plot with no data still draws its axes. Colours cycle through `Color.tab10`
/// unless a series names its own.
public struct LinePlot {
    /// One named curve; `x` and `y` have the same count.
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// Nil: the palette colour for the series' position.
        public var color: Color?
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Picture size in pixels; 800×500 by default.
    public var width: Int
    public var height: Int
    public var xScale: AxisScale = .linear
    public var yScale: AxisScale = .linear
    /// EMA weight `w` in [0, 1): 0 draws the data as given; above 0 draws
    /// `s_t = w·s_{t−1} + (1 − w)·y_t` (debiased, as TensorBoard does) over a faint raw curve.
    public var smoothing: Double = 0
    /// The font file for all text; a missing file falls back to the built-in bitmap font.
    public var fontPath: String = Font.defaultPath
    public private(set) var series: [Series] = []

    public init(title: String = "", xLabel: String = "", yLabel: String = "", width: Int = 800, height: Int = 500) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = width
        self.height = height
    }

    /// Adds a series plotted against its index `0, 1, 2, …`.
    public mutating func add<Y: BinaryFloatingPoint>(_ name: String, y: [Y], color: Color? = nil) {
        series.append(Series(name: name, x: y.indices.map(Double.init), y: y.map(Double.init), color: color))
    }

    /// Adds a series of points `(x[i], y[i])`, drawn in the order given.
    public mutating func add<X: BinaryFloatingPoint, Y: BinaryFloatingPoint>(_ name: String, x: [X], y: [Y],
                                                                            color: Color? = nil) throws {
        guard x.count == y.count else {
            throw GraphicsError.invalidArgument(function: "LinePlot.add",
                reason: "series \"\(name)\" has \(x.count) x values and \(y.count) y values")
        }
        series.append(Series(name: name, x: x.map(Double.init), y: y.map(Double.init), color: color))
    }

    /// The colour series `index` is drawn in.
    public func color(ofSeries index: Int) -> Color {
        series[index].color ?? Color.tab10[index % Color.tab10.count]
    }

    /// The debiased exponential moving average `s_t / (1 − w^n)`, `s_t = w·s_{t−1} + (1 − w)·y_t`,
    /// `n` the number of finite values so far; non-finite values stay as they are and do not
    /// enter the average.
    public static func smoothed(_ values: [Double], weight: Double) -> [Double] {
        var average = 0.0
        var correction = 1.0
        return values.map { value in
            guard value.isFinite else { return value }
            average = weight * average + (1 - weight) * value
            correction *= weight
            return average / (1 - correction)
        }
    }

    /// Series `index`'s y values with the points the axes cannot show set to NaN.
    func showableY(ofSeries index: Int) -> [Double] {
        let item = series[index]
        return zip(item.x, item.y).map { x, y in
            xScale.coordinate(x) != nil && yScale.coordinate(y) != nil ? y : .nan
        }
    }
}
