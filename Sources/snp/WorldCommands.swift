import Checkpoints
import Diffusion
import Engine
import Foundation
import Graphics

/// `snp world [--side 16|32] [--count N] [--split train|test] [--seed S] [--start I] [--grid OUT.png]
/// [--out REAL.h5]`: draws samples of the built-in shapes world with their captions, as a captioned
/// image grid and/or an image-set file (`images`, `prompts`), and prints the captions with their
/// true attributes.
func worldCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["side", "count", "split", "seed", "start", "grid", "columns", "out"])
    func integer(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = args.value(name) else { return fallback }
        guard let n = Int(text) else { throw UsageError(message: "--\(name) must be an integer, got '\(text)'") }
        return n
    }
    let side = try integer("side", 32), count = try integer("count", 16), seed = try integer("seed", 0)
    let start = try integer("start", 0), columns = try integer("columns", 8)
    let splitName = args.value("split") ?? "train", gridPath = args.value("grid"), outPath = args.value("out")
    try args.finish(positionalCount: 0...0)
    guard let split = ShapesWorld.Split(rawValue: splitName) else { throw UsageError(message: "--split must be train or test, got '\(splitName)'") }
    guard seed >= 0 else { throw UsageError(message: "--seed must be ≥ 0") }
    let world = try ShapesWorld(side: side, seed: UInt64(seed))
    let batch = try world.batch(count, split: split, start: start)
    if count <= 64 || outPath == nil {
        for (caption, a) in zip(batch.captions, batch.attributes) { print("\(caption.padding(toLength: 62, withPad: " ", startingAt: 0)) | \(a)") }
    }
    if let outPath {
        try ImageSetFile.save(images: batch.images, prompts: batch.captions,
                              attributes: ["split": .string(split.rawValue), "seed": .int(Int64(seed)), "start": .int(Int64(start)),
                                           "attributes": .string(batch.attributes.map(\.description).joined(separator: "\n"))], to: outPath)
        print("wrote \(outPath) (images [\(count), 3, \(side), \(side)] in [−1, 1], prompts)")
    }
    if let gridPath {
        var grid = ImageGrid(columns: Swift.max(1, columns), scale: Swift.max(1, 128 / side), title: "shapes world, \(split.rawValue) split, side \(side)")
        try grid.add(batch: batch.images, captions: batch.captions)
        try grid.savePNG(to: gridPath)
        print("wrote \(gridPath)")
    }
    return ExitCode.ok
}

/// The options both world-model training commands take:
/// `[--side 16] [--steps 1000] [--batch 64] [--seed 0] --out PATH.h5`.
struct WorldTrainingOptions {
    let side: Int, steps: Int, batch: Int, seed: Int, out: String
    /// ShapesCLIP's recipe (`--attribute-weight W`, `--contrastive-only`); only train-clip takes them.
    var recipe = ShapesCLIPRecipe()
    /// `--data PATH …` (train-clip and train-classifier take it).
    var data: DataArguments?
    /// Whether `--side` was given.
    let sideGiven: Bool
    /// `--text-encoder PATH [--tokenizer DIR]` (train-clip): a pre-trained CLIPTextModel (converted
    /// .h5 or transformers folder) and its CLIP BPE tokenizer folder, the text tower kept frozen.
    var textEncoder: String?, tokenizer: String?

    init(_ words: [String], recipeOptions: Bool = false, dataOptions: Bool = false) throws {
        var args = try Arguments(words, valued: Set(["side", "steps", "batch", "seed", "out"])
            .union(recipeOptions ? Set(["attribute-weight", "text-encoder", "tokenizer"]) : []).union(recipeOptions || dataOptions ? DataArguments.valued : []))
        sideGiven = args.value("side") != nil
        if recipeOptions || dataOptions { data = try DataArguments(&args) }
        if recipeOptions {
            (textEncoder, tokenizer) = (args.value("text-encoder"), args.value("tokenizer"))
            if tokenizer != nil, textEncoder == nil { throw UsageError(message: "--tokenizer goes with --text-encoder PATH (a converted CLIPTextModel)") }
            if args.flag("contrastive-only") { recipe = .contrastiveOnly }
            if let w = try args.float("attribute-weight") {
                guard w >= 0 else { throw UsageError(message: "--attribute-weight must be ≥ 0, got \(w)") }
                recipe.attributeWeight = w
            }
        }
        func integer(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = args.value(name) else { return fallback }
            guard let n = Int(text), n >= 0 else { throw UsageError(message: "--\(name) must be a non-negative integer, got '\(text)'") }
            return n
        }
        (side, steps, batch, seed) = (try integer("side", 16), try integer("steps", 1000), try integer("batch", 64), try integer("seed", 0))
        out = try args.required("out")
        try args.finish(positionalCount: 0...0)
        guard steps >= 1, batch >= 8 else { throw UsageError(message: "--steps must be ≥ 1 and --batch ≥ 8") }
    }

    /// The encoder on the `--text-encoder` tower (nil without one), its text side printed.
    func encoder(side: Int) throws -> ShapesCLIP? {
        guard let textEncoder else { return nil }
        let clip = try ShapesCLIP.pretrained(side: side, textEncoder: textEncoder, tokenizer: tokenizer, seed: UInt64(seed))
        print("text encoder: \(clip.textDescription)")
        return clip
    }

