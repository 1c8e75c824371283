import Engine
import Foundation

extension Value {
    /// One line that says what the value is: strings quoted, tensors as their shape and a few
    /// numbers, long lists and records elided.
    public var summary: String {
        switch self {
        case .number(let x): return formatNumber(x)
        case .string(let s): return quoted(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "nil"
        case .list(let items):
            let shown = items.prefix(8).map(\.summary)
            return "[" + shown.joined(separator: ", ") + (items.count > 8 ? ", … (\(items.count) items)" : "") + "]"
        case .record(let r):
            let shown = r.fields.prefix(8).map { "\($0.key): \($0.value.summary)" }
            return "{" + shown.joined(separator: ", ") + (r.count > 8 ? ", … (\(r.count) fields)" : "") + "}"
        case .range(let r): return r.description
        case .function(let f): return "<\(f.signature)>"
        case .tensor(let t): return tensorSummary(t)
        case .object(let o): return o.summary
        }
    }

    /// What `print` writes and `"{x}"` inserts: strings as they are, objects in their full form,
    /// everything else as its summary.
    public var display: String {
        switch self {
        case .string(let s): return s
        case .object(let o): return o.display
        default: return summary
        }
    }
}

/// `"a\"b"` with the escapes the lexer reads.
func quoted(_ s: String) -> String {
    var out = "\""
    for c in s {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "{": out += "\\{"
        case "}": out += "\\}"
        default: out.append(c)
        }
    }
    return out + "\""
}

/// `%.4g`, the precision of tensor summaries.
func shortNumber(_ x: Float) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return String(format: "%.4g", Double(x))
}

/// `tensor[2,3] [[1, 2, 3], [4, 5, 6]]` for small tensors; for larger ones the shape, the first
/// and last numbers, and mean / std / min / max.
func tensorSummary(_ t: Tensor) -> String {
    var text = "tensor\(shapeString(t.shape))"
    if t.requiresGrad { text += " requires_grad" }
    let values = t.scalars
    if values.count <= 12 {
        return text + " " + nested(values[...], shape: t.shape[...])
    }
    let head = values.prefix(3).map(shortNumber), tail = values.suffix(2).map(shortNumber)
    let finite = values.filter(\.isFinite)
    let mean = finite.isEmpty ? Double.nan : finite.reduce(0.0) { $0 + Double($1) } / Double(finite.count)
    let variance = finite.isEmpty ? Double.nan : finite.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(finite.count)
    text += " [" + head.joined(separator: ", ") + ", …, " + tail.joined(separator: ", ") + "]"
    text += " mean \(shortNumber(Float(mean))) std \(shortNumber(Float(variance.squareRoot())))"
    if let lo = finite.min(), let hi = finite.max() { text += " min \(shortNumber(lo)) max \(shortNumber(hi))" }
    if finite.count < values.count { text += " (\(values.count - finite.count) non-finite)" }
    return text
}

private func nested(_ values: ArraySlice<Float>, shape: ArraySlice<Int>) -> String {
    guard let n = shape.first else { return values.first.map(shortNumber) ?? "" }
    let inner = shape.dropFirst().reduce(1, *)
    let parts = (0..<n).map { i -> String in
        let start = values.startIndex + i * inner
        return nested(values[start..<(start + inner)], shape: shape.dropFirst())
    }
    return "[" + parts.joined(separator: ", ") + "]"
}

/// Numbers as `.snp` shows them, honouring a `{x:.3f}` style format when one is given:
/// `[width][.precision](f|e|g|d|%)`.
func formatted(_ value: Value, format: String?) throws -> String {
    guard let format, !format.isEmpty else { return value.display }
    var spec = Substring(format)
    var kind: Character = "g"
    if let last = spec.last, "fegd%".contains(last) { kind = last; spec = spec.dropLast() }
    let parts = spec.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
          let width = parts.first.map({ $0.isEmpty ? 0 : Int($0) ?? -1 }), width >= 0, width <= 200 else {
        throw RuntimeError("bad format '\(format)'; use e.g. {x:.3f}, {x:8.2e}, {x:d}, {x:.1%}")
    }
    let precision = parts.count == 2 ? Int(parts[1]) ?? -1 : -1
    guard precision <= 50 else { throw RuntimeError("bad format '\(format)': precision above 50") }
    let number: Double
    switch value {
    case .number(let x): number = x
    case .tensor(let t) where t.count == 1: number = Double(t.scalars[0])
    default:
        let text = value.display
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
    let text: String
    switch kind {
    case "d":
        text = number.isFinite && Swift.abs(number) < 9.2e18 ? String(Int64(number.rounded())) : formatNumber(number)
    case "%":
        text = String(format: "%.\(precision < 0 ? 1 : precision)f%%", number * 100)
    default:
        text = String(format: "%\(precision < 0 ? "" : ".\(precision)")\(kind)", number)
    }
    return String(repeating: " ", count: max(0, width - text.count)) + text
}
