import Foundation
import Checkpoints
import Diffusion
import Engine
import Models

extension BuiltinDomain {
    /// Loading, saving, inspecting and adapting networks.
    static let models = BuiltinDomain("models", doc: "Snoopi checkpoints (UNet, PixArt, CLIP text and vision towers): load, save, inspect, freeze, LoRA, NASA.", builtins: [
        Builtin("load", "path, only: nil",
                doc: "Builds the network a Snoopi checkpoint (HDF5, see Docs/checkpoints.md) describes and loads its weights, checking every name and shape. A shapes-world checkpoint gives its pipeline: a teacher (`WorldTeacher`, with its text encoder and schedule), a one-step student, an encoder (ShapesCLIP) or the attribute classifier. With `only` (a name glob) just the matching weights of the bare network are read.",
                example: "let teacher = load(\"Notebooks/checkpoints/shapes-teacher-unet-16.h5\")") { args in
            let path = try args.string("path")
            guard let only = try args.optionalString("only") else {
                let checkpoint = try Checkpoint.load(path, loadTraining: false)
                if let value = try worldValue(checkpoint, path: path) { return value }
                let loaded = try LoadedModel.load(checkpoint)
                return .object(ModelObject(module: loaded.module, loaded: loaded, source: path))
            }
            let loaded = try LoadedModel.load(path: path, only: only)
            return .object(ModelObject(module: loaded.module, loaded: loaded, source: path))
        },
        networkBuilder("unet", UNet2DConditionModel.architecture,
                       example: "let net = unet({block_out_channels: [32, 64], down_block_types: [\"DownBlock2D\", \"CrossAttnDownBlock2D\"], up_block_types: [\"CrossAttnUpBlock2D\", \"UpBlock2D\"], layers_per_block: 1, cross_attention_dim: 64, attention_head_dim: 8, norm_num_groups: 8, sample_size: 16, in_channels: 3, out_channels: 3})"),
        networkBuilder("pixart", PixArtTransformer2DModel.architecture,
                       example: "let net = pixart({sample_size: 16, patch_size: 2, in_channels: 3, out_channels: 3, num_layers: 2, num_attention_heads: 2, attention_head_dim: 16, cross_attention_dim: 32, caption_channels: 64, norm_type: \"ada_norm_single\", use_additional_conditions: false})"),
        networkBuilder("clip_text", CLIPTextModel.architecture,
                       example: "let text = clip_text({vocab_size: 1000, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 77})"),
        Builtin("pipeline", "path",
                doc: "A full text-to-image pipeline: a diffusers pipeline folder (model_index.json with text_encoder, tokenizer, unet or transformer, vae, scheduler: Stable Diffusion 1.x/2.x, SD-Turbo, SwiftBrush-style one-step students, PixArt-α 256/512 with its T5 text encoder) or a Snoopi pipeline file (`snp convert FOLDER FILE.h5`). `sample(pipe, prompts, …)` runs it as diffusers does; `nasa(pipe, …)` switches NASA in its denoiser; `pipe.denoiser` is the denoiser as a model.",
                example: "let pipe = pipeline(\"sd-turbo\")\nlet imgs = sample(pipe, [\"a cat\"], kappa: 0, steps: 1, sampler: \"scheduler\")") { args in
            .object(PipelineObject(try DiffusionPipeline.load(try args.string("path"))))
        },
        Builtin("tokenizer", "source",
                doc: "A tokenizer: `source` a folder with CLIP's `vocab.json` and `merges.txt` (byte-level BPE, the same ids as Hugging Face's CLIPTokenizer), or \"shapes\" for the shapes world's word tokenizer. `tok.encode(text)` gives ids, `tok.tokens(text)` the pieces.",
                example: "let tok = tokenizer(\"shapes\")\ntok.encode(\"a red circle\")") { args in
            let source = try args.string("source")
            if source == "shapes" { return .object(TokenizerObject(.words(CaptionGrammar.tokenizer))) }
            return .object(TokenizerObject(.clip(try CLIPTokenizer(folder: source), source: source)))
        },
        Builtin("save", "model, path, dtype: \"float32\"", method: true,
                doc: "Writes a model as a Snoopi checkpoint (its architecture, config and base weights; LoRA adapters are not included) in float32 or float16, replacing the file atomically. A teacher or student is saved as its pipeline (the network with its text encoder embedded and its schedule; float32), an encoder or classifier as itself; all loadable with `load`.",
                example: "save(unet, \"unet.h5\", dtype: \"float16\")\nsave(student, \"student.h5\")") { args in
            if case .object(let o) = args["model"], let pipeline = o as? any PipelineCarrier {
                let path = try args.string("path")
                guard try args.string("dtype") == "float32" else { throw args.mistake("dtype", "\"float32\" for a teacher or student") }
                switch pipeline {
                case let t as TeacherObject: try t.teacher.save(to: path)
                case let s as StudentObject: try s.student.save(to: path)
                default: throw RuntimeError("save(): a LoRA teacher is not a pipeline checkpoint; save its network (save(lora.network, path): base weights only)", parameter: "model")
                }
                return .string(path)
            }
            // The world's encoder and attribute classifier, as their own checkpoints (float32).
            if case .object(let o) = args["model"], o is EncoderObject || o is ClassifierObject || o is LabelClassifierObject {
                let path = try args.string("path")
                guard try args.string("dtype") == "float32" else { throw args.mistake("dtype", "\"float32\" for an encoder or classifier") }
                if let e = o as? EncoderObject { try e.encoder.save(to: path) } else if let c = o as? ClassifierObject { try c.classifier.save(to: path) }
                else if let c = o as? LabelClassifierObject { try c.classifier.save(to: path) }
                return .string(path)
            }
            let model = try modelArgument(args)
            guard let loaded = model.loaded else { throw RuntimeError("save(): \(model.path) is a part of a model; save the whole model", parameter: "model") }
            let storage: HDF5FloatStorage
            switch try args.string("dtype") {
            case "float32": storage = .float32
            case "float16": storage = .float16
            default: throw args.mistake("dtype", "\"float32\" or \"float16\"")
            }
            let path = try args.string("path")
            try loaded.checkpoint().save(path, storage: storage)
            return .string(path)
        },
        Builtin("summary", "model, depth: 2", method: true,
                doc: "Prints the model's modules down to `depth` levels, each with its type and parameter count, then the totals.",
                example: "summary(unet, depth: 1)") { args in
            args.interpreter.print(try modelArgument(args).module.summary(depth: try args.count("depth")))
            return .null
        },
        Builtin("params", "model, pattern: nil", method: true,
                doc: "The parameters as a record from dotted name (the PyTorch state_dict key) to tensor; with `pattern`, those matching the name glob (`*` within a name component, `**` across components; a module path selects everything under it).",
                example: "keys(params(unet, pattern: \"conv_in\"))   # [\"conv_in.weight\", \"conv_in.bias\"]") { args in
            let module = try modelArgument(args).module
            let selected = try args.optionalString("pattern").map { module.parameters(matching: $0) } ?? module.namedParameters()
            return .record(Record(selected.map { ($0.name, .tensor($0.tensor)) }))
        },
        Builtin("layers", "model, pattern: \"*\"", method: true,
                doc: "The modules whose dotted path matches the glob, as a list of modules (the top-level ones by default; `\"**\"` for all).",
                example: "layers(unet, pattern: \"up_blocks.*.attentions.*\")") { args in
            let model = try modelArgument(args)
            let pattern = try args.string("pattern")
            return .list(model.module.modules(matching: pattern).map {
                .object(ModelObject(module: $0.module, path: model.path.isEmpty ? $0.name : model.path + "." + $0.name))
            })
        },
        Builtin("freeze", "model, pattern: nil", method: true,
                doc: "Stops gradients for the parameters matching the glob (all if nil); returns how many tensors changed. A pattern that matches nothing is an error.",
                example: "freeze(unet)\nunfreeze(unet, pattern: \"**.attn2.**\")") { args in
            .number(Double(try modelArgument(args).module.freeze(try args.optionalString("pattern"))))
        },
        Builtin("unfreeze", "model, pattern: nil", method: true,
                doc: "Lets gradients reach the parameters matching the glob again (all if nil); returns how many tensors changed.",
                example: "unfreeze(unet, pattern: \"conv_out\")") { args in
            .number(Double(try modelArgument(args).module.unfreeze(try args.optionalString("pattern"))))
        },
        Builtin("lora", "model, layers: nil, rank: nil, alpha: nil, seed: 0", method: true,
                doc: "Attaches LoRA adapters (Δy = alpha/rank · B A x, B zero so nothing changes yet) to every Linear or 1×1 convolution whose path matches `layers` (default \"**\", rank 4, alpha 4); returns the model. Adapters are not saved with the base weights. On a teacher it returns a LoRA teacher instead — a copy of the teacher, base frozen, adapters (default rank 64, alpha 2·rank, as `vsd` and `snp distill` make them; drawn from `seed`) on every attention projection (to_q, to_k, to_v, to_out.0; or `layers`), exactly as the distillation trainer builds its LoRA teacher — for `vsd(…, lora:)`, `eps` and `sample`.",
                example: "lora(unet, layers: \"**.attn2.to_*\", rank: 8, alpha: 16)\nlet phi = lora(teacher, rank: 8, alpha: 16)") { args in
            let layers = try args.optionalString("layers")
            if case .object(let teacher as TeacherObject) = args["model"] {
                let rank = try args.optionalInt("rank") ?? 64
                guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
                return .object(try LoraTeacherObject.make(teacher, rank: rank, alpha: Float(try args.optionalNumber("alpha") ?? Double(2 * rank)),
                                                          layers: layers.map { [$0] }, seed: seed))
            }
            let model = try modelArgument(args)
            try model.module.addLoRA(layers ?? "**", rank: try args.optionalInt("rank") ?? 4, alpha: Float(try args.optionalNumber("alpha") ?? 4))
            return args["model"]
        },
        Builtin("attention_layers", "model", method: true,
                doc: "A table of the model's attention layers: path, kind (self or cross) and the processor in use (standard, nasa(α=…)).",
                example: "attention_layers(unet)") { args in
            let model = try modelArgument(args)
            let table = Table(columns: ["name", "kind", "processor"])
            for (name, layer) in model.module.attentionLayers {
                table.append(Record([("name", .string(name)), ("kind", .string(layer.isCrossAttention ? "cross" : "self")), ("processor", .string(layer.processor.name))]))
            }
            return .object(table)
        },
        Builtin("attend", "layer, x, context: nil, negative: nil",
                doc: "Runs one attention layer (a module from `layers` or `model[\"…attn2\"]`) on hidden states `x` [B, L, D] attending to `context` [B, Lc, Dc] (nil: `x`, self-attention), with its processor as installed; `negative` [B, L⁻, Dc] is the negative prompt's context that NASA reads (eq. 8–10), ignored by the standard processor.",
                example: "let layer = teacher.network[\"down_blocks.1.attentions.0.transformer_blocks.0.attn2\"]\nlet z = attend(layer, randn([1, 64, 64], seed: 0), encode(teacher, \"a circle\"), negative: encode(teacher, \"red\"))") { args in
            let model = try args.object("layer", as: ModelObject.self, "an attention layer (a module such as model[\"…attn2\"])")
            guard let layer = model.module as? Attention else {
                throw RuntimeError("attend(): layer must be an attention layer, got \(model.summary)", parameter: "layer")
            }
            let x = try args.tensor("x")
            let context = try args.optionalTensor("context"), negative = try args.optionalTensor("negative")
            return .tensor(try layer(x, context: context, call: AttentionCall(negativeContext: negative)))
        },
        Builtin("nasa", "model, layers: \"**\", alpha: 0.5", method: true,
                doc: "Turns on Negative-Away Steer Attention (the paper's eq. 8–10: Z = Z⁺ − α Z⁻) in the cross-attention layers matching `layers`; returns their paths. It acts when the model is called with a negative prompt.",
                example: "nasa(student, layers: \"up_blocks.*.attentions.*.transformer_blocks.*.attn2\", alpha: 0.5)") { args in
            let paths = try modelArgument(args).module.enableNASA(alpha: Float(try args.number("alpha")), layers: try args.string("layers"))
            return .list(paths.map { .string($0) })
        },
        Builtin("nasa_off", "model, layers: \"**\"", method: true,
                doc: "Back to standard attention in the layers matching `layers`; returns their paths.",
                example: "nasa_off(student)") { args in
            .list(try modelArgument(args).module.disableNASA(layers: try args.string("layers")).map { .string($0) })
        },
    ])
}

