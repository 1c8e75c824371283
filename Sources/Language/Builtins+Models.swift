import Checkpoints
import Engine
import Models

extension BuiltinDomain {
    /// Loading, saving, inspecting and adapting networks.
    static let models = BuiltinDomain("models", doc: "Snoopi checkpoints (UNet, PixArt, CLIP text): load, save, inspect, freeze, LoRA, NASA.", builtins: [
        Builtin("load", "path, only: nil",
                doc: "Builds the network a Snoopi checkpoint (HDF5, see Docs/checkpoints.md) describes and loads its weights, checking every name and shape. With `only` (a name glob) just the matching weights are read.",
                example: "let unet = load(\"Notebooks/checkpoints/shapes-teacher.h5\")") { args in
            let loaded = try LoadedModel.load(path: try args.string("path"), only: try args.optionalString("only"))
            return .object(ModelObject(module: loaded.module, loaded: loaded))
        },
        Builtin("save", "model, path, dtype: \"float32\"", method: true,
                doc: "Writes a model as a Snoopi checkpoint (its architecture, config and base weights; LoRA adapters are not included) in float32 or float16, replacing the file atomically.",
                example: "save(student, \"student.h5\", dtype: \"float16\")") { args in
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
        Builtin("lora", "model, layers: \"**\", rank: 4, alpha: 4", method: true,
                doc: "Attaches LoRA adapters (Δy = alpha/rank · B A x, B zero so nothing changes yet) to every Linear or 1×1 convolution whose path matches `layers`; returns the model. Adapters are not saved with the base weights.",
                example: "lora(unet, layers: \"**.attn2.to_*\", rank: 8, alpha: 16)") { args in
            let model = try modelArgument(args)
            try model.module.addLoRA(try args.string("layers"), rank: try args.int("rank"), alpha: Float(try args.number("alpha")))
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

private func modelArgument(_ args: Arguments) throws -> ModelObject {
    try args.object("model", as: ModelObject.self, "a model (from load)")
}
