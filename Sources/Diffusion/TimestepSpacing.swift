/// How a sampler spreads its steps over the training timesteps 0..<T (diffusers'
/// `timestep_spacing`; Table 2 of Lin et al., "Common Diffusion Noise Schedules and Sample Steps
/// are Flawed"). For T = 1000 and 10 steps: linspace 999, 888, …, 0; leading 900, 800, …, 0 (plus
/// `steps_offset`); trailing 999, 899, …, 99.
public enum TimestepSpacing: String, CaseIterable, Sendable {
    case linspace, leading, trailing

    /// The spacing of a diffusers name: "linspace", "leading" or "trailing".
    public init(name: String) throws {
        guard let spacing = TimestepSpacing(rawValue: name) else {
            throw DiffusionError.unknownName(kind: "timestep spacing", name: name, expected: TimestepSpacing.allCases.map(\.rawValue))
        }
        self = spacing
    }

    /// `count` points over 0..<T, largest first, computed in float64 as diffusers' `set_timesteps`
    /// does with NumPy: linspace is not rounded (callers round or cast), leading is whole numbers
    /// plus `offset`, trailing is rounded minus one.
    func points(count: Int, trainSteps: Int, offset: Int) -> [Double] {
        switch self {
        case .linspace:
            return NumPy.linspace(0, Double(trainSteps - 1), count: count).reversed()
        case .leading:
            let ratio = trainSteps / count
            return (0..<count).reversed().map { Double($0 * ratio + offset) }
        case .trailing:
            let ratio = Double(trainSteps) / Double(count)
            return NumPy.arange(Double(trainSteps), 0, step: -ratio).map { NumPy.round($0) - 1 }
        }
    }
}

/// The NumPy float64 routines diffusers builds timesteps with, written out so the timesteps (and
/// Euler's interpolated σ) match bit for bit.
enum NumPy {
    /// `np.linspace(start, stop, count)`: i · step + start, the last point exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var points = (0..<count).map { Double($0) * step + start }
        points[count - 1] = stop
        return points
    }

    /// `np.arange(start, stop, step)` with a float step: ⌈(stop − start) / step⌉ points; NumPy
    /// fills them as start + i · δ with δ = (start + step) − start.
    static func arange(_ start: Double, _ stop: Double, step: Double) -> [Double] {
        let count = Swift.max(0, Int(((stop - start) / step).rounded(.up)))
        let delta = (start + step) - start
        return (0..<count).map { $0 == 0 ? start : ($0 == 1 ? start + step : start + Double($0) * delta) }
    }

    /// `np.round`: halves to even.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, 0..<values.count, values)` for 0 ≤ x ≤ count − 1, in float64.
    static func interp(_ x: Double, _ values: [Float]) -> Double {
        let j = Swift.min(Int(x), values.count - 1)
        if j == values.count - 1 { return Double(values[j]) }
        let slope = Double(values[j + 1]) - Double(values[j])  // over a unit step of x
        return slope * (x - Double(j)) + Double(values[j])
    }
}
