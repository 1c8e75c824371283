import Distributed
import Engine
import Foundation

extension BuiltinDomain {
    /// Parameter sweeps into tables.
    static let experiments = BuiltinDomain("experiments", doc: "grids of runs collected into tables.", builtins: [
        Builtin("sweep", "f, over",
                doc: "Calls `f` with keyword arguments for every combination of the lists in `over` (the first field varies slowest) and collects a table: the arguments, then the fields of the record `f` returns (a number becomes the column `value`). A progress line per point goes to stderr. A point that fails is kept with its message in an `error` column and the sweep goes on; Ctrl-C stops it. Under `mpirun -np N` the points are spread over the ranks (point i on rank i mod N, each alone) and every rank gets the whole table; `f` must then return numbers, strings, bools, or lists and records of them.",
                example: "let t = sweep(fn(kappa_max, alpha) { {fd: kappa_max * alpha} }, over: {kappa_max: [2, 3, 4], alpha: [0, 0.5]})\nt.save(\"sweep.csv\")") { args in
            let f = try args.function("f")
            let grid = try SweepGrid(try args.record("over"))
            let total = grid.count
            let table = Table(columns: grid.axes.map(\.name))
            // Under several ranks each point runs on one rank alone (point i on rank i mod N), and
            // every rank ends with the whole table, rows in grid order.
            let group = Collectives.current
            let place = group.size > 1 ? " (rank \(group.rank) of \(group.size))" : ""
            var rows: [Int: Record] = [:]
            var failures = 0
            for index in 0..<total where index % group.size == group.rank {
                let point = grid.point(index)
                let label = SweepGrid.label(point)
                let start = Date()
                var row = point
                do {
                    let result = try Collectives.alone {
                        try args.interpreter.call(f, [], keyword: point.fields.map { ($0.key, $0.value) }, at: args.location)
                    }
                    switch result {
                    case .record(let r): for (k, v) in r.fields { row[k] = scalarCell(v) }
                    case .null: break
                    default: row["value"] = scalarCell(result)
                    }
                    args.interpreter.diagnostics(String(format: "sweep %d/%d %@ ok (%.1f s)%@\n", index + 1, total, label, Date().timeIntervalSince(start), place))
                } catch let error as LanguageError where error.kind == .runtime {
                    failures += 1
                    row["error"] = .string(error.message)
                    args.interpreter.diagnostics("sweep \(index + 1)/\(total) \(label) FAILED: \(error.message)\(place)\n")
                }
                rows[index] = row
            }
            if group.size > 1 {
                rows = try gatherSweepRows(rows, over: group)
                failures = rows.values.filter { $0["error"] != nil }.count
            }
            for index in 0..<total { table.append(rows[index]!) }
            if failures > 0 { args.interpreter.diagnostics("sweep: \(failures) of \(total) points failed\n") }
            return .object(table)
        },
        Builtin("result", "fields",
                doc: "Records what the script found: the fields of `fields` (numbers, strings, bools, nil, one-element tensors, lists and records of these) are merged into the script's result record, which `snp batch` shows in its report and `job.json`. Under a batch (or whenever the environment variable `SNP_RESULT` names a file) the whole record is rewritten there as JSON at every call; otherwise it is only kept. Returns the merged record.",
                example: "result({fd: 12.5, kappa: 3})\nresult({note: \"converged\"})") { args in
            let fields = try args.record("fields")
            var merged = args.interpreter.result
            for (key, value) in fields.fields {
                merged[key] = try resultCell(value, path: key)
            }
            if let path = ProcessInfo.processInfo.environment["SNP_RESULT"], !path.isEmpty {
                let data = try JSONSerialization.data(withJSONObject: jsonObject(.record(merged)), options: [.prettyPrinted, .sortedKeys])
                do {
                    try Collectives.rootWrites { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
                } catch {
                    throw RuntimeError("result(): cannot write \(path) (SNP_RESULT): \(error.localizedDescription)")
                }
            }
            args.interpreter.result = merged
            return .record(merged)
        },
    ])
}

/// A result field checked and simplified: one-element tensors become numbers; anything without
/// a JSON form is an error naming the field.
private func resultCell(_ v: Value, path: String) throws -> Value {
    switch v {
    case .number, .string, .bool, .null: return v
    case .tensor(let t) where t.count == 1: return .from(t.scalars[0])
    case .list(let items): return .list(try items.enumerated().map { try resultCell($0.element, path: "\(path)[\($0.offset)]") })
    case .record(let r): return .record(Record(try r.fields.map { ($0.key, try resultCell($0.value, path: "\(path).\($0.key)")) }))
    default:
        throw RuntimeError("result(): field '\(path)' is a \(v.typeName); give numbers, strings, bools or lists and records of them (a tensor with one element, or item(t))", parameter: "fields")
    }
}

/// The JSON form of a checked result value (non-finite numbers as the strings "nan", "inf", "-inf").
private func jsonObject(_ v: Value) -> Any {
    switch v {
    case .number(let x): return x.isFinite ? x as Any : formatNumber(x) as Any
    case .string(let s): return s
    case .bool(let b): return b
    case .list(let items): return items.map(jsonObject)
    case .record(let r): return Dictionary(uniqueKeysWithValues: r.fields.map { ($0.key, jsonObject($0.value)) })
    default: return NSNull()
    }
}

/// A result field as a table cell: one-element tensors become numbers.
private func scalarCell(_ v: Value) -> Value {
    if case .tensor(let t) = v, t.count == 1 { return .from(t.scalars[0]) }
    return v
}

/// Every rank's sweep rows (by point index) on every rank. Cells cross as tagged JSON: numbers
/// exactly (NaN and infinities too), strings, bools, nil, lists and records of them.
private func gatherSweepRows(_ rows: [Int: Record], over group: any Collective) throws -> [Int: Record] {
    func encode(_ v: Value, _ path: String) throws -> Any {
        switch v {
        case .number(let x): return ["n", "\(x)"]
        case .string(let text): return ["s", text]
        case .bool(let b): return ["b", b ? "1" : "0"]
        case .null: return ["z"]
        case .list(let items): return ["l", try items.enumerated().map { try encode($0.element, "\(path)[\($0.offset)]") }]
        case .record(let r): return ["r", try r.fields.map { [$0.key, try encode($0.value, "\(path).\($0.key)")] }]
        default:
            throw RuntimeError("sweep over several ranks: field '\(path)' is a \(v.typeName), which cannot travel between ranks; return numbers, strings, bools, or lists and records of them", parameter: "f")
        }
    }
    func decode(_ any: Any) throws -> Value {
        guard let tagged = any as? [Any], let tag = tagged.first as? String else { throw RuntimeError("sweep: a rank sent a malformed row") }
        switch tag {
        case "n": return .number(Double(tagged[1] as! String) ?? .nan)
        case "s": return .string(tagged[1] as! String)
        case "b": return .bool(tagged[1] as? String == "1")
        case "l": return .list(try (tagged[1] as! [Any]).map(decode))
        case "r": return .record(Record(try (tagged[1] as! [[Any]]).map { ($0[0] as! String, try decode($0[1])) }))
        default: return .null
        }
    }
    let mine: [[Any]] = try rows.keys.sorted().map { index in
        ["\(index)", try rows[index]!.fields.map { [$0.key, try encode($0.value, $0.key)] }]
    }
    let parts = try group.allGather(Array(try JSONSerialization.data(withJSONObject: mine)))
    var all: [Int: Record] = [:]
    for part in parts {
        guard let entries = try JSONSerialization.jsonObject(with: Data(part)) as? [[Any]] else { throw RuntimeError("sweep: a rank sent a malformed table") }
        for entry in entries {
            let fields = try (entry[1] as! [[Any]]).map { ($0[0] as! String, try decode($0[1])) }
            all[Int(entry[0] as! String)!] = Record(fields)
        }
    }
    return all
}
