import Checkpoints
import Diffusion
import Engine
import Foundation
import Graphics
import Models
import Testing

/// The h5py fixtures of Scripts/make_dataset_fixtures.py.
func datasetFixture(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "datasets", withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureMissing(name: "datasets/\(name)")
    }
    return url.appendingPathComponent(name).path
}

/// The fixtures' pixel rule, as Scripts/make_dataset_fixtures.py writes it: v(n, c, y, x) as uint8,
/// [N, C, 8, 8] (C = 1 for grey), mapped by `map`.
func fixturePixels(channels: Int, map: (Float) -> Float) throws -> Tensor {
    var values: [Float] = []
    for n in 0..<6 { for c in 0..<channels { for y in 0..<8 { for x in 0..<8 {
        values.append(map(Float((37 * n + 11 * c + 5 * y + 3 * x) % 256)))
    } } } }
    return try Tensor(values, shape: [6, channels, 8, 8])
}

let fixtureCaptions = ["zero", "one", "two", "three", "four", "five"].map { "a caption \($0)" }

/// The message of the error `body` throws ("" when it throws none).
func errorMessage(_ body: () throws -> Void) -> String {
    do { try body() } catch { return String(describing: error) }
    return ""
}

@Suite struct DatasetLoaderTests {
    @Test("h5py files in every layout read as [N, 3, S, S] in [−1, 1], value for value")
    func layouts() throws {
        let rgb = try fixturePixels(channels: 3) { $0 / 127.5 - 1 }
        let grey1 = try fixturePixels(channels: 1) { $0 / 127.5 - 1 }
        let grey = try Tensor.concat([grey1, grey1, grey1], axis: 1)
        let cases: [(String, Tensor, Float)] = [
            ("u8-nhwc.h5", rgb, 1e-6), ("u8-nchw.h5", rgb, 1e-6), ("u8-grey-nhw.h5", grey, 1e-6),
            // float [0, 1] → 2x − 1: float32 rounding of v / 255 only.
            ("f32-nhwc1-01.h5", grey, 1e-5), ("f32-nchw-pm1.h5", rgb, 1e-5),
        ]
        for (name, expected, tolerance) in cases {
            let set = try CaptionedImageSet.load(datasetFixture(name), heldOut: 0)
            #expect(set.images.shape == [6, 3, 8, 8], "\(name)")
            #expect(set.captions == fixtureCaptions, "\(name)")
            let worst = zip(set.images.scalars, expected.scalars).map { Swift.abs($0 - $1) }.max()!
            #expect(worst <= tolerance, "\(name): worst difference \(worst)")
        }
        // Labels [N] as written (n % 3).
        let labelled = try CaptionedImageSet.load(datasetFixture("u8-nhwc.h5"))
        #expect(labelled.labels?.scalars == [0, 1, 2, 0, 1, 2])
        #expect(try CaptionedImageSet.load(datasetFixture("u8-nchw.h5")).labels == nil)
    }

