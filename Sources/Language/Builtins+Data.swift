import Diffusion
import Engine
import Foundation
import Models

extension BuiltinDomain {
    /// Datasets of one's own: captioned images from files or tensors, and an encoder trained on them.
    static let data = BuiltinDomain("data", doc: "your own captioned images (an HDF5 file, a PNG folder, or tensors) as datasets that train encoders and teachers, give distillation its prompts and evaluation its real images.", builtins: [
        Builtin("dataset", "source, captions: nil, labels: nil, held_out: 0.1, seed: 0",
                doc: "A dataset of captioned images. `source` is a path — an HDF5 file as h5py writes it (`images` [N, H, W], [N, H, W, C] or [N, C, H, W] with C = 1 or 3, uint8 or float; `captions` variable-length strings; optional integer `labels`) or a folder of PNGs with `metadata.jsonl` (Hugging Face imagefolder: `file_name`, `text`) or `captions.txt` (FILE<TAB>caption) — or a tensor of images [N, 3, S, S] (or [N, S, S] grey) in [−1, 1] with `captions` (one per image) and optional `labels` [N]. A seeded `held_out` fraction (at least one image) is set aside: evaluation measures against it, training never sees it; each pass over the training split is in its own seeded order. Members: `name`, `side`, `count`, `train_count`, `test_count`, `captions`, `prompts` (distinct training captions), `test_prompts`, `vocabulary`, `images`, `labels`; methods `sample(n, seed: 0, split: \"train\")` → {images, captions}, `eval_prompts(n)`, `save(path)` (an HDF5 file `dataset()` reads back).",
                example: "let w = shapes(size: 16)\nlet b = w.sample(64)\nlet data = dataset(b.images, captions: b.captions)\ndata.save(\"my-data.h5\")") { args in
            let heldOut = try args.number("held_out")
            guard heldOut >= 0, heldOut < 1 else { throw args.mistake("held_out", "a fraction in [0, 1)") }
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            switch args["source"] {
            case .string(let path):
                guard case .null = args["captions"], case .null = args["labels"] else {
                    throw RuntimeError("dataset(): a file or folder brings its own captions and labels; give `captions`/`labels` only with an image tensor", parameter: "captions")
                }
                return .object(DatasetObject(try CaptionedImageSet.load(path, heldOut: heldOut, seed: seed)))
            case .tensor(var images):
                if images.rank == 3 { images = try images.reshape([images.shape[0], 1, images.shape[1], images.shape[2]]) }
                if images.rank == 4, images.shape[1] == 1 { images = try Tensor.concat([images, images, images], axis: 1) }
                guard case .list(let items) = args["captions"] else {
                    throw args.mistake("captions", "a list of strings, one per image (a tensor of images needs its captions)")
                }
                let captions = try items.map { item -> String in
                    guard case .string(let s) = item else { throw args.mistake("captions", "a list of strings") }
                    return s
                }
                let labels = try args.optionalTensor("labels")
                return .object(DatasetObject(try CaptionedImageSet(images: images, captions: captions, labels: labels, heldOut: heldOut,
                                                                   seed: seed, name: "a dataset of \(images.shape.first ?? 0) images")))
            default:
                throw args.mistake("source", "a path (HDF5 file or PNG folder) or an image tensor [N, 3, S, S]")
            }
        },
        Builtin("train_clip", "data, steps: 500, batch: 64, lr: 1e-3, width: 64, seed: 0, out: nil, text: nil, tokenizer: nil",
                doc: "Trains a fresh ShapesCLIP — a transformers CLIPTextModel over a word tokenizer, and a small CNN image tower — on a dataset or the shapes world, as `snp train-clip` does, and returns the encoder: the text encoder a teacher of that data is conditioned on, and the feature space its FD, precision/recall and CLIP score are measured in. On a dataset its tokenizer knows the dataset's words (captions up to their longest) and it trains by CLIP's contrastive loss alone; on the world by the default recipe (grayscale pairs and attribute heads). With `text` — a pre-trained CLIPTextModel (`load` of a checkpoint converted with `snp convert`, or its path: an .h5 or a transformers folder) — the text tower is that model, frozen (only the text projection, the image tower and the temperature train; `width` is its hidden size), over its CLIP BPE `tokenizer` (a `tokenizer(folder)` or the folder with vocab.json and merges.txt; nil: beside a `text` path); the tokenizer and tower are saved with the encoder and with every teacher trained on it. `out` saves it there.",
                example: "let enc = train_clip(data, steps: 300)") { args in
            let data = try args.imageData("data")
            let steps = try positive(args, "steps")
            let width = try args.int("width")
            guard width >= 8, width % 4 == 0, width <= 1024 else { throw args.mistake("width", "a multiple of 4 from 8 to 1024") }
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            let batch = try batchSize(args, "batch", side: data.side)
            guard batch >= 2 else { throw args.mistake("batch", "at least 2 (a contrastive loss needs other examples)") }
            let encoder = try pretrainedEncoder(args, side: data.side, seed: seed) ?? ShapesCLIP.fresh(for: data, width: width, seed: seed)
            let progress = ProgressReporter(label: "train_clip", total: steps, write: args.interpreter.diagnostics)
            try encoder.train(data: data, steps: steps, batchSize: batch, learningRate: try positiveFloat(args, "lr"), seed: seed) { step, loss in
                progress.update(step: step + 1, metrics: ["loss": Double(loss)])
            }
            progress.finish()
            let out = try args.optionalString("out")
            if let out { try encoder.save(to: out) }
            return .object(EncoderObject(encoder, path: out))
        },
        Builtin("train_classifier", "data, steps: 500, batch: 64, lr: 2e-3, seed: 0, out: nil",
                doc: "Trains a judge, as `snp train-classifier` does: on a dataset with labels, a label classifier (the shapes world's small CNN with one head per label column, cross-entropy on the training split's labels; `classifier.accuracy` is its accuracy on the held-out images); on the shapes world, a fresh attribute classifier (the removal-rate judge). A label classifier reads label accuracy (`label_accuracy`, `evaluate(…, data:, classifier:)`, `snp eval --classifier`: each generated image should show the labels of the dataset's images with its caption), `removal_rate` of a negative label and `classify`. `out` saves it there.",
                example: "let judge = train_classifier(data, steps: 300)\njudge.accuracy") { args in
            let steps = try positive(args, "steps")
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            let lr = try positiveFloat(args, "lr")
            let out = try args.optionalString("out")
            let data = try args.imageData("data")
            let batch = try batchSize(args, "batch", side: data.side)
            let progress = ProgressReporter(label: "train_classifier", total: steps, write: args.interpreter.diagnostics)
            let report = { (step: Int, loss: Float) in progress.update(step: step + 1, metrics: ["loss": Double(loss)]) }
            guard let set = data as? CaptionedImageSet else {
                let world = data as! ShapesWorld
                let classifier = try AttributeClassifier(side: world.side, seed: seed)
                try classifier.train(world: world, steps: steps, batchSize: batch, learningRate: lr, progress: report)
                progress.finish()
                if let out { try classifier.save(to: out) }
                return .object(ClassifierObject(classifier, path: out))
            }
            let classifier = try LabelClassifier(for: set, seed: seed)
            try classifier.train(data: set, steps: steps, batchSize: batch, learningRate: lr, progress: report)
            progress.finish()
            if let out { try classifier.save(to: out) }
            return .object(LabelClassifierObject(classifier, path: out, heldOut: try classifier.heldOutAccuracy(set)))
        },
        Builtin("label_accuracy", "images, prompts, data, classifier",
                doc: "Whether each picture shows the labels of `data`'s images captioned as its prompt (`prompts`: one for all or one per image), read by a label classifier (from `train_classifier(data)` or a path): {all (every label column right), columns (the share right per column), count (the pictures whose prompt is a caption of `data` with one set of labels; the rest are left out)}.",
                example: "label_accuracy(generate(student, data.eval_prompts(64)), data.eval_prompts(64), data, judge).all") { args in
            let images = try args.images("images")
            let prompts = try args.prompts("prompts", count: images.shape[0])
            guard case .object(let d as DatasetObject) = args["data"] else { throw args.mistake("data", "a dataset with labels (from dataset)") }
            let classifier = try args.labelClassifier("classifier")
            let accuracy = try classifier.accuracy(images, prompts: prompts, data: d.data)
            return .record(accuracyRecord(accuracy))
        },
    ])
}