    /// Runs `train` with progress on stderr (steps/s, ETA, loss), then prints the time and where
    /// the model was saved.
    func run(_ train: ((Int, Float) -> Void) throws -> Void, save: () throws -> Void) throws {
        let start = Date()
        let progress = ProgressReporter(label: "train", total: steps, plainInterval: 5)
        try train { step, loss in progress.update(step: step + 1, metrics: ["loss": Double(loss)]) }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        try save()
        print("trained \(steps) steps of \(batch) in \(String(format: "%.0f", seconds)) s; saved \(out)")
    }
}

/// A Markdown table of per-attribute accuracies, one column per measurement.
func printAccuracyTable(_ columns: [(title: String, values: [ShapeAttributes.Kind: Double])]) {
    print("| attribute | " + columns.map(\.title).joined(separator: " | ") + " |")
    print("|---|" + String(repeating: "---:|", count: columns.count))
    for kind in ShapeAttributes.Kind.allCases {
        print("| \(kind.rawValue) | " + columns.map { String(format: "%.2f %%", 100 * $0.values[kind]!) }.joined(separator: " | ") + " |")
    }
}

/// `snp train-classifier [options]`: trains the shapes world's attribute classifier (the
/// removal-rate judge), then reports its accuracy per attribute on unseen samples (all
/// combinations, and the held-out pairs alone); with `--data`, a label classifier on a labelled
/// dataset's training split, reporting its accuracy on the held-out images.
func trainClassifierCommand(_ words: [String]) throws -> Int32 {
    let o = try WorldTrainingOptions(words, dataOptions: true)
    if let data = o.data, data.path != nil {
        // The user's own labelled images: one head per label column, trained on the training
        // split, measured on the held-out images.
        guard let set = try data.dataset(side: o.sideGiven ? o.side : nil) as? CaptionedImageSet else { return ExitCode.usage }
        let classifier = try LabelClassifier(for: set, seed: UInt64(o.seed))
        try o.run({ try classifier.train(data: set, steps: o.steps, batchSize: o.batch, progress: $0) }, save: { try classifier.save(to: o.out) })
        let accuracy = try classifier.heldOutAccuracy(set)
        print(String(format: "label accuracy on the %d held-out images: %.1f %% (all columns right)", accuracy.count, 100 * accuracy.all)
              + (accuracy.perColumn.count > 1 ? "; per column " + accuracy.perColumn.map { String(format: "%.1f %%", 100 * $0) }.joined(separator: ", ") : ""))
        return ExitCode.ok
    }
    let world = try ShapesWorld(side: o.side, seed: UInt64(o.seed))
    let classifier = try AttributeClassifier(side: o.side, seed: UInt64(o.seed))
    try o.run({ try classifier.train(world: world, steps: o.steps, batchSize: o.batch, progress: $0) }, save: { try classifier.save(to: o.out) })
    printAccuracyTable([("unseen samples, all combinations (4,000)", try classifier.accuracy(world: world, count: 4000)),
                        ("held-out shape–colour pairs (2,000)", try classifier.accuracy(world: world, count: 2000, split: .test))])
    return ExitCode.ok
}

/// `snp train-clip [options] [--attribute-weight 1] [--contrastive-only] [--text-encoder PATH
/// [--tokenizer DIR]]`: trains the shapes world's contrastive encoder (the teachers' text encoder;
/// the image tower gives CLIP score and FD features) by `ShapesCLIPRecipe`, then reports
/// zero-shot accuracy. With `--text-encoder` the text tower is that pre-trained CLIPTextModel,
/// frozen, over its CLIP BPE tokenizer.
func trainCLIPCommand(_ words: [String]) throws -> Int32 {
    let o = try WorldTrainingOptions(words, recipeOptions: true)
    if let data = o.data, data.path != nil {
        // The user's own images: contrastive training on the training split, a vocabulary of its
        // captions' words; held-out image → caption retrieval instead of the world's zero-shot table.
        let set = try data.dataset(side: o.sideGiven ? o.side : nil)
        let clip = try o.encoder(side: set.side) ?? ShapesCLIP.fresh(for: set, seed: UInt64(o.seed))
        try o.run({ try clip.train(data: set, steps: o.steps, batchSize: o.batch, recipe: .contrastiveOnly, seed: UInt64(o.seed), progress: $0) },
                  save: { try clip.save(to: o.out) })
        for split in DataSplit.allCases {
            let n = Swift.min(512, set.count(of: split) ?? 512)
            guard n >= 2 else { continue }
            let examples = try set.examples(n, split: split, start: 0)
            print(String(format: "image → caption retrieval, top-1 among the %@ split's %d distinct captions (%d images): %.1f %%",
                         split.rawValue, Set(examples.captions).count, n, 100 * (try clip.retrievalAccuracy(examples))))
        }
        return ExitCode.ok
    }
    let world = try ShapesWorld(side: o.side, seed: UInt64(o.seed))
    let clip = try o.encoder(side: o.side) ?? ShapesCLIP(side: o.side, seed: UInt64(o.seed))
    try o.run({ try clip.train(world: world, steps: o.steps, batchSize: o.batch, recipe: o.recipe, seed: UInt64(o.seed), progress: $0) },
              save: { try clip.save(to: o.out) })
    printAccuracyTable([("zero-shot, unseen training-split samples (2,000)", try clip.zeroShotAccuracy(world: world, count: 2000, split: .train)),
                        ("zero-shot, held-out pairs and template (2,000)", try clip.zeroShotAccuracy(world: world, count: 2000, split: .test))])
    return ExitCode.ok
}
