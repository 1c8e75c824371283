import Engine
import Models

/// A model (or one module of it) as a `.snp` value. Its children and parameters read as
/// members (`model.conv_in.weight`, `model["down_blocks.0"]`); the model builtins (`summary`,
/// `params`, `layers`, `freeze`, `nasa`, …) are also its methods.
public final class ModelObject: NativeObject {
    public let module: Module
    /// The whole network as loaded (architecture and config, for `save`); nil for a sub-module.
    public let loaded: LoadedModel?
    /// The module's dotted path in its model ("" for the root).
    public let path: String
    /// The checkpoint file `load` read it from (nil otherwise): where a CLIPModel's tokenizer is looked for.
    public let source: String?

    public init(module: Module, loaded: LoadedModel? = nil, path: String = "", source: String? = nil) {
        self.module = module
        self.loaded = loaded
        self.path = path
        self.source = source
    }

    public var typeName: String { loaded == nil ? "module" : "model" }

    /// `UNet2DConditionModel (792.96K parameters)`, with LoRA and NASA state when present.
    public var summary: String {
        var text = (path.isEmpty ? "" : "\(path): ") + module.description
        let adapters = module.loraAdapters.count
        if adapters > 0 { text += ", LoRA on \(adapters) layer\(adapters == 1 ? "" : "s")" }
        let nasa = module.attentionLayers.filter { $0.layer.processor is NASAAttention }.count
        if nasa > 0 { text += ", NASA on \(nasa) layer\(nasa == 1 ? "" : "s")" }
        return text
    }

    public var display: String { summary }

    public var memberNames: [String] {
        ["path", "type", "parameter_count"] + module.children.map(\.name) + module.ownParameters.map(\.name)
    }

    public func member(_ name: String) throws -> Value? {
        switch name {
        case "path": return .string(path)
        case "type": return .string(module.typeName)
        case "parameter_count": return .number(Double(module.parameterCount))
        default: break
        }
        if let child = module.children.first(where: { $0.name == name }) {
            return .object(ModelObject(module: child.module, path: path.isEmpty ? name : path + "." + name))
        }
        if let parameter = module.ownParameters.first(where: { $0.name == name }) { return .tensor(parameter.tensor) }
        // A dotted path from `model["down_blocks.0.attentions"]`.
        if name.contains("."), let sub = module.module(at: name) {
            return .object(ModelObject(module: sub, path: path.isEmpty ? name : path + "." + name))
        }
        if name.contains("."), let parameter = module.namedParameters().first(where: { $0.name == name }) { return .tensor(parameter.tensor) }
        return nil
    }
}