/// {all, columns, count} of a label accuracy.
func accuracyRecord(_ a: LabelAccuracy) -> Record {
    Record([("all", .number(a.all)), ("columns", .list(a.perColumn.map { .number($0) })), ("count", .number(Double(a.count)))])
}

extension Arguments {
    /// A label classifier: an object from `train_classifier`/`load`, or a checkpoint path.
    func labelClassifier(_ p: String) throws -> LabelClassifier {
        switch self[p] {
        case .object(let c as LabelClassifierObject): return c.classifier
        case .string(let path): return try LabelClassifier.load(path)
        default: throw mistake(p, "a label classifier (from train_classifier(data) or load) or its checkpoint path")
        }
    }
}

/// A dataset's label classifier in the language (`train_classifier(data)`, `load`).
final class LabelClassifierObject: NetworkCarrier {
    let classifier: LabelClassifier
    let path: String?
    /// Its accuracy on the held-out images of the data it was trained on (nil when loaded).
    let heldOut: LabelAccuracy?

    init(_ classifier: LabelClassifier, path: String?, heldOut: LabelAccuracy? = nil) {
        (self.classifier, self.path, self.heldOut) = (classifier, path, heldOut)
    }

    var networkObject: ModelObject { ModelObject(module: classifier) }
    var typeName: String { "label classifier" }
    var summary: String {
        "label classifier: \(classifier.columns) column(s) of \(classifier.classCounts.map(String.init).joined(separator: ", ")) classes, \(countText(classifier.parameterCount)) params, \(classifier.side)×\(classifier.side)"
            + (heldOut.map { String(format: ", held-out accuracy %.1f %%", 100 * $0.all) } ?? "")
    }
    var memberNames: [String] { ["network", "side", "path", "classes", "accuracy", "predict"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "network": return .object(networkObject)
        case "side": return .number(Double(classifier.side))
        case "path": return path.map { .string($0) } ?? .null
        case "classes": return .list(classifier.classCounts.map { .number(Double($0)) })
        case "accuracy": return heldOut.map { .record(accuracyRecord($0)) } ?? .null
        case "predict":
            return Builtin.method("label classifier", "predict", "images", doc: "The labels it reads in each picture: a list with one number per picture (one label column) or one list per picture.") { args in
                .list(try labelValues(self.classifier.predict(args.images("images"))))
            }
        default: return nil
        }
    }
}

