import Checkpoints
import Engine
import Foundation
import Models
import Testing

/// One diffusers / transformers fixture: a model folder plus inputs and PyTorch's outputs.
struct ParityCase: CustomStringConvertible, Sendable {
    let folder: String
    var inputs = "inputs"
    var outputs = "outputs"
    var nasaAlpha: Float? = nil
    var description: String { folder + (inputs == "inputs" ? "" : " " + inputs) + (nasaAlpha.map { " NASA α=\($0)" } ?? "") }
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
    let inputs = try HDF5File(path: folder + "/\(c.inputs).h5"), reference = try HDF5File(path: folder + "/\(c.outputs).h5")
    return try noGrad {
        switch model {
        case .unet(let unet):
            let y = try unet(inputs.readTensor("sample"), timestep: inputs.readTensor("timestep"), context: inputs.readTensor("encoder_hidden_states"),
                             negativeContext: c.nasaAlpha == nil ? nil : inputs.readTensor("negative_encoder_hidden_states"))
            return [("sample", y, try reference.readTensor("sample"))]
        case .pixart(let pixart):
            // diffusers' encoder_attention_mask, where the fixture has one (pixart/inputs_masked.h5).
            let mask = try inputs.kind(of: "encoder_attention_mask") == nil ? nil : inputs.readTensor("encoder_attention_mask")
            let y = try pixart(inputs.readTensor("sample"), timestep: inputs.readTensor("timestep"), context: inputs.readTensor("encoder_hidden_states"),
                               contextMask: mask)
            return [("sample", y, try reference.readTensor("sample"))]
        case .clipText(let clip):
            let (last, pooled) = try clip(inputs.readTensor("input_ids"))
            return [("last_hidden_state", last, try reference.readTensor("last_hidden_state")),
                    ("pooler_output", pooled, try reference.readTensor("pooler_output"))]
        case .clipVision, .clipVisionWithProjection:
            return try visionOutputs(model, inputs.readTensor("pixel_values")).map { ($0.name, $0.tensor, try reference.readTensor($0.name)) }
        case .clipTextWithProjection, .clip:
            return try clipOutputs(model, inputs).map { ($0.name, $0.tensor, try reference.readTensor($0.name)) }
        case .autoencoderKL, .autoencoderTiny:
            return try autoencoderOutputs(model, inputs).map { ($0.name, $0.tensor, try reference.readTensor($0.name)) }
        case .t5Encoder(let t5):
            let ids = try inputs.readTensor("input_ids"), mask = try inputs.readTensor("attention_mask")
            return [("last_hidden_state", try t5(ids, attentionMask: mask), try reference.readTensor("last_hidden_state")),
                    ("last_hidden_state_unmasked", try t5(ids), try reference.readTensor("last_hidden_state_unmasked"))]
        }
    }
}

/// A VAE's outputs on a fixture's inputs, by the names `snp forward` writes (under `noGrad`):
/// AutoencoderKL `mean`, `logvar`, `sample` (decode of the mean), `decoded` (decode of `latents`);
/// AutoencoderTiny `latents`, `decoded`.
func autoencoderOutputs(_ model: LoadedModel, _ inputs: HDF5File) throws -> [(name: String, tensor: Tensor)] {
    try noGrad {
        let (images, latents) = (try inputs.readTensor("sample"), try inputs.readTensor("latents"))
        switch model {
        case .autoencoderKL(let vae):
            let posterior = try vae.encode(images)
            return [("mean", posterior.mean), ("logvar", posterior.logvar), ("sample", try vae.decode(posterior.mean)),
                    ("decoded", try vae.decode(latents))]
        case .autoencoderTiny(let vae):
            return [("latents", try vae.encode(images)), ("decoded", try vae.decode(latents))]
        default:
            throw ModelError.wrongArchitecture(expected: "AutoencoderKL or AutoencoderTiny", found: model.architecture)
        }
    }
}

