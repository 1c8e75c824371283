import Foundation
import Engine
import Models
import Testing

/// A tiny UNet built from a config, as the fixtures' `unet_linear`.
func tinyUNet(linear: Bool = true, seed: UInt64 = 0) throws -> UNet2DConditionModel {
    try UNet2DConditionModel(config: ModelConfig(architecture: "UNet2DConditionModel", values: [
        "sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
        "block_out_channels": [16, 32], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "cross_attention_dim": 12,
        "attention_head_dim": 4, "norm_num_groups": 8, "use_linear_projection": linear,
    ]), seed: seed)
}

@Suite("Module tree, selection, LoRA and NASA")
struct ModuleTests {
    @Test func namesAreDiffusersStateDictKeys() throws {
        let names = Set(try tinyUNet().stateDict().map(\.name))
        for key in ["conv_in.weight", "time_embedding.linear_1.weight", "time_embedding.linear_2.bias",
                    "down_blocks.0.resnets.0.norm1.weight", "down_blocks.0.resnets.0.time_emb_proj.weight",
                    "down_blocks.0.attentions.0.proj_in.weight", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.bias",
                    "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight", "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.weight",
                    "down_blocks.0.downsamplers.0.conv.weight", "mid_block.resnets.1.conv2.weight", "mid_block.attentions.0.norm.bias",
                    "up_blocks.0.resnets.1.conv_shortcut.weight", "up_blocks.0.upsamplers.0.conv.weight",
                    "up_blocks.1.attentions.1.transformer_blocks.0.norm3.weight", "conv_norm_out.weight", "conv_out.bias"] {
            #expect(names.contains(key), "\(key)")
        }
        #expect(!names.contains { $0.contains("lora") || $0.contains("to_q.bias") })
    }

    @Test func selectFreezeSummary() throws {
        let unet = try tinyUNet()
        let attn2 = unet.modules(matching: "down_blocks.*.attentions.*.transformer_blocks.*.attn2")
        #expect(attn2.map(\.name) == ["down_blocks.0.attentions.0.transformer_blocks.0.attn2"])
        // Transformers: down 1, mid 1, up 2 (layers_per_block + 1); each has attn1 and attn2.
        #expect(unet.attentionLayers.count == 8)
        #expect(unet.attentionLayers.filter { $0.layer.isCrossAttention }.count == 4)
        let frozen = try unet.freeze("up_blocks.**")
        #expect(frozen > 0)
        #expect(unet.parameters(matching: "up_blocks.**").allSatisfy { !$0.tensor.requiresGrad })
        #expect(unet.parameters(matching: "down_blocks.**").allSatisfy { $0.tensor.requiresGrad })
        #expect(unet.trainableParameterCount < unet.parameterCount)
        #expect(throws: ModelError.self) { try unet.freeze("no_such_block.*") }
        let summary = unet.summary(depth: 1)
        #expect(summary.contains("down_blocks: ModuleList"))
        #expect(summary.contains("total: \(unet.parameterCount) parameters"))
        unet.eval()
        #expect(unet.namedModules().allSatisfy { !$0.module.isTraining })
    }

