import Foundation

/// How data values along one axis map to distance: proportionally, or by their logarithm.
public enum AxisScale: Sendable {
    case linear
    /// log10; values ≤ 0 cannot be placed and are skipped like NaN.
    case log

    /// The value in the axis's straight coordinate (itself, or log10), nil when it cannot be shown.
    func coordinate(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch self {
        case .linear: return value
        case .log: return value > 0 ? log10(value) : nil
        }
    }

    /// The data value at a straight coordinate.
    func value(_ coordinate: Double) -> Double {
        switch self {
        case .linear: return coordinate
        case .log: return pow(10, coordinate)
        }
    }

    func ticks(_ range: ClosedRange<Double>, target: Int) -> Ticks {
        switch self {
        case .linear: return Ticks.linear(from: range.lowerBound, to: range.upperBound, target: target)
        case .log: return Ticks.logarithmic(from: range.lowerBound, to: range.upperBound, target: target)
        }
    }

    /// Axis limits (data units) around the coordinates `low…high` of the data, padded by
    /// `margin` of the span on each side; a single value gets a span of its own.
    func limits(low: Double?, high: Double?, margin: Double) -> ClosedRange<Double> {
        guard var low, var high else { return self == .log ? 1...10 : 0...1 }
        if high - low < 1e-12 * Swift.max(abs(low), 1) {
            let half = self == .log ? 0.5 : (low == 0 ? 1 : abs(low) * 0.1)
            low -= half
            high += half
        } else {
            let pad = (high - low) * margin
            low -= pad
            high += pad
        }
        return value(low)...value(high)
    }
}

/// Where a plot's axes sit on its picture, and how data maps to pixels there.
public struct PlotFrame: Equatable, Sendable {
    /// The axes' inner rectangle in pixels; data is drawn (and clipped) inside it.
    public let area: Rect
    /// Axis limits in data units: the data's range padded by 4 % (in log10 on a log axis).
    public let xRange: ClosedRange<Double>
    public let yRange: ClosedRange<Double>
    public let xScale: AxisScale
    public let yScale: AxisScale
    public let xTicks: Ticks
    public let yTicks: Ticks

    /// The pixel position of the data point `(x, y)`, nil when it cannot be shown (NaN, ±inf, or
    /// ≤ 0 on a log axis). Points outside the limits map outside `area`.
    public func point(x: Double, y: Double) -> Point? {
        guard let px = pixelX(x), let py = pixelY(y) else { return nil }
        return Point(x: px, y: py)
    }

    func pixelX(_ x: Double) -> Double? {
        guard let t = PlotFrame.fraction(x, in: xRange, scale: xScale) else { return nil }
        return area.minX + t * area.width
    }

    func pixelY(_ y: Double) -> Double? {
        guard let t = PlotFrame.fraction(y, in: yRange, scale: yScale) else { return nil }
        return area.maxY - t * area.height
    }

    /// How far along the axis `value` lies, 0 at the lower limit and 1 at the upper.
    private static func fraction(_ value: Double, in range: ClosedRange<Double>, scale: AxisScale) -> Double? {
        guard let c = scale.coordinate(value), let low = scale.coordinate(range.lowerBound),
              let high = scale.coordinate(range.upperBound) else { return nil }
        return (c - low) / (high - low)
    }
}
