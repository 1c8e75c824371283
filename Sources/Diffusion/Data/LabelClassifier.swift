import Checkpoints
import Engine
import Foundation
import Models

/// Integer labels of a dataset as rows: one row of K labels per image ([N] labels are K = 1).
extension CaptionedImageSet {
    /// Row i: image i's labels, or nil when the set has none.
    public var labelRows: [[Int]]? {
        guard let labels else { return nil }
        let k = labels.rank == 1 ? 1 : labels.shape.dropFirst().reduce(1, *)
        let values = labels.scalars.map { Int($0) }
        return (0..<labels.shape[0]).map { Array(values[($0 * k)..<(($0 + 1) * k)]) }
    }

    /// The labels a caption stands for: those of the images it captions, when they all agree (a
    /// caption of images with different labels names none, and is left out of label accuracy).
    public var labelsByCaption: [String: [Int]] {
        guard let rows = labelRows else { return [:] }
        var found: [String: [Int]] = [:], mixed = Set<String>()
        for (caption, row) in zip(captions, rows) where !mixed.contains(caption) {
            if let known = found[caption], known != row { found[caption] = nil; mixed.insert(caption) } else { found[caption] = row }
        }
        return found
    }
}

/// Label accuracy: how often a classifier reads the labels an image should have — for generated
/// images, the labels of the dataset's images with the same caption (prompt accuracy for data of
/// one's own).
public struct LabelAccuracy: Sendable, Equatable {
    /// Per label column: the share of images whose label in that column is read right.
    public var perColumn: [Double]
    /// The share of images whose every label is read right.
    public var all: Double
    /// How many images had labels to check (generated images whose prompt names no labels are left out).
    public var count: Int

    /// As metrics: `label_acc` (every column right), and `label_acc_0`, `label_acc_1`, … when
    /// there are several columns. NaN when no image had labels.
    public var metrics: [String: Double] {
        var m = ["label_acc": all]
        if perColumn.count > 1 { for (k, a) in perColumn.enumerated() { m["label_acc_\(k)"] = a } }
        return m
    }
}

/// A dataset's judge: the shared `ImageClassifier` CNN with one head per label column, trained
/// with cross-entropy on the training split's labels (`train_classifier(data)`). It reads label
/// accuracy of generated images (`evaluate`, `snp eval --classifier`) and the removal rate of a
/// negative label.
public final class LabelClassifier: ImageClassifier {
    public static let architecture = "LabelClassifier"

    /// A fresh classifier for `side`-pixel images with `classCounts[k]` classes in label column k.
    public init(side: Int, classCounts: [Int], seed: UInt64 = 0) throws {
        try super.init(side: side, classCounts: classCounts, seed: seed, what: "label classifier")
    }

    /// A fresh classifier for `data`'s labels: column k has (largest label in it + 1) classes.
    public convenience init(for data: CaptionedImageSet, seed: UInt64 = 0) throws {
        guard let rows = data.labelRows else {
            throw DiffusionError.invalidArgument(name: data.name, reason: "has no labels to train a classifier on (an h5py `labels` dataset, or `label` in metadata.jsonl)")
        }
        if let negative = rows.joined().first(where: { $0 < 0 }) {
            throw DiffusionError.invalidArgument(name: data.name, reason: "labels must be ≥ 0 (class indices), found \(negative)")
        }
        let counts = (0..<rows[0].count).map { k in Swift.max(2, rows.map { $0[k] }.max()! + 1) }
        try self.init(side: data.side, classCounts: counts, seed: seed)
    }

    /// The number of label columns.
    public var columns: Int { classCounts.count }

    /// The labels it reads in each image: [image][column].
    public func predict(_ images: Tensor) throws -> [[Int]] {
        let picks = try predictedClasses(images)
        return (0..<images.shape[0]).map { i in picks.map { $0[i] } }
    }

    /// Label accuracy of `images` against `expected` (one row per image; nil rows are left out).
    public func accuracy(_ images: Tensor, expected: [[Int]?]) throws -> LabelAccuracy {
        guard images.rank == 4, images.shape[0] == expected.count else {
            throw DiffusionError.shapeMismatch(what: "label accuracy", shapes: [images.shape], reason: "needs one label row per image (\(expected.count))")
        }
        if let bad = expected.compactMap({ $0 }).first(where: { $0.count != columns }) {
            throw DiffusionError.invalidArgument(name: "label accuracy", reason: "the classifier reads \(columns) label column(s), a row has \(bad.count)")
        }
        let checked = expected.indices.filter { expected[$0] != nil }
        guard !checked.isEmpty else { return LabelAccuracy(perColumn: Array(repeating: .nan, count: columns), all: .nan, count: 0) }
        let predicted = try predict(images.indexSelect(axis: 0, indices: checked))
        var right = [Int](repeating: 0, count: columns), allRight = 0
        for (p, i) in zip(predicted, checked) {
            let e = expected[i]!
            for k in 0..<columns where p[k] == e[k] { right[k] += 1 }
            if p == e { allRight += 1 }
        }
        let n = Double(checked.count)
        return LabelAccuracy(perColumn: right.map { Double($0) / n }, all: Double(allRight) / n, count: checked.count)
    }

