import Engine
import Foundation

extension BuiltinDomain {
    /// Parameter sweeps into tables.
    static let experiments = BuiltinDomain("experiments", doc: "grids of runs collected into tables.", builtins: [
        Builtin("sweep", "f, over",
                doc: "Calls `f` with keyword arguments for every combination of the lists in `over` (the first field varies slowest) and collects a table: the arguments, then the fields of the record `f` returns (a number becomes the column `value`). A progress line per point goes to stderr. A point that fails is kept with its message in an `error` column and the sweep goes on; Ctrl-C stops it.",
                example: "let t = sweep(fn(kappa_max, alpha) { {fd: kappa_max * alpha} }, over: {kappa_max: [2, 3, 4], alpha: [0, 0.5]})\nt.save(\"sweep.csv\")") { args in
            let f = try args.function("f")
            let over = try args.record("over")
            let axes = try over.fields.map { field -> (String, [Value]) in
                switch field.value {
                case .list(let items): return (field.key, items)
                case .range(let r): return (field.key, try r.values())
                default: return (field.key, [field.value])
                }
            }
            let total = axes.reduce(1) { $0 * $1.1.count }
            let table = Table(columns: axes.map(\.0))
            var failures = 0
            for index in 0..<total {
                var point = Record(), rest = index
                for (name, values) in axes.reversed() {
                    point[name] = values[rest % values.count]
                    rest /= values.count
                }
                point = Record(axes.map { ($0.0, point[$0.0] ?? .null) })
                let label = point.fields.map { "\($0.key)=\($0.value.summary)" }.joined(separator: " ")
                let start = Date()
                var row = point
                do {
                    let result = try args.interpreter.call(f, [], keyword: point.fields.map { ($0.key, $0.value) }, at: args.location)
                    switch result {
                    case .record(let r): for (k, v) in r.fields { row[k] = scalarCell(v) }
                    case .null: break
                    default: row["value"] = scalarCell(result)
                    }
                    args.interpreter.diagnostics(String(format: "sweep %d/%d %@ ok (%.1f s)\n", index + 1, total, label, Date().timeIntervalSince(start)))
                } catch let error as LanguageError where error.kind == .runtime {
                    failures += 1
                    row["error"] = .string(error.message)
                    args.interpreter.diagnostics("sweep \(index + 1)/\(total) \(label) FAILED: \(error.message)\n")
                }
                table.append(row)
            }
            if failures > 0 { args.interpreter.diagnostics("sweep: \(failures) of \(total) points failed\n") }
            return .object(table)
        },
    ])
}

/// A result field as a table cell: one-element tensors become numbers.
private func scalarCell(_ v: Value) -> Value {
    if case .tensor(let t) = v, t.count == 1 { return .from(t.scalars[0]) }
    return v
}
