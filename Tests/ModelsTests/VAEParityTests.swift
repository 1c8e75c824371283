import Checkpoints
import Engine
import Foundation
import Models
import Testing

/// A VAE fixture converted as `snp convert` does and loaded, with its inputs, outputs and extras.
struct VAEFixture {
    let model: LoadedModel
    let inputs: HDF5File, outputs: HDF5File, extras: HDF5File

    init(_ folder: String) throws {
        let path = try fixtureFolder(folder)
        let h5 = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-vae-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: h5) }
        try convertFolder(at: path, to: h5)
        model = try LoadedModel.load(path: h5)
        model.module.eval()
        (inputs, outputs, extras) = (try HDF5File(path: path + "/inputs.h5"), try HDF5File(path: path + "/outputs.h5"),
                                     try HDF5File(path: path + "/extras.h5"))
    }

    var autoencoder: any LatentAutoencoder {
        switch model {
        case .autoencoderKL(let vae): return vae
        case .autoencoderTiny(let vae): return vae
        default: fatalError("not a VAE fixture: \(model.architecture)")
        }
    }

    /// Ours against the fixture's `file`/`name`: same shape, relative error ≤ 1e-4 (printed).
    func expectClose(_ ours: Tensor, _ name: String, in file: HDF5File, _ label: String) throws {
        let reference = try file.readTensor(name)
        #expect(ours.shape == reference.shape, "\(label) \(name) shape \(ours.shape) vs \(reference.shape)")
        let e = errors(ours, reference)
        print("parity \(label) \(name): max abs error \(e.absolute), relative \(e.relative)")
        #expect(e.relative <= 1e-4, "\(label) \(name): max abs error \(e.absolute), relative \(e.relative)")
    }
}

@Suite("AutoencoderKL and AutoencoderTiny against diffusers")
struct VAEParityTests {
    static let folders = ["vae_kl", "vae_kl_shift", "vae_tiny"]

    /// encode (mean and logvar, or TAESD's latents) and decode, through the Swift API.
    @Test(arguments: folders)
    func encodeAndDecode(_ folder: String) throws {
        let f = try VAEFixture(folder)
        let images = try f.inputs.readTensor("sample"), latents = try f.inputs.readTensor("latents")
        try noGrad {
            switch f.model {
            case .autoencoderKL(let vae):
                let posterior = try vae.encode(images)
                try f.expectClose(posterior.mean, "mean", in: f.outputs, folder)
                try f.expectClose(posterior.logvar, "logvar", in: f.outputs, folder)
                // std is exp(logvar / 2), the mode the mean.
                let std = posterior.logvar.scalars.map { Foundation.exp($0 / 2) }
                #expect(zip(posterior.std.scalars, std).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
                #expect(posterior.mode.scalars == posterior.mean.scalars)
                try f.expectClose(vae.decode(latents), "decoded", in: f.outputs, folder)
            case .autoencoderTiny(let vae):
                try f.expectClose(vae.encode(images), "latents", in: f.outputs, folder)
                try f.expectClose(vae.decode(latents), "decoded", in: f.outputs, folder)
            default:
                Issue.record("\(folder) is a \(f.model.architecture)")
            }
        }
    }

    /// images → latents → images, as diffusers' AutoencoderKL.forward does (decode of the mean), and
    /// TAESD's decode(encode(x)) (without AutoencoderTiny.forward's uint8 quantisation).
    @Test(arguments: folders)
    func roundTrip(_ folder: String) throws {
        let f = try VAEFixture(folder)
        let images = try f.inputs.readTensor("sample")
        try noGrad {
            switch f.model {
            case .autoencoderKL(let vae): try f.expectClose(vae.decode(vae.encode(images).mean), "sample", in: f.outputs, folder)
            case .autoencoderTiny(let vae): try f.expectClose(vae.decode(vae.encode(images)), "round_trip", in: f.extras, folder)
            default: Issue.record("\(folder) is a \(f.model.architecture)")
            }
        }
    }

