import Diffusion
import Engine
import Foundation
import Graphics

/// `snp world [--side 16|32] [--count N] [--split train|test] [--seed S] [--start I] --grid OUT.png`:
/// draws samples of the built-in shapes world with their captions, as a captioned image grid
/// (and prints the captions with their true attributes).
func worldCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["side", "count", "split", "seed", "start", "grid", "columns"])
    func integer(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = args.value(name) else { return fallback }
        guard let n = Int(text) else { throw UsageError(message: "--\(name) must be an integer, got '\(text)'") }
        return n
    }
    let side = try integer("side", 32), count = try integer("count", 16), seed = try integer("seed", 0)
    let start = try integer("start", 0), columns = try integer("columns", 8)
    let splitName = args.value("split") ?? "train", gridPath = args.value("grid")
    try args.finish(positionalCount: 0...0)
    guard let split = ShapesWorld.Split(rawValue: splitName) else { throw UsageError(message: "--split must be train or test, got '\(splitName)'") }
    guard seed >= 0 else { throw UsageError(message: "--seed must be ≥ 0") }
    let world = try ShapesWorld(side: side, seed: UInt64(seed))
    let batch = try world.batch(count, split: split, start: start)
    for (caption, a) in zip(batch.captions, batch.attributes) { print("\(caption.padding(toLength: 62, withPad: " ", startingAt: 0)) | \(a)") }
    if let gridPath {
        var grid = ImageGrid(columns: Swift.max(1, columns), scale: Swift.max(1, 128 / side), title: "shapes world, \(split.rawValue) split, side \(side)")
        try grid.add(batch: batch.images, captions: batch.captions)
        try grid.savePNG(to: gridPath)
        print("wrote \(gridPath)")
    }
    return ExitCode.ok
}
