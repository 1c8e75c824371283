import Foundation
import Diffusion
import Engine
import Testing

@Suite("The shapes world")
struct ShapesWorldTests {
    let world = try! ShapesWorld(side: 16, seed: 0)

    @Test func samplesAreSeededAndIndependentOfBatching() throws {
        let a = try world.batch(6, start: 10), b = try world.batch(3, start: 12)
        #expect(a.captions[2...4].elementsEqual(b.captions))
        let same = Array(a.images.scalars[(2 * 768)..<(5 * 768)]) == b.images.scalars
        #expect(same, "samples 12–14 are the same whether drawn in one batch or another")
        let other = try ShapesWorld(side: 16, seed: 1).batch(6, start: 10)
        #expect(other.captions != a.captions)
    }

    @Test func imagesShowTheirAttributes() throws {
        let a = ShapeAttributes(shape: .square, colour: .red, size: .large, position: .center, background: .white)
        let image = world.render(a)
        #expect(image.shape == [3, 16, 16])
        // The centre pixel has the shape's colour, the corner the background's (in [−1, 1]).
        let centre = try (0..<3).map { try image.scalar(at: [$0, 8, 8]) }
        let corner = try (0..<3).map { try image.scalar(at: [$0, 0, 0]) }
        #expect(Swift.abs(centre[0] - (2 * 0.90 - 1)) < 1e-5 && Swift.abs(centre[1] - (2 * 0.10 - 1)) < 1e-5)
        #expect(corner.allSatisfy { Swift.abs($0 - (2 * 0.97 - 1)) < 1e-5 })
        // Anti-aliased edges: some pixels lie strictly between the two colours.
        #expect(image.scalars.contains { $0 > -0.7 && $0 < 0.7 })
        // A small shape on the left leaves the right half as background.
        let left = world.render(ShapeAttributes(shape: .circle, colour: .blue, size: .small, position: .left, background: .black))
        #expect(try (0..<16).allSatisfy { try left.scalar(at: [2, $0, 15]) == 2 * 0.05 - 1 })
    }

    @Test func captionsFollowTheGrammar() {
        let a = ShapeAttributes(shape: .circle, colour: .orange, size: .small, position: .top, background: .white)
        #expect(CaptionGrammar.caption(a, mentioning: [.colour, .shape]) == "an orange circle")
        #expect(CaptionGrammar.caption(a, mentioning: [.shape]) == "a circle")
        #expect(CaptionGrammar.caption(a, mentioning: [.size, .colour, .shape, .background]) == "a small orange circle on a white background")
        #expect(CaptionGrammar.caption(a, mentioning: [], template: .photo) == "a photo of a shape")
        #expect(CaptionGrammar.caption(a, mentioning: [.position], template: .image) == "an image of a shape at the top")
        let parsed = CaptionGrammar.parse("a small orange circle at the top on a white background")
        #expect(parsed.shape == .circle && parsed.colour == .orange && parsed.size == .small && parsed.position == .top && parsed.background == .white)
        #expect(CaptionGrammar.parse("a photo of a shape").shape == nil)
    }

    @Test func heldOutSplitsAreDisjoint() throws {
        let train = try world.batch(300), test = try world.batch(100, split: .test)
        #expect(world.heldOutPairs.count == 5)
        #expect(!train.attributes.contains(where: world.isHeldOut))
        #expect(test.attributes.allSatisfy(world.isHeldOut))
        #expect(!train.captions.contains { $0.hasPrefix("a picture of") })
        #expect(test.captions.allSatisfy { $0.hasPrefix("a picture of") })
        // Captions vary: named attributes, omitted ones, every template but the held-out one.
        #expect(Set(train.captions).count > 150)
        #expect(train.captions.contains { $0.hasPrefix("a photo of") } && train.captions.contains { $0.hasPrefix("an image of") })
        // Every caption's stated attributes are true of its image.
        for (caption, a) in zip(train.captions, train.attributes) {
            let p = CaptionGrammar.parse(caption)
            #expect(p.shape == nil || p.shape == a.shape)
            #expect(p.colour == nil || p.colour == a.colour)
            #expect(p.background == nil || p.background == a.background)
        }
        // The world's tokenizer knows every word the grammar uses.
        #expect(train.captions.allSatisfy { !world.tokenizer.encode($0).contains(world.tokenizer.unknown) })
    }

    @Test func badArguments() {
        #expect(throws: DiffusionError.self) { try ShapesWorld(side: 12) }
        #expect(throws: DiffusionError.self) { try world.batch(0) }
    }
}

