import Checkpoints
import Diffusion
import Engine
import Foundation
import Models
import Testing

/// A teacher's text encoder on a real CLIP text tower (issue 15): a converted CLIPTextModel over
/// its CLIP BPE tokenizer, frozen, saved with the encoder and with every teacher trained on it —
/// and the shapes world's word-tokenizer encoders loading as before.
@Suite("Pre-trained CLIP text encoder")
struct PretrainedTextEncoderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// A random-weight transformers CLIPTextModel folder (vocab_size 1000, 20 positions, width 32).
    static let textFolder = root.appendingPathComponent("Tests/ModelsTests/Fixtures/clip_gelu").path
    /// A CLIP BPE tokenizer (vocab.json of 914 ids, merges.txt).
    static let tokenizerFolder = root.appendingPathComponent("Tests/ModelsTests/Fixtures/tokenizer").path

    /// Side-8 images of a square on the left or the right, captioned in English.
    func squares() throws -> CaptionedImageSet {
        var values: [Float] = [], captions: [String] = []
        for i in 0..<16 {
            let left = i % 2 == 0
            for _ in 0..<3 { for _ in 0..<8 { for x in 0..<8 { values.append((x < 4) == left ? 0.8 : -0.8) } } }
            captions.append(left ? "a red square on the left" : "a red square on the right")
        }
        return try CaptionedImageSet(images: Tensor(values, shape: [16, 3, 8, 8]), captions: captions, heldOut: 0.5, seed: 1)
    }

    func encoder(seed: UInt64 = 0) throws -> ShapesCLIP {
        try ShapesCLIP.pretrained(side: 8, textEncoder: Self.textFolder, tokenizer: Self.tokenizerFolder, seed: seed)
    }

    @Test("the context is the CLIPTextModel's last hidden state of the BPE tokenizer's ids, exactly")
    func contextIsTheTextModels() throws {
        let clip = try encoder()
        let model = try ShapesCLIP.loadTextModel(Self.textFolder)
        let tokenizer = try CLIPTokenizer(folder: Self.tokenizerFolder)
        #expect(clip.width == 32 && clip.tokenizer.kind == "clip-bpe" && clip.tokenizer.maxLength == 20, "width and length are the model's")
        let ids = tokenizer.encode("a red circle", maxLength: 20, padToMaxLength: true)
        #expect(ids.count == 20 && ids.first == tokenizer.bos && ids.contains(tokenizer.eos))
        #expect(try clip.tokens(["a red circle"]).scalars == ids.map(Float.init))
        let expected = try model(Tensor(ids.map(Float.init), shape: [1, 20]))
        #expect(try clip.context(["a red circle"]).scalars == expected.lastHiddenState.scalars)
        // Pooled at the tokenizer's first end token (the fixture model's eos_token_id, 999, is not the tokenizer's).
        let eos = try #require(ids.firstIndex(of: tokenizer.eos))
        #expect(try clip.pooledText(["a red circle"]).scalars == expected.lastHiddenState.slice(axis: 1, start: eos, end: eos + 1).scalars)
        #expect(clip.pretrainedText && clip.text.trainableParameterCount == 0, "the tower is frozen")
        #expect(clip.textDescription.contains("frozen") && clip.textDescription.contains(Self.textFolder))
    }

    @Test("contrastive training leaves the text tower bit-identical and moves the projection and the image tower")
    func trainingKeepsTheTowerFrozen() throws {
        let clip = try encoder(seed: 3)
        let data = try squares()
        let textBefore = weights(clip.text)
        let allBefore = clip.stateDict().map { ($0.name, $0.tensor.scalars) }
        let losses = try clip.train(data: data, steps: 3, batchSize: 8, learningRate: 3e-3)
        #expect(losses.count == 3 && losses.allSatisfy(\.isFinite))
        #expect(weights(clip.text) == textBefore, "the pre-trained text tower changed")
        let after = Dictionary(uniqueKeysWithValues: clip.stateDict().map { ($0.name, $0.tensor.scalars) })
        for name in ["conv1.weight", "image_projection.weight", "text_projection.weight"] {
            #expect(after[name] != allBefore.first { $0.0 == name }?.1, "\(name) did not train")
        }
    }

    @Test("save and load, alone and inside a teacher, give identical contexts and name the tokenizer")
    func roundTrips() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Through a converted .h5 (snp convert) this time.
        try convertFolder(at: Self.textFolder, to: folder + "/text.h5")
        let clip = try ShapesCLIP.pretrained(side: 8, textEncoder: folder + "/text.h5", tokenizer: Self.tokenizerFolder, seed: 1)
        _ = try clip.train(data: squares(), steps: 2, batchSize: 8)
        let captions = ["a red circle", "a blue square on the left", ""]
        try clip.save(to: folder + "/enc.h5")
        let stored = try Checkpoint.load(folder + "/enc.h5")
        let config = try stored.configDictionary()
        #expect(config["tokenizer"] as? String == "clip-bpe" && config["text_architecture"] as? String == "CLIPTextModel")
        #expect(config["text_source"] as? String == folder + "/text.h5" && config["tokenizer_source"] as? String == Self.tokenizerFolder)
        #expect(stored.strings[ShapesCLIP.vocabularyStrings]?.count == 914 && stored.strings[ShapesCLIP.mergeStrings]?.count == 400)
        let loaded = try ShapesCLIP.load(folder + "/enc.h5")
        #expect(loaded.pretrainedText && loaded.tokenizer.kind == "clip-bpe" && loaded.text.trainableParameterCount == 0)
        #expect(try loaded.context(captions).scalars == clip.context(captions).scalars)
        #expect(try loaded.encodeText(captions).scalars == clip.encodeText(captions).scalars)
        #expect(try loaded.tokens(["Ünïcode & punctuation, 's!"]).scalars == clip.tokens(["Ünïcode & punctuation, 's!"]).scalars)

        let teacher = try WorldTeacher.tiny(.unet, encoder: loaded, encoderPath: folder + "/enc.h5", seed: 2)
        try teacher.save(to: folder + "/teacher.h5")
        try FileManager.default.removeItem(atPath: folder + "/enc.h5")  // the encoder travels inside the teacher
        let teacherConfig = try Checkpoint.load(folder + "/teacher.h5").configDictionary()
        #expect(teacherConfig["_snoopi_text_encoder_tokenizer"] as? String == "clip-bpe")
        #expect(teacherConfig["_snoopi_text_encoder_text_architecture"] as? String == "CLIPTextModel")
        #expect(teacherConfig["_snoopi_text_encoder_text_source"] as? String == folder + "/text.h5")
        let reloaded = try WorldTeacher.load(folder + "/teacher.h5")
        #expect(reloaded.encoder.pretrainedText && reloaded.encoder.tokenizer.kind == "clip-bpe")
        #expect(try reloaded.context(captions).scalars == teacher.context(captions).scalars)
        #expect(try reloaded.context(captions).scalars == clip.context(captions).scalars)
        // Saved again (a student's start, a resumed run), the tokenizer stays inside.
        try reloaded.save(to: folder + "/again.h5")
        #expect(try WorldTeacher.load(folder + "/again.h5").context(captions).scalars == clip.context(captions).scalars)
    }

    @Test("a teacher trains on a dataset with the pre-trained text encoder, and its run checkpoint resumes with it")
    func teacherTrains() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let clip = try encoder(seed: 4)
        let data = try squares()
        _ = try clip.train(data: data, steps: 2, batchSize: 8)
        let teacher = try WorldTeacher.tiny(.unet, encoder: clip, seed: 5)
        let trainer = try TeacherTrainer(teacher: teacher, data: data, options: tinyOptions())
        _ = try runTraining(trainer, steps: 2, schedule: TrainingSchedule(logEvery: 1, checkpointPath: folder + "/run.h5"))
        #expect(trainer.history.metrics["loss"]?.allSatisfy(\.isFinite) == true)
        try trainer.teacher.save(to: folder + "/teacher.h5")
        let reloaded = try WorldTeacher.load(folder + "/teacher.h5")
        #expect(try reloaded.context(["a red square on the left"]).scalars == clip.context(["a red square on the left"]).scalars)
        let images = try reloaded.sample(prompts: ["a red square on the left"], kappa: 3, steps: 2, generator: RandomGenerator(seed: 0))
        #expect(images.shape == [1, 3, 8, 8])
        let resumed = try WorldTeacher.load(folder + "/run.h5")
        #expect(resumed.encoder.pretrainedText && resumed.encoder.tokenizer.kind == "clip-bpe")
    }

    /// Sums, sums of squares and one element of the shipped unet teacher's contexts, printed by
    /// the build before this change (`encode(teacher, p)` in `snp run`; the same after it).
    static let shippedBefore: [(caption: String, sum: Float, squares: Float, element: Float)] = [
        ("a red circle", -2.52461529, 1656.1272, 0.0258637909),
        ("a photo of a small blue square on the left", -5.55436563, 1647.36914, -2.76138663),
        ("", -2.55102158, 1670.20874, -2.55776882),
    ]

    @Test("the shipped teacher (no tokenizer key) still loads as the word tokenizer with the same contexts")
    func shippedTeacherUnchanged() throws {
        let teacher = try WorldTeacher.load(Self.root.appendingPathComponent("Notebooks/checkpoints/shapes-teacher-unet-16.h5").path)
        let encoder = teacher.encoder
        #expect(!encoder.pretrainedText && encoder.tokenizer.kind == "word" && encoder.vocabulary == nil)
        #expect(encoder.configValues["tokenizer"] as? String == "word")
        for expected in Self.shippedBefore {
            let context = try teacher.context([expected.caption])
            #expect(context.shape == [1, 16, 64])
            // The word tokenizer's ids through the text tower, spelled out.
            let ids = CaptionGrammar.tokenizer.encode(expected.caption).map(Float.init)
            #expect(try context.scalars == noGrad { try encoder.text(Tensor(ids, shape: [1, 16])).lastHiddenState }.scalars)
            // The snp process sums in another thread layout than the test runner: last-digit differences.
            #expect(try Swift.abs(context.sum().item() - expected.sum) <= 1e-4, "\(expected.caption)")
            #expect(try Swift.abs(context.square().sum().item() - expected.squares) <= 1e-5 * expected.squares, "\(expected.caption)")
            #expect(Swift.abs(context.scalars[3 * 64 + 5] - expected.element) <= 1e-6, "\(expected.caption)")
        }
        let shippedEncoder = try ShapesCLIP.load(Self.root.appendingPathComponent("Notebooks/checkpoints/shapes-clip-16-attr.h5").path)
        #expect(shippedEncoder.tokenizer.kind == "word" && !shippedEncoder.pretrainedText)
    }

    @Test("a tokenizer that does not fit the text model is a clear error naming both numbers")
    func mismatches() throws {
        let tokenizer = try CLIPTokenizer(folder: Self.tokenizerFolder)
        let small = try CLIPTextModel(config: ModelConfig(architecture: CLIPTextModel.architecture, values: [
            "vocab_size": 500, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "max_position_embeddings": 20, "eos_token_id": 2,
        ]))
        let vocabulary = errorMessage { _ = try ShapesCLIP(side: 8, pretrainedText: small, tokenizer: tokenizer) }
        #expect(vocabulary.contains("914") && vocabulary.contains("500") && vocabulary.contains("vocab_size"), "\(vocabulary)")
        let model = try ShapesCLIP.loadTextModel(Self.textFolder)
        let length = errorMessage { _ = try ShapesCLIP(side: 8, pretrainedText: model, tokenizer: tokenizer, maxLength: 77) }
        #expect(length.contains("77") && length.contains("20") && length.contains("max_position_embeddings"), "\(length)")
        let notText = errorMessage { _ = try ShapesCLIP.loadTextModel(Self.root.appendingPathComponent("Tests/ModelsTests/Fixtures/clip_vision").path) }
        #expect(notText.contains("not a CLIPTextModel"), "\(notText)")
    }
}
