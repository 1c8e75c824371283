import Foundation

/// A one-line terminal chart of a series with the eight block characters `▁▂▃▄▅▆▇█`.
///
/// ```swift
/// Sparkline.line([0, 1, 2, 3, 4, 5, 6, 7])   // "▁▂▃▄▅▆▇█ min 0 max 7 last 7"
/// ```
public enum Sparkline {
    /// The bar for each level, lowest first.
    public static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The bars alone, at most `width` characters: a longer series is split into `width` buckets
    /// of consecutive values, each drawn at its mean. The lowest value maps to `▁`, the highest to
    /// `█`, linearly between; a constant series is all `▁`; a bucket with no finite value is a
    /// space.
    public static func bars<T: BinaryFloatingPoint>(_ values: [T], width: Int = 60) -> String {
        let buckets = bucketMeans(values.map(Double.init), width: Swift.max(width, 1))
        let finite = buckets.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else {
            return String(repeating: " ", count: buckets.count)
        }
        return String(buckets.map { value -> Character in
            guard value.isFinite else { return " " }
            guard high > low else { return levels[0] }
            let level = Int(((value - low) / (high - low) * Double(levels.count - 1)).rounded())
            return levels[Swift.min(Swift.max(level, 0), levels.count - 1)]
        })
    }

    /// The bars followed by ` min A max B last C` over the finite values (numbers as `%.4g`);
    /// `(no data)` for an empty series, the bars and `(no finite values)` when all are NaN or ±inf.
    public static func line<T: BinaryFloatingPoint>(_ values: [T], width: Int = 60) -> String {
        guard !values.isEmpty else { return "(no data)" }
        let finite = values.map(Double.init).filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), let last = finite.last else {
            return bars(values, width: width) + " (no finite values)"
        }
        return bars(values, width: width) + " min \(format(low)) max \(format(high)) last \(format(last))"
    }

    /// The mean of the finite values of each of `min(width, count)` consecutive buckets
    /// (NaN where a bucket has none).
    static func bucketMeans(_ values: [Double], width: Int) -> [Double] {
        guard values.count > width else { return values }
        return (0..<width).map { bucket in
            let chunk = values[(bucket * values.count / width)..<((bucket + 1) * values.count / width)].filter(\.isFinite)
            return chunk.isEmpty ? .nan : chunk.reduce(0, +) / Double(chunk.count)
        }
    }

    static func format(_ value: Double) -> String {
        String(format: "%.4g", value)
    }
}
