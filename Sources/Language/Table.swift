import Engine
import Distributed
import Foundation

/// Rows of named columns, as `sweep` makes them: prints aligned, saves as CSV or Markdown,
/// plots (`plot(table, x: "alpha", y: "fd")`). Iterating gives each row as a record; a column
/// reads as `table.fd` or `table["fd"]` (a list).
public final class Table: IterableObject {
    public private(set) var columns: [String]
    public private(set) var rows: [[Value]]

    public init(columns: [String], rows: [[Value]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// Appends a row given as a record; new field names become new columns (earlier rows nil).
    public func append(_ record: Record) {
        for key in record.keys where !columns.contains(key) {
            columns.append(key)
            for i in rows.indices { rows[i].append(.null) }
        }
        rows.append(columns.map { record[$0] ?? .null })
    }

    public func column(_ name: String) -> [Value]? {
        guard let i = columns.firstIndex(of: name) else { return nil }
        return rows.map { $0[i] }
    }

    public func row(_ i: Int) -> Record { Record(Array(zip(columns, rows[i]))) }

    // MARK: - NativeObject

    public var typeName: String { "table" }
    public var summary: String { "table \(rows.count) row\(rows.count == 1 ? "" : "s") × \(columns.count) column\(columns.count == 1 ? "" : "s") (\(columns.joined(separator: ", ")))" }
    public var display: String { aligned() }
    public var memberNames: [String] { ["columns", "rows", "column", "save"] + columns }
    public var iterationCount: Int { rows.count }
    public func element(_ index: Int) -> Value { .record(row(index)) }

    public func member(_ name: String) throws -> Value? {
        switch name {
        case "columns": return .list(columns.map { .string($0) })
        case "rows": return .list(rows.indices.map { .record(row($0)) })
        case "column":
            return Builtin.method("table", "column", "name", doc: "A column's values as a list.") { args in
                let name = try args.string("name")
                guard let values = self.column(name) else { throw RuntimeError("table has no column '\(name)' (it has \(self.columns.joined(separator: ", ")))", parameter: "name") }
                return .list(values)
            }
        case "save":
            return Builtin.method("table", "save", "path", doc: "Writes the table as CSV (.csv) or Markdown (.md).") { args in
                let path = try args.string("path")
                try self.save(path)
                return .string(path)
            }
        default:
            return column(name).map { .list($0) }
        }
    }

    // MARK: - Text

    /// A cell for people: numbers to four significant digits, strings bare, nil empty.
    static func cell(_ v: Value) -> String {
        switch v {
        case .null: return ""
        case .number(let x): return x == x.rounded() && Swift.abs(x) < 1e15 ? formatNumber(x) : String(format: "%.4g", x)
        default: return v.display.replacingOccurrences(of: "\n", with: " ")
        }
    }

    /// Columns padded to their widest cell, numbers right-aligned.
    public func aligned() -> String {
        let cells = rows.map { $0.map(Table.cell) }
        let widths = columns.indices.map { c in ([columns[c]] + cells.map { $0[c] }).map(\.count).max() ?? 0 }
        func line(_ items: [String], _ row: [Value]?) -> String {
            items.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - items[c].count)
                if case .number? = row?[c] { return pad + items[c] }
                return items[c] + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(columns, nil)] + zip(cells, rows).map { line($0, $1) }).joined(separator: "\n")
    }

    /// RFC 4180 CSV; numbers in full precision.
    public func csv() -> String {
        func field(_ v: Value) -> String {
            let text: String
            switch v {
            case .null: text = ""
            case .number(let x): text = formatNumber(x)
            default: text = v.display
            }
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return ([columns.map { field(.string($0)) }] + rows.map { $0.map(field) }).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// A GitHub-flavoured Markdown table.
    public func markdown() -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| " + columns.map(escape).joined(separator: " | ") + " |"]
        lines.append("|" + columns.indices.map { c in rows.first.map { if case .number = $0[c] { return "---:" } else { return "---" } } ?? "---" }.joined(separator: "|") + "|")
        for row in rows { lines.append("| " + row.map { escape(Table.cell($0)) }.joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes CSV or Markdown, chosen by the extension.
    public func save(_ path: String) throws {
        let text: String
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": text = csv()
        case "md", "markdown": text = markdown()
        default: throw RuntimeError("table.save(): the path must end in .csv or .md, got \(quoted(path))", parameter: "path")
        }
        do {
            try Collectives.rootWrites {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                FileAccessLog.wrote(path)
            }
        } catch {
            throw RuntimeError("table.save(): cannot write \(path): \(error.localizedDescription)", parameter: "path")
        }
    }
}