/// A CLIP vision model's outputs on `pixelValues`, by transformers' names (under `noGrad`).
func visionOutputs(_ model: LoadedModel, _ pixelValues: Tensor) throws -> [(name: String, tensor: Tensor)] {
    try noGrad {
        switch model {
        case .clipVision(let clip):
            let (last, pooled) = try clip(pixelValues)
            return [("last_hidden_state", last), ("pooler_output", pooled)]
        case .clipVisionWithProjection(let clip):
            let (last, pooled, embeds) = try clip(pixelValues)
            return [("last_hidden_state", last), ("pooler_output", pooled), ("image_embeds", embeds)]
        default:
            throw ModelError.wrongArchitecture(expected: "a CLIP vision model", found: model.architecture)
        }
    }
}

/// A CLIPTextModelWithProjection's or CLIPModel's outputs on a fixture's inputs, by transformers'
/// names (under `noGrad`).
func clipOutputs(_ model: LoadedModel, _ inputs: HDF5File) throws -> [(name: String, tensor: Tensor)] {
    try noGrad {
        switch model {
        case .clipTextWithProjection(let clip):
            let (last, pooled, embeds) = try clip(inputs.readTensor("input_ids"))
            return [("last_hidden_state", last), ("pooler_output", pooled), ("text_embeds", embeds)]
        case .clip(let clip):
            let y = try clip(inputIDs: inputs.readTensor("input_ids"), pixelValues: inputs.readTensor("pixel_values"))
            return [("text_embeds", y.textEmbeds), ("image_embeds", y.imageEmbeds), ("logits_per_image", y.logitsPerImage),
                    ("logits_per_text", y.logitsPerText)]
        default:
            throw ModelError.wrongArchitecture(expected: "CLIPTextModelWithProjection or CLIPModel", found: model.architecture)
        }
    }
}

