import Checkpoints
import Diffusion
import Engine
import Foundation
import Models
import Testing

/// A tiny random-weight StableDiffusionPipeline (Scripts/make_pipeline_fixtures.py) run end to
/// end against diffusers' own output on the same initial latents: text encoder → scheduler's
/// sampler with CFG and negative prompts → VAE decode.
@Suite("Pipelines against diffusers", .serialized)
struct PipelineTests {
    let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("pipeline_sd")
    var folder: String { root.appendingPathComponent("folder").path }

    func cases() throws -> [String: [String: Any]] {
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("reference.json"))) as! [String: Any]
        return doc["cases"] as! [String: [String: Any]]
    }

    /// Runs every fixture case on `pipe` and compares latents and images with diffusers'.
    func checkEveryCase(_ pipe: DiffusionPipeline) throws {
        let reference = try HDF5File(path: root.appendingPathComponent("reference.h5").path)
        let all = try cases()
        #expect(all.count == 3)
        for (name, c) in all {
            let kind: WorldTeacher.SamplerKind? = switch c["scheduler"] as? String {
            case "EulerDiscreteScheduler": .euler
            case "DPMSolverMultistepScheduler": .dpmsolver
            default: nil
            }
            var p = pipe
            if let spacing = c["spacing"] as? String {
                // from_config(…, timestep_spacing:) on the diffusers side.
                var values = pipe.scheduler.values
                values["timestep_spacing"] = spacing
                p = try DiffusionPipeline(className: pipe.className, tokenizer: pipe.tokenizer, textEncoder: pipe.textEncoder,
                                          denoiser: pipe.denoiser, vae: pipe.vae, scheduler: SchedulerConfig(values), source: pipe.source)
            }
            let out = try p.generate(prompts: c["prompts"] as! [String], negativePrompts: c["negative"] as? [String],
                                     kappa: Float((c["guidance"] as! NSNumber).doubleValue), steps: c["steps"] as! Int, sampler: kind,
                                     height: 16, width: 16, latents: reference.readTensor("\(name)/latents"),
                                     generator: RandomGenerator(seed: 0))
            let latentError = relativeError(out.latents, try reference.readTensor("\(name)/final_latents"))
            #expect(latentError <= 1e-4, "\(name): final latents differ from diffusers' by \(latentError) (relative)")
            // diffusers' "pt" output: (image / 2 + 0.5).clamp(0, 1).
            let images = try (out.images * 0.5 + 0.5).clamp(min: 0, max: 1)
            let expected = try reference.readTensor("\(name)/images")
            let imageError = zip(images.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 1
            #expect(images.shape == expected.shape && imageError <= 1e-4, "\(name): images differ by \(imageError)")
            // Not a blank: the decoded images vary.
            let values = images.scalars
            #expect((values.max() ?? 0) - (values.min() ?? 0) > 0.3, "\(name): images are flat")
        }
    }

    @Test func aDiffusersFolderMatchesDiffusersEndToEnd() throws {
        let pipe = try DiffusionPipeline.load(folder)
        #expect(pipe.className == "StableDiffusionPipeline" && pipe.vaeScaleFactor == 2 && pipe.defaultSide == 16)
        #expect(pipe.tokenizer.maxLength == 16)
        try checkEveryCase(pipe)
    }

    @Test func onePipelineFileRunsTheSame() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try DiffusionPipeline.load(folder).save(to: path)
        let pipe = try DiffusionPipeline.load(path)
        #expect(pipe.className == "StableDiffusionPipeline" && pipe.scheduler.className == "DDIMScheduler")
        try checkEveryCase(pipe)
    }

    @Test func nasaChangesTheImagesOnlyWithANegativePrompt() throws {
        let pipe = try DiffusionPipeline.load(folder)
        let latents = try Tensor.randn([1, 4, 8, 8], generator: RandomGenerator(seed: 5))
        func run(_ negative: [String]?) throws -> Tensor {
            try pipe.generate(prompts: ["a red circle"], kappa: 4, steps: 3, latents: latents, attentionNegativePrompts: negative,
                              generator: RandomGenerator(seed: 0)).images
        }
        let plain = try run(nil)
        let paths = try pipe.denoiser.enableNASA(alpha: 0.5)
        defer { _ = try? pipe.denoiser.disableNASA() }
        #expect(paths.count == 4 && paths.allSatisfy { $0.hasSuffix("attn2") }, "\(paths)")
        #expect(relativeError(try run(nil), plain) == 0, "NASA without a negative prompt must change nothing")
        let steered = try run(["red"])
        #expect(relativeError(steered, plain) > 1e-3, "NASA with a negative prompt must change the images")
    }

    @Test func badFoldersAreNamed() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pipe-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        #expect(message { _ = try DiffusionPipeline.load(scratch + "/none") }.contains("no such file or folder"))
        #expect(message { _ = try DiffusionPipeline.load(scratch) }.contains("has no model_index.json"))
        try #"{"_class_name": "KandinskyPipeline"}"#.write(toFile: scratch + "/model_index.json", atomically: true, encoding: .utf8)
        #expect(message { _ = try DiffusionPipeline.load(scratch) }.contains("is a KandinskyPipeline; Snoopi runs StableDiffusionPipeline"))
        try #"{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}"#
            .write(toFile: scratch + "/model_index.json", atomically: true, encoding: .utf8)
        #expect(message { _ = try DiffusionPipeline.load(scratch) }.contains("model_index.json names no text_encoder"))
        let pipe = try DiffusionPipeline.load(folder)
        #expect(message { _ = try pipe.generate(prompts: ["a"], height: 15, generator: RandomGenerator(seed: 0)) }.contains("multiples of 2"))
        #expect(message { _ = try pipe.generate(prompts: ["a"], negativePrompts: ["b", "c"], generator: RandomGenerator(seed: 0)) }
            .contains("need one per prompt"))
        #expect(message { _ = try pipe.generate(prompts: ["a"], latents: Tensor.zeros([1, 4, 4, 4]), generator: RandomGenerator(seed: 0)) }
            .contains("must be [1, 4, 8, 8]"))
    }
}
