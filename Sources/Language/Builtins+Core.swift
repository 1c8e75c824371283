import Engine
import Foundation

extension BuiltinDomain {
    /// print, help, type and conversions, assertions, timing, the random seed.
    static let core = BuiltinDomain("core", doc: "printing, help, types and conversions, assertions, timing, the random seed.", builtins: [
        Builtin("print", "sep: \" \"", variadic: "values",
                doc: "Writes the values on one line, separated by `sep`: strings as they are, everything else as its one-line summary (a tensor its shape and a few numbers).",
                example: "print(\"loss\", 0.25, zeros([2]))   # loss 0.25 tensor[2] [0, 0]") { args in
            let values = try args.list("values")
            args.interpreter.print(values.map(\.display).joined(separator: try args.string("sep")))
            return .null
        },
        Builtin("show", "x, range: \"signed\"",
                doc: "Shows a value in full. A picture tensor — `[C, H, W]` or a batch `[B, C, H, W]` with C = 1, 3 or 4 — is written as a PNG (values in [-1, 1] for `range: \"signed\"`, [0, 1] for `\"unit\"`) and its path printed; notebooks embed it. Other values print in their long form (a tensor's numbers, a model's layer summary).",
                example: "show(randn([3, 16, 16], seed: 0))   # picture: /tmp/…/show-1.png") { args in
            let value = args["x"]
            if case .tensor(let t) = value, isPicture(t) {
                let path = try args.interpreter.newPicturePath("show")
                try writePicture(t, to: path, range: try pixelRange(args, "range"))
                args.interpreter.recordPicture(path)
                args.interpreter.print("picture: \(path)")
                return .string(path)
            }
            args.interpreter.print(longForm(value))
            return .null
        },
        Builtin("help", "name: nil",
                doc: "Without an argument, lists every builtin by domain. With a builtin's name (or the builtin itself) prints its signature, doc and example; with another value, its type and members.",
                example: "help(\"sum\")\nhelp(randn)") { args in
            let registry = args.interpreter.registry
            let value = args["name"]
            let text: String
            switch value {
            case .null: text = registry.overview()
            case .string(let name):
                guard let help = registry.help(name) else {
                    let distances = registry.names.map { ($0, editDistance($0, name)) }.filter { $0.1 <= 2 }
                    let best = distances.map(\.1).min()
                    let close = distances.filter { $0.1 == best }.map(\.0)
                    throw RuntimeError("help(): no builtin called '\(name)'" + (close.isEmpty ? "" : "; did you mean \(close.map { "'\($0)'" }.joined(separator: " or "))?"))
                }
                text = help
            case .function(let f):
                switch f.kind {
                case .builtin(let b), .bound(let b, _): text = registry.help(b.name) ?? f.signature
                case .user: text = f.signature
                }
            case .object(let o):
                // Summaries that already start with the type ("teacher: …", "table: …") keep it once.
                let summary = o.summary.hasPrefix(o.typeName + ":") || o.summary.hasPrefix(o.typeName + " ") ? o.summary : "\(o.typeName): \(o.summary)"
                text = "\(summary)\nmembers: \(o.memberNames.joined(separator: ", "))"
            default: text = "\(value.typeName): \(value.summary)"
            }
            args.interpreter.print(text)
            return .null
        },
        Builtin("type", "x", doc: "The type of a value as a string: number, string, bool, nil, list, record, range, function, tensor, or a native object's type (model, table, …).",
                example: "type(1e-4)   # \"number\"") { args in .string(args["x"].typeName) },
        Builtin("sort", "x, key: nil, reverse: false", method: true,
                doc: "A sorted copy of a list of numbers or of strings (stable), ascending unless `reverse`. `key` is a function of one item whose result (a number or a string) is compared instead.",
                example: "sort([3, 1, 2])   # [1, 2, 3]\nsort(runs, key: fn(r) { r.last(\"fd\") })") { args in
            let items = try args.list("x")
            var keys = items
            switch args["key"] {
            case .function(let f): keys = try items.map { try args.interpreter.call(f, [$0], at: args.location) }
            case .null: break
            default: throw args.mistake("key", "a function or nil")
            }
            let numbers = keys.compactMap { key -> Double? in if case .number(let x) = key { return x } else { return nil } }
            let strings = keys.compactMap { key -> String? in if case .string(let t) = key { return t } else { return nil } }
            let less: (Int, Int) -> Bool
            if numbers.count == keys.count {
                less = { numbers[$0] < numbers[$1] }
            } else if strings.count == keys.count {
                less = { strings[$0] < strings[$1] }
            } else {
                let kinds = Set(keys.map(\.typeName)).sorted().joined(separator: ", ")
                throw RuntimeError("sort(): the items (or their keys) must be all numbers or all strings, got \(kinds)", parameter: "x")
            }
            let reverse = try args.bool("reverse")
            // Ties keep their order (stable), also when reversed.
            let order = keys.indices.sorted { a, b in
                let (x, y) = reverse ? (b, a) : (a, b)
                return less(x, y) || (!less(y, x) && a < b)
            }
            return .list(order.map { items[$0] })
        },
        Builtin("len", "x", method: true,
                doc: "The number of items: of a list, string, record (fields), range, table (rows), or a tensor's first axis.",
                example: "len([1, 2, 3])   # 3") { args in
            switch args["x"] {
            case .list(let items): return .number(Double(items.count))
            case .string(let s): return .number(Double(s.count))
            case .record(let r): return .number(Double(r.count))
            case .range(let r): return .number(Double(r.count))
            case .tensor(let t):
                guard t.rank > 0 else { throw RuntimeError("len(): a 0-d tensor has no length; use item(x)", parameter: "x") }
                return .number(Double(t.shape[0]))
            case .object(let o as IterableObject): return .number(Double(o.iterationCount))
            default: throw args.mistake("x", "a list, string, record, range, table or tensor")
            }
        },
        Builtin("range", "start, end: nil, step: 1",
                doc: "Integers from `start` up to, not including, `end`, by `step`; with one argument, from 0 to it. The same as `start..<end` when the step is 1.",
                example: "for i in range(0, 10, 2) { print(i) }") { args in
            var start = try args.int("start")
            var end = 0
            if let e = try args.optionalInt("end") { end = e } else { (start, end) = (0, start) }
            let step = try args.int("step")
            guard step != 0 else { throw RuntimeError("range(): step cannot be 0", parameter: "step") }
            return .range(RangeValue(start: start, end: end, step: step))
        },
        Builtin("keys", "x", method: true, doc: "The field names of a record, in order, as a list of strings.",
                example: "keys({lr: 1e-4, steps: 400})   # [\"lr\", \"steps\"]") { args in
            .list(try args.record("x").keys.map { .string($0) })
        },
        Builtin("values", "x", method: true, doc: "The field values of a record, in order, as a list.",
                example: "values({lr: 1e-4, steps: 400})   # [0.0001, 400]") { args in
            .list(try args.record("x").fields.map(\.value))
        },
        Builtin("str", "x", method: true, doc: "A value as text, as `print` would write it (strings unchanged).",
                example: "str(3) + \" steps\"   # \"3 steps\"") { args in .string(args["x"].display) },
        Builtin("num", "x",
                doc: "A value as a number: a numeric string parsed, true/false as 1/0, a one-element tensor's value.",
                example: "num(\"1e-4\") * 2   # 0.0002") { args in
            switch args["x"] {
            case .number(let x): return .number(x)
            case .bool(let b): return .number(b ? 1 : 0)
            case .string(let s):
                guard let x = Double(s.trimmingCharacters(in: .whitespaces)) else { throw RuntimeError("num(): \(quoted(s)) is not a number", parameter: "x") }
                return .number(x)
            case .tensor(let t) where t.count == 1: return .number(Double(t.scalars[0]))
            default: throw args.mistake("x", "a string, bool, number or one-element tensor")
            }
        },
        Builtin("assert", "condition, message: \"assertion failed\"",
                doc: "Stops the program with `message` unless `condition` is true.",
                example: "assert(len(xs) == 3, message: \"expected three\")") { args in
            let ok: Bool
            switch args["condition"] {
            case .bool(let b): ok = b
            case .tensor(let t) where t.count == 1: ok = t.scalars[0] != 0
            default: throw args.mistake("condition", "true or false")
            }
            if !ok { throw RuntimeError(try args.string("message")) }
            return .null
        },
        Builtin("time", "f: nil",
                doc: "Without an argument, a clock in seconds (for differences). With a function, calls it, prints how long it took and returns its value.",
                example: "let y = time(fn() { randn([512, 512]) @ randn([512, 512]) })") { args in
            guard !args.isNil("f") else { return .number(Date().timeIntervalSinceReferenceDate) }
            let f = try args.function("f")
            let start = DispatchTime.now().uptimeNanoseconds
            let value = try args.interpreter.call(f, [], at: args.location)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            args.interpreter.print("time: " + (seconds < 1 ? String(format: "%.2f ms", seconds * 1000) : String(format: "%.3f s", seconds)))
            return value
        },
        Builtin("seed", "n",
                doc: "Seeds the shared random generator (Philox) that `randn` and `rand` use when given no `seed:`, so a script's random draws repeat.",
                example: "seed(0)\nlet a = randn([2])") { args in
            guard let n = try args.optionalSeed("n") else { throw args.mistake("n", "a non-negative integer") }
            RandomGenerator.shared.manualSeed(n)
            return .null
        },
    ])
}

/// A value in its long form: every number of a (small) tensor, a native object's display.
func longForm(_ value: Value) -> String {
    switch value {
    case .tensor(let t): return t.description
    case .list(let items): return items.map(\.summary).joined(separator: "\n")
    case .record(let r): return r.fields.map { "\($0.key): \($0.value.summary)" }.joined(separator: "\n")
    case .object(let model as ModelObject): return model.module.summary(depth: 2)
    case .object(let carrier as any NetworkCarrier): return carrier.summary + "\n" + carrier.networkObject.module.summary(depth: 2)
    default: return value.display
    }
}
