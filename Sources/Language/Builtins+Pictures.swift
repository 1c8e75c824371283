import Engine
import Foundation
import Graphics

extension BuiltinDomain {
    /// Plots, picture grids, PNG files, sparklines.
    static let pictures = BuiltinDomain("pictures", doc: "line plots, picture grids and PNG files; every PNG a builtin writes is listed for notebooks.", builtins: [
        Builtin("plot", "data, x: nil, y: nil, by: nil, to: nil, title: \"\", xlabel: \"\", ylabel: \"\", log_y: false, smooth: 0",
                doc: "A line plot written as a PNG (to `to`, or a fresh file in the picture folder); returns its path. `data` is a list or tensor of numbers (one curve against its index), a record of them (one curve per field), a table — then `x` names the column along the x axis, `y` one column or a list of them, and `by` a column whose values split the rows into one curve each — or a training run: one curve per metric named by the second argument or `y` (a name or a list; default every metric) against the step, unmeasured steps left out. `log_y` draws a log y axis; `smooth` in [0, 1) overlays an exponential moving average.",
                example: "plot(losses, title: \"loss\", log_y: true)\nplot(table, x: \"alpha\", y: \"fd\", by: \"kappa_max\", to: \"fd.png\")\nplot(run, [\"loss\", \"fd\"], to: \"curves.png\")") { args in
            var plot = LinePlot(title: try args.string("title"), xLabel: try args.string("xlabel"), yLabel: try args.string("ylabel"))
            if try args.bool("log_y") { plot.yScale = .log }
            let smooth = try args.number("smooth")
            guard smooth >= 0 && smooth < 1 else { throw args.mistake("smooth", "a number in [0, 1)") }
            plot.smoothing = smooth
            switch args["data"] {
            case .object(let table as Table):
                try addSeries(from: table, to: &plot, args)
            case .object(let run as RunObject):
                try addSeries(from: run, to: &plot, args)
            case .record(let r):
                for (name, value) in r.fields { plot.add(name, y: try args.numbers(of: value, "data")) }
            default:
                plot.add(try args.optionalString("y") ?? "y", y: try args.numbers("data"))
            }
            let path = try args.optionalString("to") ?? args.interpreter.newPicturePath("plot")
            try plot.savePNG(to: path)
            args.interpreter.recordPicture(path)
            return .string(path)
        },
        Builtin("grid", "images, columns: 8, scale: 0, captions: [], title: \"\", to: nil, range: \"signed\"",
                doc: "Pictures in a grid, written as a PNG; returns its path. `images` is a batch `[B, C, H, W]` or a list of `[C, H, W]` / `[H, W]` tensors; `scale` upscales each pixel (0 picks one that makes small pictures about 128 pixels wide); `captions` go under the pictures.",
                example: "grid(samples, columns: 4, captions: prompts, to: \"samples.png\")") { args in
            let columns = try args.int("columns")
            var scale = try args.int("scale")
            let captions = try args.list("captions").map(\.display)
            var images: [Image] = []
            let range = try pixelRange(args, "range")
            switch args["images"] {
            case .tensor(let t): images = try Image.images(fromBatch: t, range: range)
            case .list(let items):
                images = try items.map { item in
                    guard case .tensor(let t) = item else { throw args.mistake("images", "a batch tensor or a list of picture tensors") }
                    return try Image(tensor: t, range: range)
                }
            default: throw args.mistake("images", "a batch tensor or a list of picture tensors")
            }
            if scale == 0 { scale = autoScale(images) }
            guard columns >= 1, (1...64).contains(scale) else { throw RuntimeError("grid(): columns must be ≥ 1 and scale 1…64") }
            var grid = ImageGrid(columns: columns, scale: scale, title: try args.string("title"))
            for (i, image) in images.enumerated() { grid.add(image, caption: i < captions.count ? captions[i] : "") }
            let path = try args.optionalString("to") ?? args.interpreter.newPicturePath("grid")
            try grid.savePNG(to: path)
            args.interpreter.recordPicture(path)
            return .string(path)
        },
        Builtin("save_png", "x, path, range: \"signed\"",
                doc: "Writes a picture tensor `[C, H, W]` (C = 1, 3, 4) or `[H, W]` as a PNG at its own size; values in [-1, 1] (`range: \"signed\"`) or [0, 1] (`\"unit\"`), clamped.",
                example: "save_png(img, \"x0.png\")") { args in
            let path = try args.string("path")
            try PNG.write(try Image(tensor: try args.tensor("x"), range: try pixelRange(args, "range")), to: path)
            args.interpreter.recordPicture(path)
            return .string(path)
        },
        Builtin("load_png", "path, range: \"signed\"",
                doc: "Reads a PNG as a tensor `[C, H, W]` (C = 3, or 4 with transparency) with values in [-1, 1] (or [0, 1] for `range: \"unit\"`).",
                example: "let img = load_png(\"x0.png\")") { args in
            .tensor(try PNG.read(try args.string("path")).tensor(range: try pixelRange(args, "range")))
        },
        Builtin("sparkline", "values, metric: nil, width: 60",
                doc: "A one-line text chart of numbers (`▁▂▃▄▅▆▇█`) with their min, max and last value. `values` may be a training run: then the chart is of `metric` (default \"loss\").",
                example: "print(sparkline(losses))\nprint(sparkline(run, \"loss\"))") { args in
            let width = max(1, try args.int("width"))
            if case .object(let run as RunObject) = args["values"] {
                let metric = try args.optionalString("metric") ?? "loss"
                return .string(Sparkline.line(try run.checkedPoints(metric, builtin: "sparkline", parameter: "metric").map(\.value), width: width))
            }
            guard args.isNil("metric") else { throw RuntimeError("sparkline(): metric names a metric of a training run; values is \(args["values"].described)", parameter: "metric") }
            return .string(Sparkline.line(try args.numbers("values"), width: width))
        },
    ])
}