    @Test("the images_range attribute overrides the guess from the values")
    func rangeAttribute() throws {
        // Stored values are v / 255 (all ≥ 0, which alone would read as 0..1), declared −1..1: kept as they are.
        let set = try CaptionedImageSet.load(datasetFixture("f64-nchw-range.h5"))
        let expected = try fixturePixels(channels: 3) { $0 / 255 }
        #expect(zip(set.images.scalars, expected.scalars).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }

    @Test("broken h5py files are errors that name the file and the field")
    func brokenFiles() throws {
        let cases: [(String, [String])] = [
            ("no-captions.h5", ["no-captions.h5", "'captions'"]),
            ("count-mismatch.h5", ["count-mismatch.h5", "6 images", "5 captions"]),
            ("int-images.h5", ["int-images.h5", "'images'", "uint8"]),
            ("captions-not-strings.h5", ["captions-not-strings.h5", "'captions'"]),
            ("not-square.h5", ["not-square.h5", "'images'", "square"]),
            ("nan-images.h5", ["nan-images.h5", "'images'", "NaN"]),
            ("bad-labels.h5", ["bad-labels.h5", "labels"]),
            ("wrong-rank.h5", ["wrong-rank.h5", "'images'"]),
        ]
        for (name, needles) in cases {
            let message = errorMessage { _ = try CaptionedImageSet.load(datasetFixture(name)) }
            #expect(!message.isEmpty, "\(name) loaded")
            for needle in needles { #expect(message.contains(needle), "\(name): \"\(message)\" lacks \"\(needle)\"") }
        }
        #expect(errorMessage { _ = try CaptionedImageSet.load("/nonexistent/data.h5") }.contains("no such file"))
    }

    /// A folder of `count` 8×8 PNGs (image i: pixel (y, x) = RGB(20 i + 8 x, 16 y, 200 − 10 i)) and the
    /// tensor they hold.
    func pngFolder(count: Int = 5, caption: (Int) -> String = { "picture \($0)" }) throws -> (String, Tensor) {
        let folder = try temporaryFolder()
        var planes: [Float] = []
        for i in 0..<count {
            var pixels: [UInt8] = []
            for y in 0..<8 { for x in 0..<8 { pixels += [UInt8(20 * i + 8 * x), UInt8(16 * y), UInt8(200 - 10 * i)] } }
            try PNG.write(Image(width: 8, height: 8, format: .rgb, pixels: pixels), to: folder + "/img\(i).png")
            for c in 0..<3 { for p in 0..<64 { planes.append(Float(pixels[3 * p + c]) / 127.5 - 1) } }
        }
        return (folder, try Tensor(planes, shape: [count, 3, 8, 8]))
    }

    @Test("a PNG folder with metadata.jsonl or captions.txt reads its images, captions and labels")
    func pngFolders() throws {
        let (folder, expected) = try pngFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let lines = (0..<5).map { "{\"file_name\": \"img\($0).png\", \"text\": \"picture \($0)\", \"label\": \($0 % 2)}" }
        try lines.joined(separator: "\n").write(toFile: folder + "/metadata.jsonl", atomically: true, encoding: .utf8)
        let set = try CaptionedImageSet.load(folder, heldOut: 0.2)
        #expect(set.captions == (0..<5).map { "picture \($0)" })
        #expect(set.labels?.scalars == [0, 1, 0, 1, 0])
        #expect(zip(set.images.scalars, expected.scalars).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
        #expect(set.count(of: .train) == 4 && set.count(of: .test) == 1)

        try FileManager.default.removeItem(atPath: folder + "/metadata.jsonl")
        try (0..<5).map { "img\($0).png\tpicture \($0)" }.joined(separator: "\n").write(toFile: folder + "/captions.txt", atomically: true, encoding: .utf8)
        let listed = try CaptionedImageSet.load(folder)
        #expect(listed.captions == set.captions && listed.labels == nil)
        #expect(listed.images.scalars == set.images.scalars)
    }

    @Test("broken PNG folders are errors that name the file, the line or the field")
    func brokenFolders() throws {
        let (folder, _) = try pngFolder(count: 2)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("neither metadata.jsonl"))
        func metadata(_ text: String) throws { try text.write(toFile: folder + "/metadata.jsonl", atomically: true, encoding: .utf8) }
        try metadata("{\"file_name\": \"img0.png\", \"text\": \"a\"}\nnot json")
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("line 2"))
        try metadata("{\"file_name\": \"img0.png\"}")
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("\"text\""))
        try metadata("{\"file_name\": \"img0.png\", \"text\": \"a\", \"label\": 1.5}")
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("\"label\""))
        try metadata("{\"file_name\": \"img0.png\", \"text\": \"a\", \"label\": true}")
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("\"label\""))
        try metadata("{\"file_name\": \"missing.png\", \"text\": \"a\"}")
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("missing.png"))
        try "this is not a PNG".write(toFile: folder + "/broken.png", atomically: true, encoding: .utf8)
        try metadata("{\"file_name\": \"img0.png\", \"text\": \"a\"}\n{\"file_name\": \"broken.png\", \"text\": \"b\"}")
        let message = errorMessage { _ = try CaptionedImageSet.load(folder) }
        #expect(message.contains("broken.png") && message.contains("PNG"))
        try PNG.write(Image(width: 6, height: 6, format: .rgb, color: .white), to: folder + "/small.png")
        try metadata("{\"file_name\": \"img0.png\", \"text\": \"a\"}\n{\"file_name\": \"small.png\", \"text\": \"b\"}")
        #expect(errorMessage { _ = try CaptionedImageSet.load(folder) }.contains("one size"))
    }

    @Test("tensors in: bad shapes, counts and values are named")
    func badTensors() throws {
        let good = try Tensor.zeros([4, 3, 8, 8])
        #expect(errorMessage { _ = try CaptionedImageSet(images: good, captions: ["a", "b"]) }.contains("4 images but 2 captions"))
        #expect(errorMessage { _ = try CaptionedImageSet(images: Tensor.zeros([4, 2, 8, 8]), captions: ["a", "b", "c", "d"]) }.contains("[N, 3, H, W]"))
        #expect(errorMessage { _ = try CaptionedImageSet(images: Tensor.zeros([4, 3, 8, 6]), captions: ["a", "b", "c", "d"]) }.contains("square"))
        #expect(errorMessage { _ = try CaptionedImageSet(images: good + 3, captions: ["a", "b", "c", "d"]) }.contains("[−1, 1]"))
        #expect(errorMessage { _ = try CaptionedImageSet(images: good, captions: ["a", "b", "c", "d"], heldOut: 1) }.contains("held-out"))
    }
}