/// Predicted label rows as values: a number per image for one column, else a list per image.
func labelValues(_ rows: [[Int]]) -> [Value] {
    rows.map { $0.count == 1 ? .number(Double($0[0])) : .list($0.map { .number(Double($0)) }) }
}

extension Arguments {
    /// A dataset or a world (both can train encoders and teachers and give real images).
    func imageData(_ p: String) throws -> any ImageTextDataset {
        switch self[p] {
        case .object(let d as DatasetObject): return d.data
        case .object(let w as WorldObject): return w.world
        default: throw mistake(p, "a dataset (from dataset) or a world (from shapes)")
        }
    }
}

/// A dataset in the language (`dataset(…)`).
final class DatasetObject: NativeObject {
    let data: CaptionedImageSet

    init(_ data: CaptionedImageSet) { self.data = data }

    var typeName: String { "dataset" }
    var summary: String {
        "dataset: \(data.name) — \(data.captions.count) images of \(data.side)×\(data.side), \(data.trainIndices.count) train / \(data.testIndices.count) held out, \(data.vocabulary.count) words" +
            (data.labels.map { ", labels \(shapeString($0.shape))" } ?? "")
    }
    var memberNames: [String] {
        ["name", "side", "count", "train_count", "test_count", "captions", "prompts", "test_prompts", "vocabulary", "images", "labels",
         "sample", "eval_prompts", "save"]
    }