    /// latents(fromImages:) = (encode − shift_factor) · scaling_factor and images(fromLatents:) =
    /// decode(z / scaling_factor + shift_factor), against the same formulas in PyTorch; TAESD's
    /// scale_latents / unscale_latents.
    @Test(arguments: folders)
    func scalingHelpers(_ folder: String) throws {
        let f = try VAEFixture(folder)
        let vae = f.autoencoder
        let images = try f.inputs.readTensor("sample"), latents = try f.inputs.readTensor("latents")
        try noGrad {
            try f.expectClose(vae.latents(fromImages: images), "latents_from_images", in: f.extras, folder)
            try f.expectClose(vae.images(fromLatents: latents), "images_from_latents", in: f.extras, folder)
            if case .autoencoderTiny(let tiny) = f.model {
                let scaled = try tiny.scaleLatents(tiny.encode(images))
                try f.expectClose(scaled, "scale_latents", in: f.extras, folder)
                try f.expectClose(tiny.unscaleLatents(scaled), "unscale_latents", in: f.extras, folder)
            }
        }
    }

    /// The config's factors are the ones the helpers use (so the test above could fail on them).
    @Test func scalingFactorsComeFromTheConfig() throws {
        guard case .autoencoderKL(let kl) = try VAEFixture("vae_kl").model,
              case .autoencoderKL(let shifted) = try VAEFixture("vae_kl_shift").model,
              case .autoencoderTiny(let tiny) = try VAEFixture("vae_tiny").model else {
            Issue.record("fixtures hold other architectures")
            return
        }
        #expect(kl.scalingFactor == 0.18215 && kl.shiftFactor == nil && kl.downsamplingFactor == 2)
        #expect(shifted.scalingFactor == 1.5035 && shifted.shiftFactor == 0.0609 && shifted.downsamplingFactor == 4)
        #expect(tiny.scalingFactor == 1.5305 && tiny.shiftFactor == 0.0609 && tiny.downsamplingFactor == 4)
        #expect(tiny.latentMagnitude == 3 && tiny.latentShift == 0.5)
    }