/// A model, or the network of a teacher, student, LoRA teacher, encoder or classifier.
private func modelArgument(_ args: Arguments) throws -> ModelObject {
    switch args["model"] {
    case .object(let model as ModelObject): return model
    case .object(let carrier as any NetworkCarrier): return carrier.networkObject
    default: throw args.mistake("model", "a model (from load), a teacher or a student")
    }
}

/// `unet(config)`, `pixart(config)`, `clip_text(config)`: a freshly initialised network from a
/// diffusers / transformers config given as a record (missing keys take the library defaults —
/// for `unet` that is Stable Diffusion's full size).
private func networkBuilder(_ name: String, _ architecture: String, example: String) -> Builtin {
    Builtin(name, "config: {}, seed: 0",
            doc: "A new \(architecture), initialised as PyTorch does from a generator seeded with `seed`, from its config (a record of the config.json keys; missing keys take the diffusers/transformers defaults, which for a UNet mean Stable Diffusion 1.5's 860 M parameters).",
            example: example) { args in
        let config = try args.record("config")
        guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
        let json = try jsonText(.record(config), builtin: name)
        let loaded = try LoadedModel.build(architecture: architecture, config: json, seed: seed)
        return .object(ModelObject(module: loaded.module, loaded: loaded))
    }
}

/// A record / list / number / string / bool / nil as JSON text (for model configs).
func jsonText(_ value: Value, builtin: String) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: try configObject(value, builtin: builtin), options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// A record / list / number / string / bool / nil as the Foundation object a config holds
/// (whole numbers as Int, nil as NSNull).
func configObject(_ value: Value, builtin: String) throws -> Any {
    func object(_ v: Value) throws -> Any {
        switch v {
        case .number(let x):
            guard x.isFinite else { throw RuntimeError("\(builtin)(): config numbers must be finite, got \(x)", parameter: "config") }
            return x == x.rounded() && abs(x) < 1e15 ? Int(x) as Any : x as Any
        case .string(let s): return s
        case .bool(let b): return b
        case .null: return NSNull()
        case .list(let items): return try items.map(object)
        case .record(let r): return Dictionary(uniqueKeysWithValues: try r.fields.map { ($0.key, try object($0.value)) })
        default: throw RuntimeError("\(builtin)(): config values must be numbers, strings, bools, nil, lists or records, got \(v.typeName)", parameter: "config")
        }
    }
    return try object(value)
}