    /// Label accuracy of images generated for `prompts` (one per image): each is expected to
    /// show the labels of `data`'s images captioned the same way (`labelsByCaption`).
    public func accuracy(_ images: Tensor, prompts: [String], data: CaptionedImageSet) throws -> LabelAccuracy {
        let byCaption = data.labelsByCaption
        return try accuracy(images, expected: prompts.map { byCaption[$0] })
    }

    /// Label accuracy on `data`'s held-out real images (what the classifier never trained on).
    public func heldOutAccuracy(_ data: CaptionedImageSet) throws -> LabelAccuracy {
        let rows = try requireLabels(data)
        guard !data.testIndices.isEmpty else {
            throw DiffusionError.invalidArgument(name: data.name, reason: "has no held-out examples to measure the classifier on (held-out fraction 0)")
        }
        let real = try data.take(data.testIndices)
        return try accuracy(real.images, expected: data.testIndices.map { rows[$0] })
    }

    /// Trains on `data`'s training split (AdamW, cosine schedule, as the world's classifier);
    /// `progress(step, loss)` after every step. Returns the losses.
    @discardableResult
    public func train(data: CaptionedImageSet, steps: Int, batchSize: Int = 64, learningRate: Float = 2e-3,
                      progress: (Int, Float) -> Void = { _, _ in }) throws -> [Float] {
        let rows = try requireLabels(data)
        try data.requireSide(side, for: "the label classifier")
        guard steps >= 1, batchSize >= 1 else {
            throw DiffusionError.invalidArgument(name: "label classifier", reason: "steps and batch size must be ≥ 1, got \(steps) and \(batchSize)")
        }
        return try trainWithAdamW(steps: steps, learningRate: learningRate, loss: { step in
            let picks = try (0..<batchSize).map { try data.example(step * batchSize + $0, split: .train) }
            let images = try data.images.indexSelect(axis: 0, indices: picks)
            return try headLoss(images, targets: (0..<columns).map { k in picks.map { rows[$0][k] } })
        }, progress: progress)
    }

    private func requireLabels(_ data: CaptionedImageSet) throws -> [[Int]] {
        guard let rows = data.labelRows else { throw DiffusionError.invalidArgument(name: data.name, reason: "has no labels") }
        guard rows[0].count == columns else {
            throw DiffusionError.invalidArgument(name: data.name, reason: "has \(rows[0].count) label column(s), the classifier reads \(columns)")
        }
        if let k = (0..<columns).first(where: { k in rows.contains { $0[k] < 0 || $0[k] >= classCounts[k] } }) {
            throw DiffusionError.invalidArgument(name: data.name, reason: "label column \(k) holds values outside the classifier's classes 0..<\(classCounts[k])")
        }
        return rows
    }

    /// Saves the weights as a Snoopi checkpoint (architecture `LabelClassifier`, config side,
    /// columns and classes_K per column).
    public func save(to path: String) throws {
        var config = ["side": side, "columns": columns]
        for (k, c) in classCounts.enumerated() { config["classes_\(k)"] = c }
        try saveWorldModel(architecture: Self.architecture, config: config, to: path)
    }

    /// Loads a classifier saved with `save(to:)`.
    public static func load(_ path: String) throws -> LabelClassifier {
        let (tensors, config) = try loadWorldModel(path, architecture: architecture, keys: ["side", "columns"])
        let columns = config["columns"]!
        guard columns >= 1 else { throw DiffusionError.invalidArgument(name: path, reason: "config \"columns\" must be ≥ 1, got \(columns)") }
        let counts = try (0..<columns).map { k in
            guard let count = config["classes_\(k)"] else { throw DiffusionError.invalidArgument(name: path, reason: "config has no integer \"classes_\(k)\"") }
            return count
        }
        let classifier = try LabelClassifier(side: config["side"]!, classCounts: counts)
        try classifier.load(tensors)
        classifier.eval()
        return classifier
    }
}
