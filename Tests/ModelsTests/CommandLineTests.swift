import Checkpoints
import Engine
import Foundation
import Testing

/// Runs the `snp` built next to the test binary; returns exit status, stdout and stderr.
func runSnp(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let directory = Bundle.main.executableURL!.deletingLastPathComponent()
    let snp = directory.appendingPathComponent("snp")
    guard FileManager.default.isExecutableFile(atPath: snp.path) else { throw FixtureMissing(name: "snp binary at \(snp.path)") }
    let process = Process()
    process.executableURL = snp
    process.arguments = arguments
    let (out, err) = (Pipe(), Pipe())
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

@Suite("snp command line", .serialized)
struct CommandLineTests {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-cli-\(UUID().uuidString)").path

    init() throws { try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true) }

    @Test func usageAndExitCodes() throws {
        let help = try runSnp(["help"])  // `snp` alone is the REPL
        #expect(help.status == 0 && help.out.contains("convert") && help.out.contains("forward"))
        let unknown = try runSnp(["frobnicate"])
        #expect(unknown.status == 64 && unknown.err.contains("unknown command 'frobnicate'"))
        let missing = try runSnp(["forward", "--inputs", "x.h5"])
        #expect(missing.status == 64 && missing.err.contains("--checkpoint is required"))
        let typo = try runSnp(["inspect", "--verbose", "a.h5"])
        #expect(typo.status == 64 && typo.err.contains("unknown option --verbose"))
    }

    @Test func badFilesAreClearErrors() throws {
        let text = scratch + "/notes.h5"
        try "not hdf5".write(toFile: text, atomically: true, encoding: .utf8)
        let inspect = try runSnp(["inspect", text])
        #expect(inspect.status == 70 && inspect.err.contains(text))
        let nothing = try runSnp(["inspect", scratch + "/absent.h5"])
        #expect(nothing.status == 70 && nothing.err.contains("absent.h5"))
        let folder = try runSnp(["convert", scratch, scratch + "/out.h5"])
        #expect(folder.status == 70 && folder.err.contains("config.json"))
        #expect(!FileManager.default.fileExists(atPath: scratch + "/out.h5"))
    }

    /// convert → inspect → forward (with NASA) → convert back, through the binary.
    @Test func convertInspectForwardExport() throws {
        let fixture = try fixtureFolder("unet_linear"), model = scratch + "/unet.h5"
        #expect(try runSnp(["convert", fixture, model]).status == 0)
        let inspect = try runSnp(["inspect", model])
        #expect(inspect.out.contains("UNet2DConditionModel") && inspect.out.contains("792964"))
        #expect(try runSnp(["forward", "--checkpoint", model, "--inputs", fixture + "/inputs.h5", "--out", scratch + "/nasa.h5",
                            "--nasa-alpha", "0.5"]).status == 0)
        let ours = try HDF5File(path: scratch + "/nasa.h5").readTensor("sample")
        let reference = try HDF5File(path: fixture + "/outputs_nasa.h5").readTensor("sample")
        #expect(errors(ours, reference).relative < 1e-4)
        let bad = try runSnp(["forward", "--checkpoint", model, "--inputs", fixture + "/inputs.h5", "--out", scratch + "/x.h5", "--nasa-layers", "up_blocks.**"])
        #expect(bad.status == 64 && bad.err.contains("--nasa-alpha"))
        // Back to a diffusers folder, and in again: the same tensors.
        #expect(try runSnp(["convert", "--to-diffusers", model, scratch + "/folder"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: scratch + "/folder/diffusion_pytorch_model.safetensors"))
        #expect(try runSnp(["convert", scratch + "/folder", scratch + "/again.h5"]).status == 0)
        let a = try Checkpoint.load(model), b = try Checkpoint.load(scratch + "/again.h5")
        #expect(a.tensors.names == b.tensors.names)
        #expect(a.tensors.allSatisfy { $0.tensor.scalars == b.tensors[$0.name]!.scalars })
    }

    /// `snp forward` on a CLIPVisionModelWithProjection reads `pixel_values` and writes all three
    /// outputs, each as transformers computes it.
    @Test func forwardRunsCLIPVision() throws {
        let fixture = try fixtureFolder("clip_vision_proj"), model = scratch + "/vision.h5", out = scratch + "/vision-out.h5"
        #expect(try runSnp(["convert", fixture, model]).status == 0)
        let run = try runSnp(["forward", "--checkpoint", model, "--inputs", fixture + "/inputs.h5", "--out", out])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("image_embeds [3,24]") || run.out.contains("image_embeds [3, 24]"), "\(run.out)")
        let (ours, reference) = (try HDF5File(path: out), try HDF5File(path: fixture + "/outputs.h5"))
        for name in ["last_hidden_state", "pooler_output", "image_embeds"] {
            #expect(errors(try ours.readTensor(name), try reference.readTensor(name)).absolute <= 1e-4, "\(name)")
        }
    }

    /// `snp forward` on the VAEs reads images `sample` and raw `latents` and writes what the
    /// fixture's outputs.h5 holds (AutoencoderKL: mean, logvar, sample, decoded; AutoencoderTiny:
    /// latents, decoded); inputs with neither are a usage error naming both.
    @Test(arguments: ["vae_kl", "vae_tiny"])
    func forwardRunsVAEs(_ folder: String) throws {
        let fixture = try fixtureFolder(folder), model = scratch + "/\(folder).h5", out = scratch + "/\(folder)-out.h5"
        let convert = try runSnp(["convert", fixture, model])
        #expect(convert.status == 0 && convert.out.contains(folder == "vae_kl" ? "AutoencoderKL" : "AutoencoderTiny"), "\(convert.err)")
        let run = try runSnp(["forward", "--checkpoint", model, "--inputs", fixture + "/inputs.h5", "--out", out])
        #expect(run.status == 0, "\(run.err)")
        let (ours, reference) = (try HDF5File(path: out), try HDF5File(path: fixture + "/outputs.h5"))
        let names = try reference.datasets().map(\.name).sorted()
        #expect(try ours.datasets().map(\.name).sorted() == names)
        #expect(names == (folder == "vae_kl" ? ["decoded", "logvar", "mean", "sample"] : ["decoded", "latents"]))
        for name in names {
            #expect(errors(try ours.readTensor(name), try reference.readTensor(name)).relative <= 1e-4, "\(folder) \(name)")
        }
        let empty = scratch + "/\(folder)-empty.h5"
        try HDF5Writer.write(to: empty) { w in try w.write(Tensor.zeros([1]), to: "timestep") }
        let bad = try runSnp(["forward", "--checkpoint", model, "--inputs", empty, "--out", scratch + "/x.h5"])
        #expect(bad.status == 64 && bad.err.contains("`sample`") && bad.err.contains("`latents`"), "\(bad.err)")
    }

    /// `snp forward` on a T5EncoderModel reads `input_ids` and the optional `attention_mask`.
    @Test func forwardRunsT5Encoder() throws {
        let fixture = try fixtureFolder("t5_encoder"), model = scratch + "/t5.h5", out = scratch + "/t5-out.h5"
        let convert = try runSnp(["convert", fixture, model])
        #expect(convert.status == 0 && convert.out.contains("T5EncoderModel"), "\(convert.err)")
        let run = try runSnp(["forward", "--checkpoint", model, "--inputs", fixture + "/inputs.h5", "--out", out])
        #expect(run.status == 0, "\(run.err)")
        let ours = try HDF5File(path: out).readTensor("last_hidden_state")
        #expect(errors(ours, try HDF5File(path: fixture + "/outputs.h5").readTensor("last_hidden_state")).absolute <= 1e-4)
    }
}

@Suite("Choosing OpenBLAS kernels at start-up")
struct KernelSelectionTests {
    /// With OpenBLAS's choice taken as Haswell, an AVX-512 machine re-executes `snp` once with
    /// OPENBLAS_CORETYPE=SkylakeX, keeping its arguments; without AVX-512 nothing happens.
    @Test func reexecutesWithTheAVX512Kernels() throws {
        let directory = Bundle.main.executableURL!.deletingLastPathComponent()
        let process = Process()
        process.executableURL = directory.appendingPathComponent("snp")
        process.arguments = ["kernels"]
        var environment = ProcessInfo.processInfo.environment
        environment["SNP_BLAS_ASSUME_CORE"] = "Haswell"
        environment.removeValue(forKey: "OPENBLAS_CORETYPE")
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        if text.contains("AVX-512: yes") {
            #expect(text.contains("re-executed with OPENBLAS_CORETYPE=SkylakeX"), "\(text)")
            #expect(text.contains("kernels: SkylakeX"), "\(text)")
        } else {
            #expect(text.contains("no AVX-512"), "\(text)")
        }
    }
}