/// The `range:` argument of picture builtins.
func pixelRange(_ args: Arguments, _ p: String) throws -> PixelRange {
    switch try args.string(p) {
    case "signed": return .minusOneToOne
    case "unit": return .zeroToOne
    default: throw args.mistake(p, "\"signed\" ([-1, 1]) or \"unit\" ([0, 1])")
    }
}

/// Whether `show` draws a tensor: `[C, H, W]` or `[B, C, H, W]` with C = 1, 3 or 4.
func isPicture(_ t: Tensor) -> Bool {
    (t.rank == 3 && [1, 3, 4].contains(t.shape[0]) && t.shape[1] > 1 && t.shape[2] > 1)
        || (t.rank == 4 && [1, 3, 4].contains(t.shape[1]) && t.shape[2] > 1 && t.shape[3] > 1 && t.shape[0] >= 1)
}

/// A picture or a batch as a PNG, upscaled so small pictures are visible.
func writePicture(_ t: Tensor, to path: String, range: PixelRange) throws {
    let images = try Image.images(fromBatch: t, range: range)
    var grid = ImageGrid(columns: min(images.count, 8), scale: autoScale(images))
    for image in images { grid.add(image) }
    try grid.savePNG(to: path)
}

/// A whole-number scale making the largest picture about 128 pixels wide (1…8).
func autoScale(_ images: [Image]) -> Int {
    let side = images.map { max($0.width, $0.height) }.max() ?? 128
    return max(1, min(8, 128 / max(side, 1)))
}

/// Curves from a training run's history: one per metric (from `y`, else the second positional
/// argument `x`, else all), against the step.
private func addSeries(from run: RunObject, to plot: inout LinePlot, _ args: Arguments) throws {
    func names(_ p: String) throws -> [String]? {
        switch args[p] {
        case .null: return nil
        case .string(let s): return [s]
        case .list(let items):
            return try items.map { item in
                guard case .string(let s) = item else { throw args.mistake(p, "a metric name or a list of them") }
                return s
            }
        default: throw args.mistake(p, "a metric name or a list of them")
        }
    }
    let (metrics, parameter) = try names("y").map { ($0, "y") } ?? names("x").map { ($0, "x") } ?? (run.metricNames, "data")
    if plot.xLabel.isEmpty { plot.xLabel = "step" }
    if plot.yLabel.isEmpty && metrics.count == 1 { plot.yLabel = metrics[0] }
    for metric in metrics {
        let points = try run.checkedPoints(metric, builtin: "plot", parameter: parameter)
        try plot.add(metric, x: points.map { Double($0.step) }, y: points.map(\.value))
    }
}

/// Curves from a table's columns: `y` against `x`, one curve per value of `by`.
private func addSeries(from table: Table, to plot: inout LinePlot, _ args: Arguments) throws {
    guard let xName = try args.optionalString("x") else { throw RuntimeError("plot(): a table needs x: the column along the x axis", parameter: "x") }
    let yNames: [String]
    switch args["y"] {
    case .string(let s): yNames = [s]
    case .list(let items): yNames = items.map(\.display)
    default: throw args.mistake("y", "a column name or a list of them")
    }
    func column(_ name: String, _ p: String) throws -> [Value] {
        guard let c = table.column(name) else { throw RuntimeError("plot(): the table has no column '\(name)' (it has \(table.columns.joined(separator: ", ")))", parameter: p) }
        return c
    }
    let xs = try args.numbers(of: .list(try column(xName, "x")), "x")
    if plot.xLabel.isEmpty { plot.xLabel = xName }
    if plot.yLabel.isEmpty && yNames.count == 1 { plot.yLabel = yNames[0] }
    let groups: [(String, [Int])]
    if let by = try args.optionalString("by") {
        let keys = try column(by, "by").map(Table.cell)
        var order: [String] = [], members: [String: [Int]] = [:]
        for (i, k) in keys.enumerated() {
            if members[k] == nil { order.append(k) }
            members[k, default: []].append(i)
        }
        groups = order.map { ("\(by)=\($0)", members[$0] ?? []) }
    } else {
        groups = [("", Array(0..<table.rows.count))]
    }
    for yName in yNames {
        let ys = try args.numbers(of: .list(try column(yName, "y")), "y")
        for (label, rows) in groups {
            let name = [yNames.count > 1 || label.isEmpty ? yName : "", label].filter { !$0.isEmpty }.joined(separator: " ")
            try plot.add(name, x: rows.map { xs[$0] }, y: rows.map { ys[$0] })
        }
    }
}