@Suite struct DatasetSplitTests {
    func numbered(_ n: Int, heldOut: Double = 0.25, seed: UInt64 = 7) throws -> CaptionedImageSet {
        // Image i is filled with i / n, so an example's index can be read back from its pixels.
        let images = try Tensor((0..<n).flatMap { Array(repeating: Float($0) / Float(n), count: 3 * 8 * 8) }, shape: [n, 3, 8, 8])
        return try CaptionedImageSet(images: images, captions: (0..<n).map { "example \($0)" }, heldOut: heldOut, seed: seed)
    }

    @Test("the held-out split is seeded, disjoint from training, and every pass is a new permutation of the training split")
    func splits() throws {
        let set = try numbered(20)
        #expect(set.testIndices.count == 5 && set.trainIndices.count == 15)
        #expect(Set(set.testIndices).isDisjoint(with: set.trainIndices))
        #expect(try numbered(20).testIndices == set.testIndices)
        #expect(try numbered(20, seed: 8).testIndices != set.testIndices)
        let pass0 = try (0..<15).map { try set.example($0, split: .train) }
        let pass1 = try (15..<30).map { try set.example($0, split: .train) }
        #expect(pass0.sorted() == set.trainIndices && pass1.sorted() == set.trainIndices)
        #expect(pass0 != pass1)
        // examples() reads those indices: captions and pixels agree with the order.
        let batch = try set.examples(15, split: .train, start: 15)
        #expect(batch.captions == pass1.map { "example \($0)" })
        #expect(try batch.images.slice(axis: 0, start: 3, end: 4).scalars[0] == Float(pass1[3]) / 20)
        // Evaluation reads the first held-out images, the same every time; asking for more is named.
        #expect(try set.evaluationImages(5, split: .train).captions == set.testIndices.map { "example \($0)" })
        #expect(errorMessage { _ = try set.evaluationImages(6, split: .train) }.contains("held-out"))
    }

    @Test("save then load gives the same images, captions and labels")
    func roundTrip() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let set = try CaptionedImageSet(images: Tensor.randn([5, 3, 8, 8], generator: RandomGenerator(seed: 1)).clamp(min: -1, max: 1),
                                        captions: ["α β", "b", "c", "d", "e"], labels: Tensor([1, 2, 3, 4, 5], shape: [5]))
        try set.save(to: folder + "/set.h5")
        let back = try CaptionedImageSet.load(folder + "/set.h5")
        #expect(back.images.scalars == set.images.scalars && back.captions == set.captions && back.labels?.scalars == set.labels?.scalars)
        #expect(back.testIndices == set.testIndices)
    }

    @Test("a prompt list reads every prompt once per pass, in a new seeded order each pass")
    func promptList() throws {
        let list = try PromptList(["a", "b", "c", "d", "e"], seed: 3)
        let pass0 = try list.captions(5, split: .train, start: 0), pass1 = try list.captions(5, split: .train, start: 5)
        #expect(pass0.sorted() == ["a", "b", "c", "d", "e"] && pass1.sorted() == pass0.sorted())
        #expect(try PromptList(["a", "b", "c", "d", "e"], seed: 3).captions(10, split: .train, start: 0) == pass0 + pass1)
        #expect(throws: DiffusionError.self) { _ = try PromptList([]) }
    }
}

@Suite(.serialized) struct OwnDataTrainingTests {
    /// 16 captioned 8×8 images: a bright square on the left or right half, captioned in French.
    func tinyData() throws -> CaptionedImageSet {
        var values: [Float] = [], captions: [String] = []
        for i in 0..<16 {
            let left = i % 2 == 0
            for _ in 0..<3 { for _ in 0..<8 { for x in 0..<8 { values.append((x < 4) == left ? 0.8 : -0.8) } } }
            captions.append(left ? "un carré à gauche" : "un carré à droite")
        }
        return try CaptionedImageSet(images: Tensor(values, shape: [16, 3, 8, 8]), captions: captions, heldOut: 0.5, seed: 1)
    }