@Suite("Parity with PyTorch on converted diffusers / transformers folders")
struct ParityTests {
    static let cases: [ParityCase] = [
        ParityCase(folder: "unet_linear"), ParityCase(folder: "unet_conv"), ParityCase(folder: "unet_fp16_sharded"),
        ParityCase(folder: "pixart"), ParityCase(folder: "pixart", inputs: "inputs_masked", outputs: "outputs_masked"),
        ParityCase(folder: "pixart_bf16"),
        ParityCase(folder: "clip_quick_gelu"), ParityCase(folder: "clip_gelu"),
        ParityCase(folder: "clip_vision"), ParityCase(folder: "clip_vision_proj"),
        ParityCase(folder: "clip_text_proj"), ParityCase(folder: "clip_model"),
        ParityCase(folder: "vae_kl"), ParityCase(folder: "vae_kl_shift"), ParityCase(folder: "vae_tiny"),
        ParityCase(folder: "t5_encoder"), ParityCase(folder: "t5_encoder_relu"),
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

    /// transformers' CLIPVisionModel and CLIPVisionModelWithProjection: every output (pooler_output
    /// and image_embeds included) within 1e-4 in absolute terms as well, with transformers' shapes.
    @Test(arguments: [("clip_vision", ["last_hidden_state", "pooler_output"]),
                      ("clip_vision_proj", ["last_hidden_state", "pooler_output", "image_embeds"]),
                      ("clip_text_proj", ["last_hidden_state", "pooler_output", "text_embeds"]),
                      ("clip_model", ["text_embeds", "image_embeds", "logits_per_image", "logits_per_text"])])
    func clipVisionMatchesTransformers(_ folder: String, _ names: [String]) throws {
        let results = try runConverted(ParityCase(folder: folder))
        #expect(results.map(\.name) == names)
        for (name, ours, reference) in results {
            #expect(ours.shape == reference.shape, "\(folder) \(name) shape")
            let e = errors(ours, reference)
            print("parity \(folder) \(name): max abs error \(e.absolute), relative \(e.relative)")
            #expect(e.absolute <= 1e-4, "\(folder) \(name): max abs error \(e.absolute)")
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
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "AutoencoderKLWan", config: "{}") }
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

@Suite("CLIP vision models")
struct CLIPVisionTests {
    /// An image of another size, another channel count or another rank is refused, naming the
    /// expected and the given shape (transformers' position interpolation is not built).
    @Test func wrongSizeInputIsAClearError() throws {
        let cases: [(folder: String, architecture: String, expected: String, bad: [[Int]])] = [
            ("clip_vision", "CLIPVisionModel", "[B, 3, 30, 30]", [[2, 3, 24, 24], [1, 3, 30, 16], [2, 1, 30, 30], [3, 30, 30]]),
            ("clip_vision_proj", "CLIPVisionModelWithProjection", "[B, 1, 16, 16]", [[2, 1, 30, 30], [1, 1, 16, 12], [2, 3, 16, 16], [16, 16]]),
        ]
        for (folder, architecture, expected, bad) in cases {
            let model = try LoadedModel.load(ModelFolder(path: try fixtureFolder(folder)).checkpoint())
            for shape in bad {
                do {
                    _ = try visionOutputs(model, Tensor.zeros(shape))
                    Issue.record("\(folder): expected an error for \(shape)")
                } catch let error as ModelError {
                    let got = "[" + shape.map(String.init).joined(separator: ",") + "]"
                    #expect(error.description == "\(architecture): pixel_values must be \(expected) (B ≥ 1: batch, channels, height, width), got \(got)")
                }
            }
        }
    }

    /// Folder → Snoopi HDF5 → `LoadedModel.load(path:)` gives exactly what the folder loaded
    /// directly gives; exported back as a transformers folder (the original's names) and
    /// converted again, the same again.
    @Test(arguments: ["clip_vision", "clip_vision_proj"])
    func conversionRoundTrip(_ folder: String) throws {
        let source = try fixtureFolder(folder)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-vision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let h5 = scratch.appendingPathComponent("model.h5").path, exported = scratch.appendingPathComponent("export").path
        let again = scratch.appendingPathComponent("again.h5").path
        try convertFolder(at: source, to: h5)
        let converted = try LoadedModel.load(path: h5)
        let direct = try LoadedModel.load(ModelFolder(path: source).checkpoint())
        #expect(converted.architecture == direct.architecture)
        let pixels = try HDF5File(path: source + "/inputs.h5").readTensor("pixel_values")
        let reference = try visionOutputs(direct, pixels)
        #expect(try visionOutputs(converted, pixels).map(\.tensor.scalars) == reference.map(\.tensor.scalars))

        try exportFolder(checkpointAt: h5, to: exported)
        let original = try ModelFolder(path: source).checkpoint(), back = try ModelFolder(path: exported).checkpoint()
        #expect(back.architecture == original.architecture)
        #expect(back.tensors.map(\.name).sorted() == original.tensors.map(\.name).sorted())
        try convertFolder(at: exported, to: again)
        let reloaded = try LoadedModel.load(path: again, expecting: direct.architecture)
        #expect(try visionOutputs(reloaded, pixels).map(\.tensor.scalars) == reference.map(\.tensor.scalars))
    }

    /// Checkpoints of transformers before 5 prefix CLIPVisionModel's keys with `vision_model.` and
    /// carry a `position_ids` buffer: both load into the same model (CLIPVisionModelWithProjection
    /// keeps the prefix in every version; its buffer is dropped too).
    @Test func visionLoadsOldAndNewNames() throws {
        for (folder, prefix) in [("clip_vision", "vision_model."), ("clip_vision_proj", "")] {
            let checkpoint = try ModelFolder(path: try fixtureFolder(folder)).checkpoint()
            var old = try NamedTensors(checkpoint.tensors.map { (prefix + $0.name, $0.tensor) })
            let positions = folder == "clip_vision" ? 26 : 17
            old[(prefix.isEmpty ? "vision_model." : prefix) + "embeddings.position_ids"] = try Tensor.arange(0, Float(positions)).reshape([1, positions])
            let a = try LoadedModel.build(architecture: checkpoint.architecture, config: checkpoint.config)
            try a.loadTensors(old.dictionary)
            let b = try LoadedModel.load(checkpoint)
            #expect(a.module.stateDict().map(\.tensor.scalars) == b.module.stateDict().map(\.tensor.scalars))
        }
    }

    /// The parameter names are transformers 5's state_dict keys for each class.
    @Test func parameterNamesAreTransformers() throws {
        let vision = try LoadedModel.build(architecture: "CLIPVisionModel", config: #"{"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 8, "patch_size": 4}"#)
        #expect(vision.module.stateDict().map(\.name).sorted() == [
            "embeddings.class_embedding", "embeddings.patch_embedding.weight", "embeddings.position_embedding.weight",
            "encoder.layers.0.layer_norm1.bias", "encoder.layers.0.layer_norm1.weight", "encoder.layers.0.layer_norm2.bias",
            "encoder.layers.0.layer_norm2.weight", "encoder.layers.0.mlp.fc1.bias", "encoder.layers.0.mlp.fc1.weight",
            "encoder.layers.0.mlp.fc2.bias", "encoder.layers.0.mlp.fc2.weight", "encoder.layers.0.self_attn.k_proj.bias",
            "encoder.layers.0.self_attn.k_proj.weight", "encoder.layers.0.self_attn.out_proj.bias", "encoder.layers.0.self_attn.out_proj.weight",
            "encoder.layers.0.self_attn.q_proj.bias", "encoder.layers.0.self_attn.q_proj.weight", "encoder.layers.0.self_attn.v_proj.bias",
            "encoder.layers.0.self_attn.v_proj.weight", "post_layernorm.bias", "post_layernorm.weight", "pre_layrnorm.bias", "pre_layrnorm.weight",
        ])
        let projected = try LoadedModel.build(architecture: "CLIPVisionModelWithProjection", config: #"{"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 8, "patch_size": 4, "projection_dim": 6}"#)
        let names = projected.module.stateDict().map(\.name)
        #expect(names.filter { !$0.hasPrefix("vision_model.") } == ["visual_projection.weight"])
        #expect(names.filter { $0.hasPrefix("vision_model.") }.map { String($0.dropFirst("vision_model.".count)) }.sorted()
                == vision.module.stateDict().map(\.name).sorted())
        #expect(projected.module.stateDict().first { $0.name == "visual_projection.weight" }?.tensor.shape == [6, 8])
    }

    /// Unknown config keys and unbuilt activations are config errors.
    @Test func configIsChecked() throws {
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "CLIPVisionModel", config: #"{"vision_config": {}}"#) }
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "CLIPVisionModelWithProjection", config: #"{"hidden_act": "relu"}"#) }
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "CLIPVisionModel", config: #"{"image_size": 4, "patch_size": 8}"#) }
    }
}

@Suite("CLIPModel and CLIPTextModelWithProjection")
struct CLIPModelTests {
    /// The parameter names are transformers 5's state_dict keys: the towers' under `text_model.` /
    /// `vision_model.`, the two projections and `logit_scale` (0-d).
    @Test func parameterNamesAreTransformers() throws {
        let config = #"{"text_config": {"vocab_size": 50, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 10, "model_type": "clip_text_model", "projection_dim": 512}, "vision_config": {"hidden_size": 12, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 8, "patch_size": 4, "model_type": "clip_vision_model"}, "projection_dim": 6, "logit_scale_init_value": 2.5, "model_type": "clip"}"#
        let model = try LoadedModel.build(architecture: "CLIPModel", config: config)
        let names = model.module.stateDict().map(\.name)
        #expect(names.filter { !$0.hasPrefix("text_model.") && !$0.hasPrefix("vision_model.") }
                == ["logit_scale", "visual_projection.weight", "text_projection.weight"])
        let text = try LoadedModel.build(architecture: "CLIPTextModel", config: #"{"vocab_size": 50, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 10}"#)
        #expect(names.filter { $0.hasPrefix("text_model.") }.map { String($0.dropFirst("text_model.".count)) }.sorted()
                == text.module.stateDict().map(\.name).sorted())
        let tensors = Dictionary(uniqueKeysWithValues: model.module.stateDict().map { ($0.name, $0.tensor) })
        #expect(tensors["logit_scale"]?.shape == [] && tensors["logit_scale"]?.scalars == [2.5])
        #expect(tensors["visual_projection.weight"]?.shape == [6, 12] && tensors["text_projection.weight"]?.shape == [6, 8])
        let projected = try LoadedModel.build(architecture: "CLIPTextModelWithProjection", config: #"{"vocab_size": 50, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 10, "projection_dim": 4}"#)
        #expect(projected.module.stateDict().map(\.name).filter { !$0.hasPrefix("text_model.") } == ["text_projection.weight"])
    }

