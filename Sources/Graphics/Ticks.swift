import Foundation

/// Tick positions and their labels for one plot axis, at "nice" values: multiples of
/// 1, 2 or 5 × 10^k on a linear axis, powers of ten (and their 2 and 5 multiples when the range is
/// short) on a log axis.
public struct Ticks: Equatable, Sendable {
    /// Tick positions in data units, ascending.
    public let values: [Double]
    /// One label per value: fixed-point with as many decimals as the step needs, or `2e-5`
    /// style when the values are very large or very small.
    public let labels: [String]

    /// Ticks for a linear axis from `lower` to `upper`: every multiple of `niceStep` inside the
    /// range, about `target` of them (never more).
    public static func linear(from lower: Double, to upper: Double, target: Int = 6) -> Ticks {
        guard lower.isFinite, upper.isFinite, upper > lower else { return Ticks(values: [], labels: []) }
        let step = niceStep(span: upper - lower, target: target)
        let first = Int((lower / step - 1e-9).rounded(.up))
        let last = Int((upper / step + 1e-9).rounded(.down))
        let values = first <= last ? (first...last).map { Double($0) * step } : []
        return Ticks(values: values, labels: linearLabels(values, step: step))
    }

    /// Ticks for a log axis from `lower` to `upper` (both > 0): the powers of ten inside, every
    /// k-th one when there are more than `target`; with 1, 2 and 5 times each power when the range
    /// spans fewer than three of them; linear ticks when even those give fewer than three.
    public static func logarithmic(from lower: Double, to upper: Double, target: Int = 6) -> Ticks {
        guard lower > 0, upper.isFinite, upper > lower else { return Ticks(values: [], labels: []) }
        let firstPower = Int((log10(lower) - 1e-9).rounded(.up))
        let lastPower = Int((log10(upper) + 1e-9).rounded(.down))
        let powerCount = lastPower - firstPower + 1
        if powerCount >= 3 {
            let stride = Swift.max(1, Int((Double(powerCount) / Double(Swift.max(target, 1))).rounded(.up)))
            let start = Int((Double(firstPower) / Double(stride)).rounded(.up)) * stride
            let powers = Array(Swift.stride(from: start, through: lastPower, by: stride))
            return Ticks(values: powers.map { pow(10, Double($0)) }, labels: powers.map { logLabel(mantissa: 1, power: $0) })
        }
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
        return values.count >= 3 ? Ticks(values: values, labels: labels) : linear(from: lower, to: upper, target: target)
    }

    /// The step 1, 2 or 5 × 10^k closest above `span / target`.
    public static func niceStep(span: Double, target: Int) -> Double {
        let raw = span / Double(Swift.max(target, 1))
        let magnitude = pow(10, log10(raw).rounded(.down))
        let fraction = raw / magnitude
        let multiple: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return multiple * magnitude
    }

    /// Labels for multiples of `step`: fixed-point with the decimals the step needs, or mantissa
    /// and exponent (`1.5e6`, `2e-5`) when the largest magnitude is ≥ 1e5 or below 1e-3.
    static func linearLabels(_ values: [Double], step: Double) -> [String] {
        let stepPower = Int(log10(step).rounded(.down))
        let largest = values.map(abs).max() ?? 0
        let scientific = largest >= 1e5 || (largest > 0 && largest < 1e-3)
        return values.map { value in
            guard abs(value) >= step * 1e-6 else { return "0" }
            if scientific {
                let power = Int(log10(abs(value)).rounded(.down))
                let decimals = Swift.min(Swift.max(power - stepPower, 0), 6)
                return String(format: "%.\(decimals)fe%d", value / pow(10, Double(power)), power)
            }
            return String(format: "%.\(Swift.max(-stepPower, 0))f", value)
        }
    }

    /// `mantissa × 10^power` as `0.05`, `200` or `5e-7`.
    static func logLabel(mantissa: Int, power: Int) -> String {
        guard (-3...4).contains(power) else { return "\(mantissa)e\(power)" }
        return String(format: "%.\(Swift.max(-power, 0))f", Double(mantissa) * pow(10, Double(power)))
    }
}
