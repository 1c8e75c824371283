import Foundation

/// The grid of a sweep: a record whose fields are lists or ranges (one axis each) or single
/// values (an axis of one). Points are numbered so the first field varies slowest, as nested
/// loops written in the record's order would visit them. `sweep(f, over:)` walks it in one
/// process; `snp batch --sweep` makes one job per point.
public struct SweepGrid {
    public private(set) var axes: [(name: String, values: [Value])]

    public init(_ over: Record) throws {
        axes = try over.fields.map { field in
            switch field.value {
            case .list(let items): return (field.key, items)
            case .range(let r): return (field.key, try r.values())
            default: return (field.key, [field.value])
            }
        }
    }

    /// Evaluates `text` (a record expression such as `{kappa_max: [2, 3, 4], alpha: 0...2}`) in
    /// a fresh interpreter.
    public init(expression text: String, name: String) throws {
        guard case .record(let record)? = try Interpreter().run(text, name: name) else {
            throw LanguageError(.runtime, "a sweep grid must be a record of lists, e.g. {alpha: [0, 0.5]}, got \(text.trimmingCharacters(in: .whitespaces))", at: nil)
        }
        try self.init(record)
    }

    /// This grid with the axes `other` names given `other`'s values (`snp batch --grid`): a sweep
    /// narrowed or widened without editing its script. Every axis of `other` must be one of this
    /// grid's; the order of the axes (and so the job order) stays this grid's.
    public func replacing(_ other: SweepGrid) throws -> SweepGrid {
        let known = Set(axes.map(\.name))
        if let unknown = other.axes.first(where: { !known.contains($0.name) }) {
            throw LanguageError(.runtime, "the grid has no axis '\(unknown.name)' to replace (its axes: \(axes.map(\.name).joined(separator: ", ")))", at: nil)
        }
        var replaced = self
        replaced.axes = axes.map { axis in other.axes.first(where: { $0.name == axis.name }).map { (axis.name, $0.values) } ?? axis }
        return replaced
    }

    /// The number of points.
    public var count: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// Point `index` (0 ..< count): every axis's value, in the record's order.
    public func point(_ index: Int) -> Record {
        var values = [Value](repeating: .null, count: axes.count), rest = index
        for (axis, entry) in axes.enumerated().reversed() {
            values[axis] = entry.values[rest % entry.values.count]
            rest /= entry.values.count
        }
        return Record(zip(axes.map(\.name), values).map { ($0, $1) })
    }

    /// `name=value …`, as progress lines and job names show a point.
    public static func label(_ point: Record) -> String {
        point.fields.map { "\($0.key)=\($0.value.summary)" }.joined(separator: " ")
    }

    /// `value` as `.snp` source that evaluates back to it (numbers, strings, bools, nil and lists
    /// of them); nil for values that have no literal (tensors, functions, objects).
    public static func literal(_ value: Value) -> String? {
        switch value {
        case .number(let x): return x.isFinite ? formatNumber(x) : nil
        case .string, .bool, .null: return value.summary
        case .list(let items):
            let parts = items.compactMap(literal)
            return parts.count == items.count ? "[" + parts.joined(separator: ", ") + "]" : nil
        case .record(let r):
            let parts = r.fields.compactMap { field in literal(field.value).map { "\(field.key): \($0)" } }
            return parts.count == r.count ? "{" + parts.joined(separator: ", ") + "}" : nil
        default: return nil
        }
    }
}