    @Test func loadReportsEverythingTogether() throws {
        let unet = try tinyUNet()
        var tensors = Dictionary(uniqueKeysWithValues: unet.stateDict().map { ($0.name, $0.tensor.copy()) })
        tensors.removeValue(forKey: "conv_in.weight")
        tensors["extra.weight"] = Tensor.zeros([1])
        tensors["conv_out.bias"] = Tensor.zeros([5])
        do {
            try unet.load(tensors)
            Issue.record("expected a load error")
        } catch let error as ModelError {
            let message = error.description
            #expect(message.contains("1 missing: conv_in.weight"))
            #expect(message.contains("1 unexpected: extra.weight"))
            #expect(message.contains("conv_out.bias (model [4], checkpoint [5])"))
        }
        // A partial load by glob touches only the matching tensors.
        let other = try tinyUNet(seed: 1)
        let before = other.stateDict().first { $0.name == "conv_out.weight" }!.tensor.scalars
        let partial = Dictionary(uniqueKeysWithValues: unet.parameters(matching: "down_blocks.**").map { ($0.name, $0.tensor) })
        let loaded = try other.load(partial, only: "down_blocks.**")
        #expect(loaded == partial.count)
        #expect(other.stateDict().first { $0.name == "conv_out.weight" }!.tensor.scalars == before)
        #expect(other.stateDict().first { $0.name == "down_blocks.0.resnets.0.conv1.weight" }!.tensor.scalars
                == unet.stateDict().first { $0.name == "down_blocks.0.resnets.0.conv1.weight" }!.tensor.scalars)
    }

    @Test func loraAdaptersSwitchAndMerge() throws {
        let unet = try tinyUNet(), x = sample([1, 4, 8, 8], seed: 1), t = try Tensor([10], shape: [1]), c = sample([1, 3, 12], seed: 2)
        let base = try noGrad { try unet(x, timestep: t, context: c) }
        let params = try unet.addLoRA("**.attn*.to_?", rank: 2, alpha: 4)
        #expect(params.count == 2 * 3 * 8)  // (down, up) × (q, k, v) × 8 attention layers
        #expect(unet.loraAdapters.allSatisfy { $0.scale == 2 })
        #expect(!unet.stateDict().contains { $0.name.contains("lora") })
        #expect(unet.namedParameters().contains { $0.name.hasSuffix("attn1.to_q.lora.down.weight") })
        // A fresh adapter (B = 0) changes nothing; after a step on B it does, but only when enabled.
        #expect(try noGrad { try unet(x, timestep: t, context: c) }.scalars == base.scalars)
        for p in unet.loraAdapters { try p.up.assign(sample(p.up.shape, seed: 3) * 0.1) }
        let adapted = try noGrad { try unet(x, timestep: t, context: c) }
        #expect(errors(adapted, base).absolute > 1e-4)
        let frozenTeacher = try unet.withLoRA(enabled: false) { try noGrad { try unet(x, timestep: t, context: c) } }
        #expect(frozenTeacher.scalars == base.scalars)
        // Merging folds the adapters into the weights: same output, no adapters left.
        try unet.mergeLoRA()
        #expect(unet.loraAdapters.isEmpty)
        #expect(errors(try noGrad { try unet(x, timestep: t, context: c) }, adapted).relative < 1e-5)
    }

    @Test func nasaIsPerLayerAndAlphaZeroIsStandard() throws {
        let unet = try tinyUNet(), x = sample([2, 4, 8, 8], seed: 1), t = try Tensor([10, 500], shape: [2])
        let c = sample([2, 3, 12], seed: 2), negative = sample([2, 5, 12], seed: 3)
        let standard = try noGrad { try unet(x, timestep: t, context: c, negativeContext: negative) }
        let changed = try unet.enableNASA(alpha: 0, layers: "**")
        #expect(changed.allSatisfy { $0.hasSuffix("attn2") } && changed.count == 4)
        #expect(try noGrad { try unet(x, timestep: t, context: c, negativeContext: negative) }.scalars == standard.scalars)
        try unet.enableNASA(alpha: 0.5, layers: "up_blocks.**")
        let upOnly = try noGrad { try unet(x, timestep: t, context: c, negativeContext: negative) }
        #expect(errors(upOnly, standard).absolute > 1e-4)
        #expect(unet.attentionLayers.filter { ($0.layer.processor as? NASAAttention)?.alpha == 0.5 }.map(\.name) == ["up_blocks.1.attentions.0.transformer_blocks.0.attn2", "up_blocks.1.attentions.1.transformer_blocks.0.attn2"])
        // Without a negative context NASA is the standard processor.
        #expect(try noGrad { try unet(x, timestep: t, context: c) }.scalars == standard.scalars)
        try unet.disableNASA()
        #expect(unet.attentionLayers.allSatisfy { $0.layer.processor is StandardAttention })
        #expect(throws: ModelError.self) { try unet.enableNASA(alpha: 0.5, layers: "down_blocks.*.attentions.*.transformer_blocks.*.attn1") }
    }

    @Test func badConfigsAndInputs() throws {
        func expectConfigError(_ values: [String: Any], _ fragment: String) {
            do {
                _ = try UNet2DConditionModel(config: ModelConfig(architecture: "UNet2DConditionModel", values: values))
                Issue.record("expected a config error mentioning \(fragment)")
            } catch { #expect("\(error)".contains(fragment), "\(error)") }
        }
        expectConfigError(["block_out_channels": [16, 32], "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"], "norm_num_groups": 8, "not_a_key": 1], "unknown key not_a_key")
        expectConfigError(["addition_embed_type": "text_time"], "SDXL")
        expectConfigError(["block_out_channels": [16, 32], "norm_num_groups": 8], "same length")
        expectConfigError(["layers_per_block": "two"], "layers_per_block")
        let unet = try tinyUNet()
        let t = try Tensor([1], shape: [1])
        #expect(throws: ModelError.self) { try unet(Tensor.zeros([1, 3, 8, 8]), timestep: t, context: Tensor.zeros([1, 2, 12])) }
        #expect(throws: ModelError.self) { try unet(Tensor.zeros([1, 4, 5, 5]), timestep: t, context: Tensor.zeros([1, 2, 12])) }
        #expect(throws: ModelError.self) { try unet(Tensor.zeros([1, 4, 8, 8]), timestep: t, context: Tensor.zeros([1, 2, 11])) }
    }
}

@Suite("LoRA arguments")
struct LoRAArgumentTests {
    @Test func rankAndAlphaAreChecked() throws {
        let layer = Linear(8, 4)
        #expect(throws: ModelError.self) { try layer.attachLoRA(rank: 0, alpha: 1) }
        #expect(throws: ModelError.self) { try layer.attachLoRA(rank: 5, alpha: 1) }
        #expect(throws: ModelError.self) { try layer.attachLoRA(rank: 2, alpha: 0) }
        #expect(try layer.attachLoRA(rank: 4, alpha: 8).scale == 2)
        #expect(throws: ModelError.self) { try tinyUNet().addLoRA("no_such_layer.*", rank: 2, alpha: 2) }
    }
}

@Suite("Building models on several threads")
struct ConcurrentConstructionTests {
    /// Models built at once on 4 threads, each from its own seed, get exactly the weights the
    /// same seeds give one after another (each build's generator is bound to its thread).
    @Test func seededBuildsDoNotRace() throws {
        let seeds: [UInt64] = [0, 1, 2, 3, 0, 1, 2, 3]
        let expected = try seeds.map { try tinyUNet(seed: $0).stateDict().flatMap(\.tensor.scalars) }
        final class Results: @unchecked Sendable {
            var weights = [[Float]](repeating: [], count: 8)
            let lock = NSLock()
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: seeds.count) { i in
            let weights = (try? tinyUNet(seed: seeds[i]).stateDict().flatMap(\.tensor.scalars)) ?? []
            results.lock.lock()
            results.weights[i] = weights
            results.lock.unlock()
        }
        for i in seeds.indices { #expect(results.weights[i] == expected[i], "build \(i) (seed \(seeds[i]))") }
        #expect(expected[0] != expected[1])
    }
}
