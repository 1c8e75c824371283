import Checkpoints
import Engine
import Foundation
import Models
import Testing

/// One diffusers / transformers fixture: a model folder plus inputs and PyTorch's outputs.
struct ParityCase: CustomStringConvertible, Sendable {
    let folder: String
    var outputs = "outputs"
    var nasaAlpha: Float? = nil
    var description: String { folder + (nasaAlpha.map { " NASA α=\($0)" } ?? "") }
}

/// Converts the folder the way `snp convert` does, saves and reloads the .h5, runs it.
func runConverted(_ c: ParityCase) throws -> [(name: String, ours: Tensor, reference: Tensor)] {
    let folder = try fixtureFolder(c.folder)
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-parity-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let h5 = scratch.appendingPathComponent("model.h5").path
    try convertFolder(at: folder, to: h5)
    let model = try LoadedModel.load(path: h5)
    model.module.eval()
    if let alpha = c.nasaAlpha { try model.module.enableNASA(alpha: alpha) }
    let inputs = try HDF5File(path: folder + "/inputs.h5"), reference = try HDF5File(path: folder + "/\(c.outputs).h5")
    return try noGrad {
        switch model {
        case .unet(let unet):
            let y = try unet(inputs.readTensor("sample"), timestep: inputs.readTensor("timestep"), context: inputs.readTensor("encoder_hidden_states"),
                             negativeContext: c.nasaAlpha == nil ? nil : inputs.readTensor("negative_encoder_hidden_states"))
            return [("sample", y, try reference.readTensor("sample"))]
        case .pixart(let pixart):
            let y = try pixart(inputs.readTensor("sample"), timestep: inputs.readTensor("timestep"), context: inputs.readTensor("encoder_hidden_states"))
            return [("sample", y, try reference.readTensor("sample"))]
        case .clipText(let clip):
            let (last, pooled) = try clip(inputs.readTensor("input_ids"))
            return [("last_hidden_state", last, try reference.readTensor("last_hidden_state")),
                    ("pooler_output", pooled, try reference.readTensor("pooler_output"))]
        }
    }
}

@Suite("Parity with PyTorch on converted diffusers / transformers folders")
struct ParityTests {
    static let cases: [ParityCase] = [
        ParityCase(folder: "unet_linear"), ParityCase(folder: "unet_conv"), ParityCase(folder: "unet_fp16_sharded"),
        ParityCase(folder: "pixart"), ParityCase(folder: "pixart_bf16"),
        ParityCase(folder: "clip_quick_gelu"), ParityCase(folder: "clip_gelu"),
        ParityCase(folder: "unet_linear", outputs: "outputs_nasa", nasaAlpha: 0.5),
        ParityCase(folder: "unet_linear", outputs: "outputs_nasa_alpha0", nasaAlpha: 0),
    ]

    /// Max relative error (max |ours − torch| / max |torch|) at most 1e-4 on every output.
    @Test(arguments: cases)
    func matchesPyTorch(_ c: ParityCase) throws {
        for (name, ours, reference) in try runConverted(c) {
            #expect(ours.shape == reference.shape, "\(c) \(name) shape")
            let e = errors(ours, reference)
            #expect(e.relative <= 1e-4, "\(c) \(name): max abs error \(e.absolute), relative \(e.relative)")
        }
    }

    /// NASA at α = 0 is exactly the standard processor, bit for bit.
    @Test func nasaAtAlphaZeroEqualsStandardExactly() throws {
        let standard = try runConverted(ParityCase(folder: "unet_linear"))[0].ours
        let nasaZero = try runConverted(ParityCase(folder: "unet_linear", outputs: "outputs_nasa_alpha0", nasaAlpha: 0))[0].ours
        #expect(standard.scalars == nasaZero.scalars)
    }
}

@Suite("Loading checkpoints by architecture")
struct LoadingTests {
    @Test func wrongArchitectureIsAClearError() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-arch-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try convertFolder(at: try fixtureFolder("clip_gelu"), to: scratch)
        do {
            _ = try LoadedModel.load(path: scratch, expecting: "UNet2DConditionModel")
            Issue.record("expected a wrong-architecture error")
        } catch let error as ModelError {
            #expect(error.description == "the checkpoint holds a CLIPTextModel, not a UNet2DConditionModel")
        }
        #expect(try LoadedModel.load(path: scratch, expecting: "CLIPTextModel").architecture == "CLIPTextModel")
        // An architecture Snoopi does not build is named in the error.
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "AutoencoderKL", config: "{}") }
    }

    /// Old transformers checkpoints prefix CLIP's keys with `text_model.` and carry a
    /// `position_ids` buffer: both load into the same model.
    @Test func clipLoadsOldAndNewNames() throws {
        let folder = try fixtureFolder("clip_gelu")
        let checkpoint = try ModelFolder(path: folder).checkpoint()
        var old = try NamedTensors(checkpoint.tensors.map { ("text_model." + $0.name, $0.tensor) })
        old["text_model.embeddings.position_ids"] = try Tensor.arange(0, 20).reshape([1, 20])
        let a = try LoadedModel.build(architecture: "CLIPTextModel", config: checkpoint.config)
        try a.loadTensors(old.dictionary)
        let b = try LoadedModel.load(checkpoint)
        #expect(a.module.stateDict().map(\.tensor.scalars) == b.module.stateDict().map(\.tensor.scalars))
    }
}