@Suite("The attribute classifier")
struct AttributeClassifierTests {
    /// A short run (300 steps of 32) already reads colour, size, background and position; shape,
    /// the hardest at 16 px, is well above chance (0.2). The full run (1,000 steps of 64, with
    /// `snp train-classifier`) reaches ≥ 99.9 % on every attribute: Docs/results.md.
    @Test func learnsTheAttributes() throws {
        let world = try ShapesWorld(side: 16, seed: 0)
        let classifier = try AttributeClassifier(side: 16)
        let losses = try classifier.train(world: world, steps: 300, batchSize: 32)
        let first: Float = losses.prefix(10).reduce(0, +) / 10, last: Float = losses.suffix(10).reduce(0, +) / 10
        #expect(last < first / 4, "loss \(first) → \(last)")
        // Unseen samples of every combination, and of the held-out pairs alone.
        for split: ShapesWorld.Split? in [nil, .test] {
            let accuracy = try classifier.accuracy(world: world, count: 256, split: split)
            for kind in [ShapeAttributes.Kind.colour, .size, .background] { #expect(accuracy[kind]! > 0.95, "\(split.map(\.rawValue) ?? "all") \(kind): \(accuracy[kind]!)") }
            #expect(accuracy[.position]! > 0.9 && accuracy[.shape]! > 0.45, "\(split.map(\.rawValue) ?? "all"): \(accuracy)")
        }
    }

    /// Saved and loaded, the classifier predicts the same attributes.
    @Test func saveAndLoad() throws {
        let classifier = try AttributeClassifier(side: 16, seed: 4)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("classifier-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try classifier.save(to: path)
        let loaded = try AttributeClassifier.load(path)
        let images = try ShapesWorld(side: 16).batch(8).images
        #expect(try loaded.predict(images) == classifier.predict(images))
        #expect(try noGrad { try loaded.logits(images)[0].logits.scalars == classifier.logits(images)[0].logits.scalars })
    }

    @Test func badInput() throws {
        #expect(throws: DiffusionError.self) { try AttributeClassifier(side: 10) }
        let classifier = try AttributeClassifier(side: 16)
        #expect(throws: DiffusionError.self) { try classifier.predict(Tensor.zeros([1, 3, 32, 32])) }
        #expect(throws: DiffusionError.self) { try classifier.train(world: try ShapesWorld(side: 32), steps: 1) }
    }
}

@Suite("Shipped checkpoints")
struct ShippedCheckpointTests {
    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shipped 16-px classifier loads and reads unseen samples (held-out pairs included).
    @Test func shippedClassifierReadsUnseenSamples() throws {
        let path = Self.root.appendingPathComponent("Notebooks/checkpoints/shapes-classifier-16.h5").path
        let classifier = try AttributeClassifier.load(path)
        let world = try ShapesWorld(side: 16, seed: 0)
        for (kind, value) in try classifier.accuracy(world: world, count: 256, split: .test, start: 5_000_000) {
            #expect(value >= 0.98, "\(kind): \(value)")
        }
        #expect(throws: (any Error).self) { try AttributeClassifier.load(Self.root.appendingPathComponent("Notebooks/README.md").path) }
    }
}

@Suite("The shapes world's contrastive encoder")
struct ShapesCLIPTests {
    /// The shipped encoder (2,000 steps) matches images to captions by colour, size and background
    /// zero-shot, also on the held-out pairs; shape only on pairs seen in training (Docs/results.md).
    @Test func shippedEncoderZeroShot() throws {
        let clip = try ShapesCLIP.load(ShippedCheckpointTests.root.appendingPathComponent("Notebooks/checkpoints/shapes-clip-16.h5").path)
        let world = try ShapesWorld(side: 16, seed: 0)
        let heldOut = try clip.zeroShotAccuracy(world: world, count: 256, split: .test)
        for kind in [ShapeAttributes.Kind.colour, .size, .background] { #expect(heldOut[kind]! > 0.95, "\(kind): \(heldOut[kind]!)") }
        #expect(heldOut[.position]! > 0.9)
        let seen = try clip.zeroShotAccuracy(world: world, count: 256, split: .train)
        #expect(seen[.shape]! > 0.35, "shape on seen pairs: \(seen[.shape]!)")
        // Text features for a teacher's cross-attention: one row per token.
        #expect(try clip.context(["a red circle", "a shape"]).shape == [2, 16, 64])
    }

    @Test func trainsSavesAndLoads() throws {
        let world = try ShapesWorld(side: 16, seed: 2)
        let clip = try ShapesCLIP(side: 16, seed: 1)
        let losses = try clip.train(world: world, steps: 30, batchSize: 32)
        #expect(losses.suffix(5).reduce(0, +) < losses.prefix(5).reduce(0, +))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try clip.save(to: path)
        let loaded = try ShapesCLIP.load(path)
        let images = try world.batch(4).images
        let same = try noGrad { try loaded.encodeImage(images).scalars == clip.encodeImage(images).scalars
            && loaded.encodeText(["a red circle"]).scalars == clip.encodeText(["a red circle"]).scalars }
        #expect(same)
        #expect(throws: DiffusionError.self) { try ShapesCLIP(side: 10) }
        #expect(throws: DiffusionError.self) { try clip.encodeImage(Tensor.zeros([1, 3, 32, 32])) }
        #expect(throws: (any Error).self) { try ShapesCLIP.load(ShippedCheckpointTests.root.appendingPathComponent("Notebooks/checkpoints/shapes-classifier-16.h5").path) }
    }
}
