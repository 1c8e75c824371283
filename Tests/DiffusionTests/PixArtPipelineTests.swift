import Checkpoints
import Diffusion
import Engine
import Foundation
import Models
import Testing

/// A tiny random-weight PixArtAlphaPipeline (Scripts/make_pipeline_fixtures.py, pipeline_pixart)
/// run end to end against diffusers' own output on the same initial latents: T5 tokenizer (120
/// tokens, masks) → T5 encoder → the scheduler's sampler with CFG and negative prompts, the
/// masks in every cross-attention, learned sigma dropped → VAE decode. diffusers was called with
/// clean_caption=False and use_resolution_binning=False.
@Suite("PixArt-α pipelines against diffusers", .serialized)
struct PixArtPipelineTests {
    let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("pipeline_pixart")
    var folder: String { root.appendingPathComponent("folder").path }

    func cases() throws -> [String: [String: Any]] {
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("reference.json"))) as! [String: Any]
        return doc["cases"] as! [String: [String: Any]]
    }

    /// Runs every fixture case on `pipe`: the prompts' ids and masks, the final latents and the
    /// images against diffusers'. Returns the worst relative latent error and image error.
    @discardableResult
    func checkEveryCase(_ pipe: DiffusionPipeline) throws -> (latents: Float, images: Float) {
        let reference = try HDF5File(path: root.appendingPathComponent("reference.h5").path)
        let all = try cases()
        #expect(all.count == 4)
        var worst: (latents: Float, images: Float) = (0, 0)
        for (name, c) in all.sorted(by: { $0.key < $1.key }) {
            let kind: WorldTeacher.SamplerKind? = switch c["scheduler"] as? String {
            case "EulerDiscreteScheduler": .euler
            case "DDIMScheduler": .ddim
            default: nil
            }
            var p = pipe
            if let overrides = c["overrides"] as? [String: Any] {
                // from_config(…, **overrides) on the diffusers side.
                var values = pipe.scheduler.values
                for (key, value) in overrides { values[key] = value }
                p = try DiffusionPipeline(className: pipe.className, tokenizer: pipe.tokenizer, textEncoder: pipe.textEncoder,
                                          denoiser: pipe.denoiser, vae: pipe.vae, scheduler: SchedulerConfig(values), source: pipe.source)
            }
            let prompts = c["prompts"] as! [String]
            // What diffusers' encode_prompt tokenised (lowercased, stripped, 120 tokens, masks).
            let t5 = try #require(pipe.tokenizer as? T5Tokenizer)
            let (ids, mask) = try t5.batch(prompts.map(DiffusionPipeline.pixArtTextPreprocessing))
            #expect(ids.scalars == (try reference.readTensor("\(name)/input_ids")).scalars, "\(name): token ids differ")
            #expect(mask.scalars == (try reference.readTensor("\(name)/attention_mask")).scalars, "\(name): masks differ")
            #expect(try p.encodeWithMask(prompts).mask?.scalars == mask.scalars)

            let out = try p.generate(prompts: prompts, negativePrompts: c["negative"] as? [String],
                                     kappa: Float((c["guidance"] as! NSNumber).doubleValue), steps: c["steps"] as! Int, sampler: kind,
                                     height: 16, width: 16, latents: reference.readTensor("\(name)/latents"),
                                     generator: RandomGenerator(seed: 0))
            let latentError = relativeError(out.latents, try reference.readTensor("\(name)/final_latents"))
            #expect(latentError <= 1e-4, "\(name): final latents differ from diffusers' by \(latentError) (relative)")
            let images = try (out.images * 0.5 + 0.5).clamp(min: 0, max: 1)
            let expected = try reference.readTensor("\(name)/images")
            let imageError = zip(images.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 1
            #expect(images.shape == expected.shape && imageError <= 1e-4, "\(name): images differ by \(imageError)")
            let values = images.scalars
            #expect((values.max() ?? 0) - (values.min() ?? 0) > 0.3, "\(name): images are flat")
            print("pipeline_pixart \(name): latents relative error \(latentError), images max abs error \(imageError)")
            worst = (max(worst.latents, latentError), max(worst.images, imageError))
        }
        return worst
    }

    @Test func aDiffusersFolderMatchesDiffusersEndToEnd() throws {
        let pipe = try DiffusionPipeline.load(folder)
        #expect(pipe.className == "PixArtAlphaPipeline" && pipe.isPixArt && pipe.vaeScaleFactor == 2 && pipe.defaultSide == 16)
        #expect(pipe.tokenizer is T5Tokenizer && pipe.tokenizer.maxLength == 120 && pipe.textEncoder is T5EncoderModel)
        #expect(pipe.denoiser is PixArtTransformer2DModel && pipe.defaultKappa == 4.5)
        // Python's -Infinity (lambda_min_clipped) in the saved scheduler config is read.
        #expect(pipe.scheduler.className == "DPMSolverMultistepScheduler" && pipe.scheduler.values["lambda_min_clipped"] as? String == "-Infinity")
        try checkEveryCase(pipe)
    }

    @Test func onePipelineFileRunsTheSame() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pixart-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = try DiffusionPipeline.load(folder)
        try original.save(to: path)
        let pipe = try DiffusionPipeline.load(path)
        #expect(pipe.className == "PixArtAlphaPipeline" && pipe.scheduler.className == "DPMSolverMultistepScheduler")
        let (a, b) = (try #require(original.tokenizer as? T5Tokenizer), try #require(pipe.tokenizer as? T5Tokenizer))
        #expect(b.maxLength == 120 && b.eos == a.eos && b.pad == a.pad && b.vocabularySize == a.vocabularySize)
        #expect(b.model.scores == a.model.scores && b.addedTokenIDs == a.addedTokenIDs && b.charsMap?.blob == a.charsMap?.blob)
        let texts = ["a red circle", "Café ﬁve ｆｕｌｌｗｉｄｔｈ", "two </s> <pad> <extra_id_3> tokens", "  spaced\tout\n", "",
                     String(repeating: "long prompt words ", count: 60)]
        #expect(try b.batch(texts).inputIDs.scalars == (try a.batch(texts).inputIDs.scalars))
        #expect(try b.batch(texts).attentionMask.scalars == (try a.batch(texts).attentionMask.scalars))
        try checkEveryCase(pipe)
    }

    @Test func nasaSteersThePixArtTransformer() throws {
        let pipe = try DiffusionPipeline.load(folder)
        let latents = try Tensor.randn([1, 4, 8, 8], generator: RandomGenerator(seed: 5))
        func run(_ negative: [String]?) throws -> Tensor {
            try pipe.generate(prompts: ["a red circle"], kappa: 4.5, steps: 3, latents: latents, attentionNegativePrompts: negative,
                              generator: RandomGenerator(seed: 0)).images
        }
        let plain = try run(nil)
        let paths = try pipe.denoiser.enableNASA(alpha: 0.5)
        defer { _ = try? pipe.denoiser.disableNASA() }
        #expect(paths == ["transformer_blocks.0.attn2", "transformer_blocks.1.attn2"], "\(paths)")
        #expect(relativeError(try run(nil), plain) == 0, "NASA without a negative prompt must change nothing")
        let steered = try run(["red"])
        #expect(relativeError(steered, plain) > 1e-3, "NASA with a negative prompt must change the images")
    }

    @Test func promptsArePreprocessedAsPython() {
        // Python's text.lower().strip() on each (what PixArtAlphaPipeline does with clean_caption=False).
        let cases: [(String, String)] = [
            ("  A Red CIRCLE \n", "a red circle"), ("ΟΔΟΣ ΣΑΣ.", "οδος σας."), ("Σ", "σ"), ("aΣ", "aς"), ("ΣΑ", "σα"),
            ("İstanbul", "i\u{307}stanbul"), ("\u{1C}\u{1D}Straße\u{3000}", "straße"), ("ǅ Ǆ", "ǆ ǆ"), ("\u{A0}x\u{2028}", "x"),
            ("MAΣ\u{301} b", "maς\u{301} b"),
        ]
        for (text, python) in cases {
            let ours = DiffusionPipeline.pixArtTextPreprocessing(text)
            #expect(Array(ours.unicodeScalars) == Array(python.unicodeScalars), "\(text.debugDescription) → \(ours.debugDescription), Python \(python.debugDescription)")
        }
    }

    @Test func partsThatDoNotFitAreNamed() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        let pipe = try DiffusionPipeline.load(folder)
        // A T5 of width 48 for a transformer reading captions of 32.
        var t5Config = try #require(pipe.textEncoder as? T5EncoderModel).config.values
        t5Config["d_model"] = 48
        let wide = try T5EncoderModel(config: ModelConfig(architecture: T5EncoderModel.architecture, values: t5Config))
        let m = message { _ = try DiffusionPipeline(className: pipe.className, tokenizer: pipe.tokenizer, textEncoder: wide, denoiser: pipe.denoiser,
                                                    vae: pipe.vae, scheduler: pipe.scheduler, source: "mismatch") }
        #expect(m.contains("captions of width 32 (caption_channels)") && m.contains("states of width 48 (d_model)"), "\(m)")
        // PixArt-α 1024's resolution and aspect-ratio conditions.
        var pixartConfig = pipe.denoiser.config.values
        pixartConfig["use_additional_conditions"] = true
        pixartConfig["num_attention_heads"] = 3
        pixartConfig["attention_head_dim"] = 8
        pixartConfig["cross_attention_dim"] = 24
        let conditioned = try PixArtTransformer2DModel(config: ModelConfig(architecture: PixArtTransformer2DModel.architecture, values: pixartConfig))
        #expect(conditioned.usesAdditionalConditions)
        let c = message { _ = try DiffusionPipeline(className: pipe.className, tokenizer: pipe.tokenizer, textEncoder: pipe.textEncoder,
                                                    denoiser: conditioned, vae: pipe.vae, scheduler: pipe.scheduler, source: "1024") }
        #expect(c.contains("resolution and aspect-ratio conditions") && c.contains("PixArt-α 256 and 512 only"), "\(c)")
        // A Stable Diffusion class with PixArt's parts.
        let s = message { _ = try DiffusionPipeline(className: "StableDiffusionPipeline", tokenizer: pipe.tokenizer, textEncoder: pipe.textEncoder,
                                                    denoiser: pipe.denoiser, vae: pipe.vae, scheduler: pipe.scheduler, source: "sd") }
        #expect(s.contains("a StableDiffusionPipeline runs a CLIPTokenizer, a CLIPTextModel and a UNet2DConditionModel; got T5Tokenizer, T5EncoderModel and PixArtTransformer2DModel"), "\(s)")
        // A folder without a transformer.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pixart-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.copyItem(atPath: folder + "/text_encoder", toPath: scratch + "/text_encoder")
        try #"{"_class_name": "PixArtAlphaPipeline", "text_encoder": ["transformers", "T5EncoderModel"]}"#
            .write(toFile: scratch + "/model_index.json", atomically: true, encoding: .utf8)
        #expect(message { _ = try DiffusionPipeline.load(scratch) }.contains("model_index.json names no transformer"))
    }

    @Test func schedulerConfigsReadPythonsNonFiniteNumbers() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "note": "NaN \"Infinity\"", "x": [NaN, Infinity]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let config = try SchedulerConfig(contentsOf: path)
        #expect(config.values["lambda_min_clipped"] as? String == "-Infinity")
        #expect(config.values["note"] as? String == "NaN \"Infinity\"")
        #expect(config.values["x"] as? [String] == ["NaN", "Infinity"])
        try #"{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -5.1}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try SchedulerConfig(contentsOf: path) }
    }
}