    /// Distinct captions of a split, in file order.
    func prompts(_ split: DataSplit) -> [String] {
        var seen = Set<String>()
        return data.indices(split).map { data.captions[$0] }.filter { seen.insert($0).inserted }
    }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "name": return .string(data.name)
        case "side": return .number(Double(data.side))
        case "count": return .number(Double(data.captions.count))
        case "train_count": return .number(Double(data.trainIndices.count))
        case "test_count": return .number(Double(data.testIndices.count))
        case "captions": return .list(data.captions.map { .string($0) })
        case "prompts": return .list(prompts(.train).map { .string($0) })
        case "test_prompts": return .list(prompts(.test).map { .string($0) })
        case "vocabulary": return .list(data.vocabulary.map { .string($0) })
        case "images": return .tensor(data.images)
        case "labels": return data.labels.map { .tensor($0) } ?? .null
        case "sample":
            return Builtin.method("dataset", "sample", "n, seed: 0, split: \"train\"",
                                  doc: "n examples of a split, read in the split's seeded order from position seed·n (so seed 0, 1, … are consecutive batches): {images [n, 3, S, S], captions, labels (nil without)}.") { args in
                let n = try args.int("n")
                guard (1...65_536).contains(n) else { throw args.mistake("n", "an integer from 1 to 65536") }
                guard let seed = try args.optionalSeed("seed"), seed < (1 << 30) else { throw args.mistake("seed", "a non-negative integer below 2³⁰") }
                let batch = try self.data.examples(n, split: try split(args, "split"), start: Int(seed) * n)
                return .record(Record([("images", .tensor(batch.images)), ("captions", .list(batch.captions.map { .string($0) })),
                                       ("labels", batch.labels.map { .tensor($0) } ?? .null)]))
            }
        case "eval_prompts":
            return Builtin.method("dataset", "eval_prompts", "n",
                                  doc: "The captions of the n held-out images that evaluate(…, data: this) compares n generated images with: generate one image per caption.") { args in
                let n = try args.int("n")
                return .list(try self.data.evaluationImages(n, split: .test).captions.map { .string($0) })
            }
        case "save":
            return Builtin.method("dataset", "save", "path",
                                  doc: "Writes the dataset as HDF5 (float32 `images` [N, 3, S, S] in [−1, 1], `captions`, `labels`, attribute images_range = \"-1..1\"), which dataset(path) and h5py read back.") { args in
                let path = try args.string("path")
                try self.data.save(to: path)
                return .string(path)
            }
        default: return nil
        }
    }
}

/// `train_clip`'s encoder on a pre-trained text tower (`text:` a CLIPTextModel or its path,
/// `tokenizer:` a CLIP BPE tokenizer or its folder); nil without `text`.
private func pretrainedEncoder(_ args: Arguments, side: Int, seed: UInt64) throws -> ShapesCLIP? {
    let tokenizerFolder: String?, tokenizer: CLIPTokenizer?
    switch args["tokenizer"] {
    case .null: (tokenizerFolder, tokenizer) = (nil, nil)
    case .string(let folder): (tokenizerFolder, tokenizer) = (folder, nil)
    case .object(let o as TokenizerObject):
        guard case .clip(let t, let source) = o.kind else {
            throw args.mistake("tokenizer", "a CLIP BPE tokenizer (tokenizer(folder)); the shapes world's words go with the encoder's own text tower")
        }
        (tokenizerFolder, tokenizer) = (source, t)
    default: throw args.mistake("tokenizer", "a CLIP BPE tokenizer (tokenizer(folder)) or the folder with vocab.json and merges.txt")
    }
    switch args["text"] {
    case .null:
        guard tokenizerFolder == nil else { throw args.mistake("text", "a CLIPTextModel to go with the tokenizer") }
        return nil
    case .string(let path):
        let folder = try tokenizerFolder ?? ShapesCLIP.tokenizerFolder(near: path)
        return try ShapesCLIP(side: side, pretrainedText: ShapesCLIP.loadTextModel(path), tokenizer: tokenizer ?? CLIPTokenizer(folder: folder),
                              seed: seed, textSource: path, tokenizerSource: folder)
    case .object(let o as ModelObject):
        guard let model = o.module as? CLIPTextModel else {
            throw args.mistake("text", "a CLIPTextModel (load of a checkpoint converted with snp convert), got a \(o.module.typeName)")
        }
        // A copy: the encoder freezes its tower, the loaded model stays as it was.
        let copy = try CLIPTextModel(config: model.config)
        try copy.load(Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor.detach().copy()) }))
        guard let bpe = try tokenizer ?? tokenizerFolder.map({ try CLIPTokenizer(folder: $0) }) else {
            throw args.mistake("tokenizer", "the text model's CLIP BPE tokenizer (tokenizer(folder) or its folder)")
        }
        return try ShapesCLIP(side: side, pretrainedText: copy, tokenizer: bpe, seed: seed, tokenizerSource: tokenizerFolder)
    default:
        throw args.mistake("text", "a CLIPTextModel (load of a converted checkpoint) or its path")
    }
}