    @Test("an encoder of a dataset's own words, trained on it, keeps its vocabulary through save, load and a teacher's file")
    func ownEncoderAndTeacher() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = try tinyData()
        #expect(data.vocabulary == ["un", "carré", "à", "gauche", "droite"])
        let encoder = try ShapesCLIP.fresh(for: data, seed: 2)
        let words = try #require(encoder.tokenizer as? WordTokenizer)
        #expect(words.encode("un carré à droite")[1...4].allSatisfy { $0 != words.unknown })
        #expect(encoder.tokenizer.unknownWords(in: data.vocabulary).isEmpty && encoder.tokenizer.kind == "word")
        let losses = try encoder.train(data: data, steps: 30, batchSize: 8, learningRate: 3e-3)
        #expect(losses.suffix(5).reduce(0, +) < losses.prefix(5).reduce(0, +), "contrastive loss did not fall: \(losses)")
        // Two captions, told apart from the images: retrieval on the held-out half beats chance (50 %).
        #expect(try encoder.retrievalAccuracy(data.evaluationImages(8, split: .test)) > 0.75)
        try encoder.save(to: folder + "/enc.h5")
        let loaded = try ShapesCLIP.load(folder + "/enc.h5")
        #expect(loaded.vocabulary == encoder.vocabulary && loaded.tokenizer.maxLength == encoder.tokenizer.maxLength)
        #expect(try loaded.encodeText(["un carré à gauche"]).scalars == encoder.encodeText(["un carré à gauche"]).scalars)

        let teacher = try WorldTeacher.tiny(.unet, encoder: encoder, encoderPath: folder + "/enc.h5", seed: 5)
        var options = tinyOptions()
        options.evalCount = 8
        let trainer = try TeacherTrainer(teacher: teacher, data: data, options: options)
        _ = try runTraining(trainer, steps: 2, schedule: TrainingSchedule(logEvery: 1, evalEvery: 2))
        let fd = trainer.history.metrics["fd"]?.last(where: { !$0.isNaN })
        #expect(fd != nil && fd!.isFinite, "evaluated against the held-out images")
        #expect(trainer.history.metrics["prompt_acc"] == nil, "no shapes-world judge on other data")
        try trainer.teacher.save(to: folder + "/teacher.h5")
        try FileManager.default.removeItem(atPath: folder + "/enc.h5")  // the encoder travels inside the teacher
        let reloaded = try WorldTeacher.load(folder + "/teacher.h5")
        #expect(reloaded.encoder.vocabulary == data.vocabulary)
        #expect(try reloaded.context(["un carré à droite"]).scalars == teacher.context(["un carré à droite"]).scalars)
    }

    @Test("a model is refused data of another size, and an encoder cannot be built for sizes it cannot read")
    func sizes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher16 = try WorldTeacher.tiny(.unet, encoder: ShapesCLIP(side: 16), seed: 1)
        let message = errorMessage { _ = try TeacherTrainer(teacher: teacher16, data: tinyData()) }
        #expect(message.contains("16×16") && message.contains("8×8"))
        let odd = try CaptionedImageSet(images: Tensor.zeros([2, 3, 6, 6]), captions: ["a", "b"])
        #expect(errorMessage { _ = try ShapesCLIP.fresh(for: odd) }.contains("multiple of 4"))
    }
}

/// A labelled dataset from the shapes world: caption "COLOUR on BACKGROUND", labels [colour, background].
private func labelledShapes(_ count: Int) throws -> CaptionedImageSet {
    let batch = try ShapesWorld(side: 16, seed: 0).batch(count, split: .train, start: 0)
    let colours = ShapeAttributes.Colour.allCases, backgrounds = ShapeAttributes.Background.allCases
    let rows = batch.attributes.map { [colours.firstIndex(of: $0.colour)!, backgrounds.firstIndex(of: $0.background)!] }
    return try CaptionedImageSet(images: batch.images, captions: batch.attributes.map { "\($0.colour.rawValue) on \($0.background.rawValue)" },
                                 labels: try Tensor(rows.joined().map(Float.init), shape: [count, 2]), heldOut: 0.25, seed: 1, name: "labelled shapes")
}

