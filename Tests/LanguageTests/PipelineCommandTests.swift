import Checkpoints
import Foundation
import Testing

/// A diffusers pipeline folder through the command line and the language: `snp convert` to one
/// file, `snp generate --pipeline` with and without NASA, `pipeline(…)` + `sample` + `nasa`.
@Suite("Pipelines from the command line", .serialized)
struct PipelineCommandTests {
    let folder = repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/pipeline_sd/folder").path

    @Test func convertThenGenerateWithAndWithoutNASA() throws {
        let scratch = try scratchFolder("pipeline-cli"), file = scratch + "/pipe.h5"
        let convert = try runSnp(["convert", folder, file])
        #expect(convert.status == 0 && convert.out.contains("StableDiffusionPipeline"), "\(convert.err)")
        let common = ["generate", "--pipeline", file, "--prompt", "a red circle", "--count", "2", "--steps", "3", "--kappa", "5"]
        let plain = try runSnp(common + ["--out", scratch + "/plain.h5", "--grid", scratch + "/plain.png"])
        #expect(plain.status == 0, "\(plain.err)")
        let steered = try runSnp(common + ["--negative", "red", "--alpha", "0.8", "--out", scratch + "/nasa.h5"])
        #expect(steered.status == 0 && steered.out.contains("2 images of 16×16"), "\(steered.err)")
        let cfg = try runSnp(common + ["--negative", "red", "--method", "cfg", "--out", scratch + "/cfg.h5"])
        #expect(cfg.status == 0, "\(cfg.err)")
        let a = try ImageSetFile.load(scratch + "/plain.h5"), b = try ImageSetFile.load(scratch + "/nasa.h5"), c = try ImageSetFile.load(scratch + "/cfg.h5")
        #expect(a.images.shape == [2, 3, 16, 16] && a.prompts == ["a red circle", "a red circle"])
        let nasaChange = zip(a.images.scalars, b.images.scalars).map { abs($0 - $1) }.max() ?? 0
        let cfgChange = zip(a.images.scalars, c.images.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(nasaChange > 1e-3 && cfgChange > 1e-3, "NASA changed \(nasaChange), CFG \(cfgChange)")
        #expect(FileManager.default.fileExists(atPath: scratch + "/plain.png"))
        // The folder itself gives the same images as the converted file.
        let direct = try runSnp(["generate", "--pipeline", folder, "--prompt", "a red circle", "--count", "2", "--steps", "3", "--kappa", "5",
                                 "--out", scratch + "/direct.h5"])
        #expect(direct.status == 0)
        #expect(try ImageSetFile.load(scratch + "/direct.h5").images.scalars == a.images.scalars)
        // Mistakes are named.
        let bad = try runSnp(["generate", "--pipeline", folder, "--prompt", "x", "--negative", "red", "--method", "cfg", "--kappa", "1", "--grid", scratch + "/x.png"])
        #expect(bad.status == 64 && bad.err.contains("runs only for --kappa > 1"), "\(bad.err)")
        let missing = try runSnp(["generate", "--pipeline", scratch + "/none", "--prompt", "x", "--grid", scratch + "/x.png"])
        #expect(missing.status != 0 && missing.err.contains("no such file or folder"), "\(missing.err)")
    }

    @Test func distilInLatentSpaceThenGenerateInOneStep() throws {
        let scratch = try scratchFolder("pipeline-distill"), student = scratch + "/student.h5"
        try "a red circle\ntwo blue squares\n".write(toFile: scratch + "/prompts.txt", atomically: true, encoding: .utf8)
        let common = ["distill", "--pipeline", folder, "--prompts", scratch + "/prompts.txt", "--batch", "2", "--lr", "1e-3",
                      "--lora-rank", "4", "--student-lora", "2", "--out", student]
        let half = try runSnp(common + ["--steps", "2"])
        #expect(half.status == 0 && half.out.contains("LoRA rank 2"), "\(half.err)")
        let rest = try runSnp(common + ["--steps", "3", "--resume", "--grid", scratch + "/students.png"])
        #expect(rest.status == 0 && rest.out.contains("resuming") && rest.out.contains("3 steps in"), "\(rest.err)")
        #expect(FileManager.default.fileExists(atPath: scratch + "/students.png"))
        let one = try runSnp(["generate", "--pipeline", student, "--prompt", "a red circle", "--kappa", "0", "--steps", "1",
                              "--out", scratch + "/one.h5"])
        #expect(one.status == 0 && one.out.contains("DDIMScheduler"), "\(one.err)")
        #expect(try ImageSetFile.load(scratch + "/one.h5").images.shape == [1, 3, 16, 16])
        let bad = try runSnp(["distill", "--pipeline", folder, "--prompts", scratch + "/prompts.txt", "--method", "sbv2", "--out", student])
        #expect(bad.status == 64 && bad.err.contains("not available for pipelines yet"), "\(bad.err)")
    }

    @Test func theLanguageRunsAPipelineWithNASA() throws {
        let run = try runSnp(["-e", """
        let pipe = pipeline("\(folder)")
        print(pipe.class_name, pipe.side)
        let a = sample(pipe, ["a red circle"], kappa: 5, steps: 3, seed: 1)
        print(shape(a))
        print(len(nasa(pipe, alpha: 0.5)))
        let b = sample(pipe, ["a red circle"], kappa: 5, steps: 3, seed: 1, nasa_negative: "red")
        let c = sample(pipe, ["a red circle"], kappa: 5, steps: 3, seed: 1)
        print(item(max(abs(a - b))) > 0.001, item(max(abs(a - c))))
        print(shape(sample(pipe, ["a red circle"], kappa: 0, steps: 1, sampler: "scheduler")))
        """])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out == "StableDiffusionPipeline 16\n[1, 3, 16, 16]\n4\ntrue 0\n[1, 3, 16, 16]\n", "\(run.out)")
    }
}