    /// Input gradients through autodiff against torch.autograd: ∂/∂latents of
    /// Σ decode(latents) · c, and ∂/∂images of Σ mean · c₁ + Σ std · c₂ (TAESD: Σ encode(images) · c).
    @Test(arguments: folders)
    func inputGradientsMatchPyTorch(_ folder: String) throws {
        let f = try VAEFixture(folder)
        for (_, p) in f.model.module.namedParameters() { p.requiresGrad = false }
        let latents = try f.inputs.readTensor("latents"), images = try f.inputs.readTensor("sample")
        latents.requiresGrad = true
        images.requiresGrad = true
        let cotangent = try f.inputs.readTensor("cotangent_decoded")
        switch f.model {
        case .autoencoderKL(let vae):
            try (vae.decode(latents) * cotangent).sum().backward()
            let posterior = try vae.encode(images)
            try ((posterior.mean * f.inputs.readTensor("cotangent_mean")).sum()
                 + (posterior.std * f.inputs.readTensor("cotangent_std")).sum()).backward()
        case .autoencoderTiny(let vae):
            try (vae.decode(latents) * cotangent).sum().backward()
            try (vae.encode(images) * f.inputs.readTensor("cotangent_latents")).sum().backward()
        default:
            Issue.record("\(folder) is a \(f.model.architecture)")
        }
        try f.expectClose(try #require(latents.grad), "latents_grad", in: f.extras, folder)
        try f.expectClose(try #require(images.grad), "sample_grad", in: f.extras, folder)
    }

    /// Every parameter's gradient of the same two losses together, against torch.autograd (the
    /// decoder's is what latent-space losses train through).
    @Test(arguments: folders)
    func parameterGradientsMatchPyTorch(_ folder: String) throws {
        let f = try VAEFixture(folder)
        let reference = try HDF5File(path: try fixtureFolder(folder) + "/parameter_grads.h5")
        let parameters = f.model.module.namedParameters()
        for (_, p) in parameters { p.grad = nil }
        let latents = try f.inputs.readTensor("latents"), images = try f.inputs.readTensor("sample")
        let decodeWeights = try f.inputs.readTensor("cotangent_decoded")
        let loss: Tensor
        switch f.model {
        case .autoencoderKL(let vae):
            let posterior = try vae.encode(images)
            loss = try (vae.decode(latents) * decodeWeights).sum() + (posterior.mean * f.inputs.readTensor("cotangent_mean")).sum()
                + (posterior.std * f.inputs.readTensor("cotangent_std")).sum()
        case .autoencoderTiny(let vae):
            loss = try (vae.decode(latents) * decodeWeights).sum() + (vae.encode(images) * f.inputs.readTensor("cotangent_latents")).sum()
        default:
            Issue.record("\(folder) is a \(f.model.architecture)")
            return
        }
        try loss.backward()
        #expect(try reference.datasets().count == parameters.count)
        let references = try parameters.map { try reference.readTensor($0.name) }
        let largest = references.map { $0.scalars.map(abs).max() ?? 0 }.max() ?? 0
        var worst: (name: String, relative: Float) = ("", 0)
        for ((name, p), expected) in zip(parameters, references) {
            let grad = try #require(p.grad, "\(name) has no gradient")
            #expect(grad.shape == expected.shape, "\(name)")
            // NOTE: to_k.bias has a zero gradient in exact arithmetic (softmax ignores a constant
            // added to all of a query's scores): both sides hold rounding noise there.
            if name.hasSuffix("to_k.bias") {
                #expect(grad.scalars.map(abs).max()! <= 1e-6 * largest && expected.scalars.map(abs).max()! <= 1e-6 * largest, "\(name)")
                continue
            }
            let e = errors(grad, expected)
            if e.relative > worst.relative { worst = (name, e.relative) }
        }
        print("parity \(folder) parameter gradients: worst relative error \(worst.relative) (\(worst.name)) over \(parameters.count) tensors")
        #expect(worst.relative <= 1e-4, "\(folder): \(worst.name) relative error \(worst.relative)")
    }

    /// A draw is mean + std · ε with ε from the generator: the same seed gives the same latents,
    /// another seed others, and pipeline latents are (draw − shift) · scale.
    @Test func posteriorSampleIsReparameterised() throws {
        let f = try VAEFixture("vae_kl_shift")
        guard case .autoencoderKL(let vae) = f.model else { Issue.record("not an AutoencoderKL"); return }
        let images = try f.inputs.readTensor("sample")
        try noGrad {
            let posterior = try vae.encode(images)
            let draw = try posterior.sample(generator: RandomGenerator(seed: 7))
            let noise = try Tensor.randn(posterior.mean.shape, generator: RandomGenerator(seed: 7))
            let expected = try posterior.mean + posterior.std * noise
            #expect(draw.scalars == expected.scalars)
            #expect(try posterior.sample(generator: RandomGenerator(seed: 8)).scalars != draw.scalars)
            let scaled = try vae.latents(fromImages: images, generator: RandomGenerator(seed: 7))
            #expect(errors(scaled, (draw - 0.0609) * 1.5035).absolute <= 1e-6)
        }
    }

    /// logvar is clamped to [−30, 20] as diffusers clamps it.
    @Test func logvarIsClamped() throws {
        let parameters = try Tensor([0.5, -1, -50, 50], shape: [1, 4, 1, 1])
        let posterior = try DiagonalGaussian(parameters: parameters)
        #expect(posterior.mean.scalars == [0.5, -1])
        #expect(posterior.logvar.scalars == [-30, 20])
        let std = [Foundation.exp(-15.0), Foundation.exp(10.0)]
        #expect(zip(posterior.std.scalars, std).allSatisfy { abs(Double($0) - $1) <= 1e-6 * $1 })
        #expect(throws: ModelError.self) { try DiagonalGaussian(parameters: Tensor.zeros([1, 3, 2, 2])) }
    }
}

@Suite("VAE loading, names and errors")
struct VAELoadingTests {
    /// Images or latents of the wrong shape are a ModelError naming what was expected and given.
    @Test func wrongInputsAreClearErrors() throws {
        let kl = try VAEFixture("vae_kl_shift").autoencoder, tiny = try VAEFixture("vae_tiny").autoencoder
        let cases: [(any LatentAutoencoder, String, Tensor, Bool, String)] = [
            (kl, "AutoencoderKL", Tensor.zeros([2, 4, 12, 20]), true, "images must be [B, 3, H, W], got [2,4,12,20]"),
            (kl, "AutoencoderKL", Tensor.zeros([3, 12, 20]), true, "images must be [B, 3, H, W], got [3,12,20]"),
            (kl, "AutoencoderKL", Tensor.zeros([1, 3, 12, 18]), true, "image height and width must be multiples of 4, got 12×18"),
            (kl, "AutoencoderKL", Tensor.zeros([2, 4, 3, 5]), false, "latents must be [B, 6, h, w], got [2,4,3,5]"),
            (tiny, "AutoencoderTiny", Tensor.zeros([1, 1, 16, 16]), true, "images must be [B, 3, H, W], got [1,1,16,16]"),
            (tiny, "AutoencoderTiny", Tensor.zeros([1, 3, 4, 4]), false, "latents must be [B, 4, h, w], got [1,3,4,4]"),
        ]
        for (vae, name, input, encoding, message) in cases {
            do {
                _ = try noGrad { encoding ? try vae.latents(fromImages: input) : try vae.images(fromLatents: input) }
                Issue.record("\(name): expected an error for \(input.shape)")
            } catch let error as ModelError {
                #expect(error.description == "\(name): \(message)")
            }
        }
    }

    /// Configs we cannot build are config errors that say why.
    @Test func configIsChecked() throws {
        let bad: [(String, String, String)] = [
            ("AutoencoderKL", #"{"block_out_channels": [8, 16], "down_block_types": ["DownEncoderBlock2D"], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"]}"#, "must have the same length"),
            ("AutoencoderKL", #"{"block_out_channels": [8], "norm_num_groups": 3}"#, "not divisible by norm_num_groups"),
            ("AutoencoderKL", #"{"block_out_channels": [8], "norm_num_groups": 4, "latents_mean": [0.1, 0.2, 0.3, 0.4]}"#, "latents_mean"),
            ("AutoencoderKL", #"{"block_out_channels": [8], "norm_num_groups": 4, "down_block_types": ["AttnDownEncoderBlock2D"]}"#, "AttnDownEncoderBlock2D"),
            ("AutoencoderKL", #"{"block_out_channels": [8], "norm_num_groups": 4, "spatial_norm": true}"#, "unknown key spatial_norm"),
            ("AutoencoderTiny", #"{"encoder_block_out_channels": [8, 16], "num_encoder_blocks": [1, 1]}"#, "must all be equal"),
            ("AutoencoderTiny", #"{"decoder_block_out_channels": [8, 8], "num_decoder_blocks": [1, 1, 1]}"#, "same non-zero length"),
            ("AutoencoderTiny", #"{"act_fn": "silu"}"#, "act_fn"),
        ]
        for (architecture, config, reason) in bad {
            do {
                _ = try LoadedModel.build(architecture: architecture, config: config)
                Issue.record("\(architecture) \(config): expected a config error")
            } catch let error as ModelError {
                #expect(error.description.hasPrefix("\(architecture) config:") && error.description.contains(reason), "\(error)")
            }
        }
    }

    /// The parameter names are diffusers' state_dict keys: the fixture folders load strictly, and
    /// the keys this code had to get right are there with diffusers' shapes.
    @Test func parameterNamesAreDiffusers() throws {
        let kl = try VAEFixture("vae_kl").model.module, tiny = try VAEFixture("vae_tiny").model.module
        let klShapes = Dictionary(uniqueKeysWithValues: kl.stateDict().map { ($0.name, $0.tensor.shape) })
        for (name, shape) in [("encoder.down_blocks.0.downsamplers.0.conv.weight", [8, 8, 3, 3]),
                              ("encoder.down_blocks.1.resnets.0.conv_shortcut.weight", [16, 8, 1, 1]),
                              ("encoder.mid_block.attentions.0.group_norm.weight", [16]),
                              ("encoder.mid_block.attentions.0.to_q.weight", [16, 16]),
                              ("decoder.mid_block.attentions.0.to_out.0.bias", [16]),
                              ("decoder.up_blocks.0.upsamplers.0.conv.weight", [16, 16, 3, 3]),
                              ("decoder.up_blocks.1.resnets.1.conv2.weight", [8, 8, 3, 3]),
                              ("encoder.conv_out.weight", [8, 16, 3, 3]), ("quant_conv.weight", [8, 8, 1, 1]),
                              ("post_quant_conv.weight", [4, 4, 1, 1]), ("decoder.conv_norm_out.bias", [8])] {
            #expect(klShapes[name] == shape, "\(name)")
        }
        #expect(!klShapes.keys.contains { $0.contains("time_emb_proj") })
        let tinyShapes = Dictionary(uniqueKeysWithValues: tiny.stateDict().map { ($0.name, $0.tensor.shape) })
        // Encoder: conv, block, conv(stride 2), block, block, conv(stride 2), block, conv.
        // Decoder: conv, ReLU, block, block, upsample, conv, block, upsample, conv, block, conv.
        for (name, shape) in [("encoder.layers.0.weight", [8, 3, 3, 3]), ("encoder.layers.1.conv.4.weight", [8, 8, 3, 3]),
                              ("encoder.layers.2.weight", [8, 8, 3, 3]), ("encoder.layers.7.weight", [4, 8, 3, 3]),
                              ("decoder.layers.0.weight", [12, 4, 3, 3]), ("decoder.layers.3.conv.2.bias", [12]),
                              ("decoder.layers.5.weight", [12, 12, 3, 3]), ("decoder.layers.10.bias", [3])] {
            #expect(tinyShapes[name] == shape, "\(name)")
        }
        // The stride-2 and the inner decoder convolutions have no bias, as in diffusers.
        #expect(tinyShapes["encoder.layers.2.bias"] == nil && tinyShapes["decoder.layers.5.bias"] == nil)
        #expect(tinyShapes.count == tiny.stateDict().count && tinyShapes.keys.allSatisfy { $0.hasPrefix("encoder.layers.") || $0.hasPrefix("decoder.layers.") })
    }

    /// Folders saved before diffusers 0.14 name the mid-block attention `query`, `key`, `value`,
    /// `proj_attn`: they load into the same model.
    @Test func deprecatedAttentionNamesLoad() throws {
        let checkpoint = try ModelFolder(path: try fixtureFolder("vae_kl")).checkpoint()
        let renames = [".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."]
        var renamed = 0
        let old = try NamedTensors(checkpoint.tensors.map { entry -> (String, Tensor) in
            for (new, deprecated) in renames where entry.name.contains(new) {
                renamed += 1
                return (entry.name.replacingOccurrences(of: new, with: deprecated), entry.tensor)
            }
            return (entry.name, entry.tensor)
        })
        #expect(renamed == 16)  // 2 attentions × 4 layers × (weight, bias)
        let a = try LoadedModel.build(architecture: "AutoencoderKL", config: checkpoint.config)
        try a.loadTensors(old.dictionary)
        let b = try LoadedModel.load(checkpoint)
        #expect(a.module.stateDict().map(\.tensor.scalars) == b.module.stateDict().map(\.tensor.scalars))
    }

    /// Folder → Snoopi HDF5 → diffusers folder → HDF5 again keeps every name and value.
    @Test(arguments: ["vae_kl", "vae_tiny"])
    func conversionRoundTrip(_ folder: String) throws {
        let source = try fixtureFolder(folder)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-vae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let h5 = scratch.appendingPathComponent("model.h5").path, exported = scratch.appendingPathComponent("export").path
        try convertFolder(at: source, to: h5)
        try exportFolder(checkpointAt: h5, to: exported)
        let original = try ModelFolder(path: source).checkpoint(), back = try ModelFolder(path: exported).checkpoint()
        #expect(back.architecture == original.architecture)
        #expect(back.tensors.map(\.name).sorted() == original.tensors.map(\.name).sorted())
        #expect(back.tensors.allSatisfy { $0.tensor.scalars == original.tensors[$0.name]?.scalars })
    }
}
