/// Summaries of one evaluation repeated over several noise seeds: FD of 256 images moves by several
/// points with the sampling noise alone (Docs/results.md), so comparisons are made on the mean over
/// the same seeds, with the spread beside it.

/// The mean and the sample standard deviation (n − 1; 0 for one value) of a non-empty list.
public func meanSD(_ xs: [Double]) -> (mean: Double, sd: Double) {
    precondition(!xs.isEmpty, "meanSD of an empty list")
    let m = xs.reduce(0, +) / Double(xs.count)
    let v = xs.count > 1 ? xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1) : 0
    return (m, v.squareRoot())
}

/// Each metric's mean over several evaluations (`SampleEvaluator.evaluate` results); a metric that
/// is missing or NaN in any of them is NaN in the mean (unmeasured stays unmeasured).
public func meanMetrics(_ runs: [[String: Double]]) -> [String: Double] {
    guard let first = runs.first else { return [:] }
    return Dictionary(uniqueKeysWithValues: first.keys.map { key in
        (key, runs.map { $0[key] ?? .nan }.reduce(0, +) / Double(runs.count))
    })
}
