import Foundation

/// Tick positions and their labels for one plot axis, at "nice" values: multiples of
/// 1, 2 or 5 × 10^k on a linear axis, 1, 2 and 5 times powers of ten (or the powers alone, when
/// the range is long) on a log axis.
public struct Ticks: Equatable, Sendable {
    /// Tick positions in data units, ascending.
    public let values: [Double]
    /// One label per value: fixed-point with as many decimals as the step needs, or `2e-5`
    /// style when the values are very large or very small.
    public let labels: [String]

    /// Ticks for a linear axis from `lower` to `upper`: every multiple of `niceStep` inside the
    /// range, about `target` of them.
    public static func linear(from lower: Double, to upper: Double, target: Int = 6) -> Ticks {
        guard lower.isFinite, upper.isFinite, upper > lower else { return Ticks(values: [], labels: []) }
        let step = niceStep(span: upper - lower, target: target)
        let first = Int((lower / step - 1e-9).rounded(.up))
        let last = Int((upper / step + 1e-9).rounded(.down))
        let values = first <= last ? (first...last).map { Double($0) * step } : []
        return Ticks(values: values, labels: linearLabels(values, step: step))
    }

    /// Ticks for a log axis from `lower` to `upper` (both > 0): 1, 2 and 5 times each power of
    /// ten inside the range when that gives 3 to `target + 1` ticks; the powers of ten alone (every
    /// k-th one, at most `target + 1` of them) when it gives more; linear ticks when it gives fewer.
    public static func logarithmic(from lower: Double, to upper: Double, target: Int = 6) -> Ticks {
        guard lower > 0, upper.isFinite, upper > lower else { return Ticks(values: [], labels: []) }
        let firstPower = Int((log10(lower) - 1e-9).rounded(.up))
        let lastPower = Int((log10(upper) + 1e-9).rounded(.down))
        var values: [Double] = []
        var labels: [String] = []
        for power in (firstPower - 1)...(lastPower + 1) {
            for mantissa in [1, 2, 5] {
                let value = Double(mantissa) * pow(10, Double(power))
                if value >= lower * (1 - 1e-9) && value <= upper * (1 + 1e-9) {
                    values.append(value)
                    labels.append(logLabel(mantissa: mantissa, power: power))
                }
            }
        }
        if values.count < 3 { return linear(from: lower, to: upper, target: target) }
        if values.count <= target + 1 { return Ticks(values: values, labels: labels) }
        let powerCount = lastPower - firstPower + 1
        let stride = Swift.max(1, Int((Double(powerCount) / Double(Swift.max(target, 1) + 1)).rounded(.up)))
        let start = Int((Double(firstPower) / Double(stride)).rounded(.up)) * stride
        let powers = Array(Swift.stride(from: start, through: lastPower, by: stride))
        return Ticks(values: powers.map { pow(10, Double($0)) }, labels: powers.map { logLabel(mantissa: 1, power: $0) })
    }

    /// The step 1, 2 or 5 × 10^k that cuts `span` into the number of intervals closest to
    /// `target` (the larger step on a tie).
    public static func niceStep(span: Double, target: Int) -> Double {
        let goal = Double(Swift.max(target, 1))
        let magnitude = pow(10, log10(span / goal).rounded(.down))
        let candidates = [1.0, 2, 5, 10].map { $0 * magnitude }
        // Reversed, so that `min` keeps the larger step when two are equally close.
        return candidates.reversed().min { abs(span / $0 - goal) < abs(span / $1 - goal) }!
    }

    /// Labels for multiples of `step`: fixed-point, all with the decimals the step needs
    /// (`0.0 0.5 1.0`, `0 20000 40000`), or mantissa and exponent with no trailing zeros
    /// (`5e6 1e7 1.5e7`) when the largest magnitude is ≥ 1e6 or below 1e-3.
    static func linearLabels(_ values: [Double], step: Double) -> [String] {
        let stepPower = Int(log10(step).rounded(.down))
        let largest = values.map(abs).max() ?? 0
        let scientific = largest >= 1e6 || (largest > 0 && largest < 1e-3)
        return values.map { tick in
            // Snap the float fuzz of `i · step` (and a negative zero) before printing.
            let value = abs(tick) < step * 1e-6 ? 0 : tick
            guard scientific else { return String(format: "%.\(Swift.max(-stepPower, 0))f", value) }
            guard value != 0 else { return "0" }
            let power = Int(log10(abs(value)).rounded(.down))
            let decimals = Swift.min(Swift.max(power - stepPower, 0), 6)
            var mantissa = String(format: "%.\(decimals)f", value / pow(10, Double(power)))
            if mantissa.contains(".") {
                while mantissa.hasSuffix("0") { mantissa.removeLast() }
                if mantissa.hasSuffix(".") { mantissa.removeLast() }
            }
            return "\(mantissa)e\(power)"
        }
    }

    /// `mantissa × 10^power` as `0.05`, `200` or `5e-7`.
    static func logLabel(mantissa: Int, power: Int) -> String {
        guard (-3...4).contains(power) else { return "\(mantissa)e\(power)" }
        return String(format: "%.\(Swift.max(-power, 0))f", Double(mantissa) * pow(10, Double(power)))
    }
}