@Suite("Label classifier")
struct LabelClassifierTests {
    /// Trained on the training split's labels, it reads both columns of held-out images, and the
    /// held-out images with their own captions score the same label accuracy through the
    /// caption → labels map; saved and loaded it predicts the same labels.
    @Test func learnsLabelsAndMeasuresLabelAccuracy() throws {
        let data = try labelledShapes(384)
        let classifier = try LabelClassifier(for: data, seed: 2)
        #expect(classifier.classCounts == [ShapeAttributes.Colour.allCases.count, ShapeAttributes.Background.allCases.count])
        let losses = try classifier.train(data: data, steps: 150, batchSize: 32)
        let first: Float = losses.prefix(10).reduce(0, +), last: Float = losses.suffix(10).reduce(0, +)
        #expect(last < first / 4, "loss \(first / 10) → \(last / 10)")
        let heldOut = try classifier.heldOutAccuracy(data)
        #expect(heldOut.count == 96 && heldOut.perColumn[0] > 0.9 && heldOut.perColumn[1] > 0.95, "\(heldOut)")
        let real = try data.take(data.testIndices)
        let byCaption = try classifier.accuracy(real.images, prompts: real.captions, data: data)
        #expect(byCaption == heldOut)
        #expect(byCaption.metrics["label_acc"] == heldOut.all && byCaption.metrics["label_acc_1"] == heldOut.perColumn[1])
        // Images of the wrong colour for their prompt: column 0 wrong for every image whose colour differs.
        let shuffled = Array(real.captions.reversed())
        let wrong = try classifier.accuracy(real.images, prompts: shuffled, data: data)
        #expect(wrong.perColumn[0] < 0.5, "\(wrong)")

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try classifier.save(to: path)
        let loaded = try LabelClassifier.load(path)
        #expect(loaded.classCounts == classifier.classCounts)
        #expect(try loaded.predict(real.images) == classifier.predict(real.images))
        #expect(try ImageClassifier.load(judge: path) is LabelClassifier)
    }

    /// A caption standing for images of different labels names none; an unlabelled caption or
    /// prompt is left out of label accuracy.
    @Test func captionsStandForTheirImagesLabels() throws {
        let images = Tensor.zeros([4, 3, 8, 8])
        let data = try CaptionedImageSet(images: images, captions: ["cat", "cat", "dog", "mixed"], labels: try Tensor([1, 1, 0, 2], shape: [4]))
        #expect(data.labelsByCaption == ["cat": [1], "dog": [0], "mixed": [2]])
        let mixed = try CaptionedImageSet(images: images, captions: ["cat", "cat", "dog", "dog"], labels: try Tensor([1, 0, 0, 0], shape: [4]))
        #expect(mixed.labelsByCaption == ["dog": [0]])
        let classifier = try LabelClassifier(side: 8, classCounts: [3])
        let none = try classifier.accuracy(images, prompts: ["cat", "bird", "cat", "x"], data: mixed)
        #expect(none.count == 0 && none.all.isNaN)
        let some = try classifier.accuracy(images, prompts: ["dog", "bird", "cat", "x"], data: mixed)
        #expect(some.count == 1)
    }

    @Test func badInput() throws {
        let unlabelled = try CaptionedImageSet(images: Tensor.zeros([4, 3, 8, 8]), captions: ["a", "b", "c", "d"])
        #expect(errorMessage { _ = try LabelClassifier(for: unlabelled) }.contains("has no labels"))
        let negative = try CaptionedImageSet(images: Tensor.zeros([4, 3, 8, 8]), captions: ["a", "b", "c", "d"], labels: try Tensor([0, -1, 1, 1], shape: [4]))
        #expect(errorMessage { _ = try LabelClassifier(for: negative) }.contains("≥ 0"))
        let labelled = try CaptionedImageSet(images: Tensor.zeros([4, 3, 8, 8]), captions: ["a", "b", "c", "d"], labels: try Tensor([0, 3, 1, 1], shape: [4]))
        #expect(errorMessage { try LabelClassifier(side: 8, classCounts: [2]).train(data: labelled, steps: 1) }.contains("outside the classifier's classes"))
        #expect(errorMessage { try LabelClassifier(side: 16, classCounts: [4]).train(data: labelled, steps: 1) }.contains("16×16"))
        #expect(errorMessage { _ = try LabelClassifier(side: 8, classCounts: [1]) }.contains("at least 2 classes"))
        let world = try ShapesWorld(side: 16).batch(2).images
        #expect(errorMessage { _ = try ImageClassifier.load(judge: "/nonexistent.h5") } != "")
        #expect(errorMessage { _ = try LabelClassifier(side: 8, classCounts: [4]).predict(world) }.contains("[B, 3, 8, 8]"))
    }
}