    /// Sub-configs are checked as their own architectures' configs, naming where the key is.
    @Test func configIsChecked() throws {
        do {
            _ = try LoadedModel.build(architecture: "CLIPModel", config: #"{"text_config": {"vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}, "vision_config": {"hidden_act": "relu"}}"#)
            Issue.record("expected a config error")
        } catch let error as ModelError {
            #expect(error.description.contains("CLIPModel vision_config") && error.description.contains("relu"), "\(error)")
        }
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "CLIPModel", config: #"{"text_config": 3}"#) }
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "CLIPModel", config: #"{"image_size": 3}"#) }
        #expect(throws: ModelError.self) { try LoadedModel.build(architecture: "CLIPTextModelWithProjection", config: #"{"projection_dim": 0}"#) }
    }

    /// Old checkpoints carry `position_ids` buffers in both towers: they are dropped on load; the
    /// folder converted to HDF5 and exported back has transformers' names again.
    @Test(arguments: ["clip_text_proj", "clip_model"])
    func conversionRoundTrip(_ folder: String) throws {
        let source = try fixtureFolder(folder)
        let checkpoint = try ModelFolder(path: source).checkpoint()
        var old = checkpoint.tensors
        old["text_model.embeddings.position_ids"] = try Tensor.arange(0, 4).reshape([1, 4])
        if folder == "clip_model" { old["vision_model.embeddings.position_ids"] = try Tensor.arange(0, 17).reshape([1, 17]) }
        let a = try LoadedModel.build(architecture: checkpoint.architecture, config: checkpoint.config)
        try a.loadTensors(old.dictionary)
        let direct = try LoadedModel.load(checkpoint)
        #expect(a.module.stateDict().map(\.tensor.scalars) == direct.module.stateDict().map(\.tensor.scalars))

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-clipmodel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let h5 = scratch.appendingPathComponent("model.h5").path, exported = scratch.appendingPathComponent("export").path
        try convertFolder(at: source, to: h5)
        let inputs = try HDF5File(path: source + "/inputs.h5")
        let reference = try clipOutputs(direct, inputs).map(\.tensor.scalars)
        #expect(try clipOutputs(LoadedModel.load(path: h5), inputs).map(\.tensor.scalars) == reference)
        try exportFolder(checkpointAt: h5, to: exported)
        let back = try ModelFolder(path: exported).checkpoint()
        #expect(back.architecture == checkpoint.architecture)
        #expect(back.tensors.map(\.name).sorted() == checkpoint.tensors.map(\.name).sorted())
        #expect(try clipOutputs(LoadedModel.load(back), inputs).map(\.tensor.scalars) == reference)
    }
}
