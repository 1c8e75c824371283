import Diffusion
import Distill
import Engine
import Foundation
import Models
import Testing

/// The tiny random-weight SD pipeline of the Diffusion tests (Scripts/make_pipeline_fixtures.py).
private let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("DiffusionTests/Fixtures/pipeline_sd/folder").path

private func options(studentLoRA: Int? = nil) throws -> LatentDistillOptions {
    var o = try LatentDistillOptions()
    o.batchSize = 2
    o.learningRate = 1e-3
    o.loraRank = 4
    o.studentLoRARank = studentLoRA
    o.seed = 7
    return o
}

private let prompts = ["a red circle", "two blue squares", "a green triangle on grey"]

private func largest(_ a: [(name: String, tensor: Tensor)], _ b: [(name: String, tensor: Tensor)]) -> Float {
    zip(a, b).map { zip($0.tensor.scalars, $1.tensor.scalars).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
}

@Suite("Latent-space distillation of a pipeline", .serialized)
struct LatentDistillationTests {
    @Test func vsdStepsMoveTheStudentAndItsPipelineDrawsWhatItDraws() throws {
        let pipe = try DiffusionPipeline.load(folder)
        let trainer = try LatentDistillTrainer(pipeline: pipe, prompts: prompts, options: options())
        let before = trainer.student.stateDict().map { ($0.name, try! $0.tensor.detach().copy()) }
        // Step 1: the LoRA teacher starts equal to the frozen one (its up projections are zero), so
        // g = 0 and the student does not move; the LoRA teacher's own step makes them differ.
        let first = try trainer.trainStep()
        #expect(first["g_rms"] == 0 && first["grad_norm"] == 0 && first["lora_loss"]!.isFinite && first["lora_loss"]! > 0, "\(first)")
        for _ in 0..<2 {
            let m = try trainer.trainStep()
            #expect(m["loss"]!.isFinite && m["g_rms"]! > 0 && m["grad_norm"]! > 0, "\(m)")
        }
        #expect(largest(before, trainer.student.stateDict()) > 1e-5, "the student did not move")
        // The frozen teacher is untouched: the pipeline's own UNet still equals a fresh load.
        #expect(largest(try DiffusionPipeline.load(folder).denoiser.stateDict(), pipe.denoiser.stateDict()) == 0)

        // The student's pipeline, one DDIM step (trailing, final ᾱ 1) at κ 0, gives the student's own images.
        let z = try Tensor.randn([2, 4, 8, 8], generator: RandomGenerator(seed: 3))
        let own = try trainer.generate(prompts: ["a red circle", "a cat"], noise: z, generator: RandomGenerator(seed: 0))
        let studentPipe = try trainer.studentPipeline()
        let viaPipeline = try studentPipe.generate(prompts: ["a red circle", "a cat"], kappa: 0, steps: 1, latents: z,
                                                   generator: RandomGenerator(seed: 0)).images
        let ownLatents = try noGrad { try trainer.x0(noise: z, context: pipe.encode(["a red circle", "a cat"])) }
        let pipelineLatents = try studentPipe.generate(prompts: ["a red circle", "a cat"], kappa: 0, steps: 1, latents: z,
                                                       generator: RandomGenerator(seed: 0)).latents
        let latentError = zip(ownLatents.scalars, pipelineLatents.scalars).map { abs($0 - $1) }.max() ?? 1
        let error = zip(own.scalars, viaPipeline.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(latentError < 1e-4 && error < 1e-4, "the student pipeline differs from the student by \(latentError) in latents, \(error) in images")
        #expect(studentPipe.scheduler.className == "DDIMScheduler")
        // And it survives a file.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("student-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trainer.saveStudent(to: path)
        let reloaded = try DiffusionPipeline.load(path).generate(prompts: ["a red circle", "a cat"], kappa: 0, steps: 1, latents: z,
                                                                generator: RandomGenerator(seed: 0)).images
        #expect(reloaded.scalars == viaPipeline.scalars)
    }

    @Test func aResumedRunContinuesExactly() throws {
        // Each trainer puts its LoRA teacher on its pipeline's own denoiser: one pipeline each.
        let straight = try LatentDistillTrainer(pipeline: DiffusionPipeline.load(folder), prompts: prompts, options: options())
        for _ in 0..<3 { _ = try straight.trainStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("latent-run-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try LatentDistillTrainer(pipeline: DiffusionPipeline.load(folder), prompts: prompts, options: options())
        try runTraining(first, steps: 2, schedule: TrainingSchedule(logEvery: 1, checkpointPath: path))
        let resumed = try LatentDistillTrainer.resume(from: path, pipeline: DiffusionPipeline.load(folder), prompts: prompts, options: options())
        #expect(resumed.step == 2 && resumed.history.steps == [1, 2])
        _ = try resumed.trainStep()
        #expect(largest(straight.student.namedParameters(), resumed.student.namedParameters()) == 0)
        #expect(largest(straight.teachers.namedParameters(), resumed.teachers.namedParameters()) == 0)
    }

    @Test func aLoRAStudentTrainsOnlyItsAdaptersAndMergesThem() throws {
        let pipe = try DiffusionPipeline.load(folder)
        let trainer = try LatentDistillTrainer(pipeline: pipe, prompts: prompts, options: options(studentLoRA: 2))
        let base = trainer.student.stateDict().map { ($0.name, try! $0.tensor.detach().copy()) }
        let trainable = trainer.student.namedParameters().filter { $0.tensor.requiresGrad }
        #expect(!trainable.isEmpty && trainable.allSatisfy { $0.name.contains("lora") }, "\(trainable.map(\.name).prefix(3))")
        for _ in 0..<2 { _ = try trainer.trainStep() }
        #expect(largest(base, trainer.student.stateDict()) == 0, "the student's base weights moved")
        let z = try Tensor.randn([1, 4, 8, 8], generator: RandomGenerator(seed: 4))
        let own = try trainer.generate(prompts: ["a red circle"], noise: z, generator: RandomGenerator(seed: 0))
        let merged = try trainer.studentPipeline().generate(prompts: ["a red circle"], kappa: 0, steps: 1, latents: z, generator: RandomGenerator(seed: 0)).images
        #expect((zip(own.scalars, merged.scalars).map { abs($0 - $1) }.max() ?? 1) < 1e-4)
        let plain = try pipe.generate(prompts: ["a red circle"], kappa: 0, steps: 1, sampler: .euler, latents: z, generator: RandomGenerator(seed: 0)).images
        #expect((zip(own.scalars, plain.scalars).map { abs($0 - $1) }.max() ?? 0) > 1e-5, "the adapters changed nothing")
    }

    @Test func aPipelineWithoutPromptsOrUsedTwiceIsRefused() throws {
        let pipe = try DiffusionPipeline.load(folder)
        #expect(throws: DistillError.self) { _ = try LatentDistillTrainer(pipeline: pipe, prompts: [], options: options()) }
        _ = try LatentDistillTrainer(pipeline: pipe, prompts: prompts, options: options())
        do {
            _ = try LatentDistillTrainer(pipeline: pipe, prompts: prompts, options: options())
            Issue.record("a second trainer on the same pipeline object was accepted")
        } catch {
            #expect("\(error)".contains("already carries LoRA adapters"), "\(error)")
        }
    }
}
