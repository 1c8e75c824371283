import Checkpoints
import Engine

/// A network Snoopi can build from a checkpoint: one case per supported architecture.
public enum LoadedModel {
    case unet(UNet2DConditionModel)
    case pixart(PixArtTransformer2DModel)
    case clipText(CLIPTextModel)
    case clipVision(CLIPVisionModel)
    case clipVisionWithProjection(CLIPVisionModelWithProjection)
    case clipTextWithProjection(CLIPTextModelWithProjection)
    case clip(CLIPModel)
    case autoencoderKL(AutoencoderKL)
    case autoencoderTiny(AutoencoderTiny)
    case t5Encoder(T5EncoderModel)

    /// Every architecture name `build` accepts.
    public static let architectures = [UNet2DConditionModel.architecture, PixArtTransformer2DModel.architecture, CLIPTextModel.architecture,
                                       CLIPVisionModel.architecture, CLIPVisionModelWithProjection.architecture,
                                       CLIPTextModelWithProjection.architecture, CLIPModel.architecture,
                                       AutoencoderKL.architecture, AutoencoderTiny.architecture, T5EncoderModel.architecture]

    public var module: Module {
        switch self {
        case .unet(let m): return m
        case .pixart(let m): return m
        case .clipText(let m): return m
        case .clipVision(let m): return m
        case .clipVisionWithProjection(let m): return m
        case .clipTextWithProjection(let m): return m
        case .clip(let m): return m
        case .autoencoderKL(let m): return m
        case .autoencoderTiny(let m): return m
        case .t5Encoder(let m): return m
        }
    }

    public var architecture: String {
        switch self {
        case .unet: return UNet2DConditionModel.architecture
        case .pixart: return PixArtTransformer2DModel.architecture
        case .clipText: return CLIPTextModel.architecture
        case .clipVision: return CLIPVisionModel.architecture
        case .clipVisionWithProjection: return CLIPVisionModelWithProjection.architecture
        case .clipTextWithProjection: return CLIPTextModelWithProjection.architecture
        case .clip: return CLIPModel.architecture
        case .autoencoderKL: return AutoencoderKL.architecture
        case .autoencoderTiny: return AutoencoderTiny.architecture
        case .t5Encoder: return T5EncoderModel.architecture
        }
    }

    public var config: ModelConfig {
        switch self {
        case .unet(let m): return m.config
        case .pixart(let m): return m.config
        case .clipText(let m): return m.config
        case .clipVision(let m): return m.config
        case .clipVisionWithProjection(let m): return m.config
        case .clipTextWithProjection(let m): return m.config
        case .clip(let m): return m.config
        case .autoencoderKL(let m): return m.config
        case .autoencoderTiny(let m): return m.config
        case .t5Encoder(let m): return m.config
        }
    }

    /// Builds the architecture from its config with freshly drawn weights.
    public static func build(architecture: String, config json: String, seed: UInt64 = 0) throws -> LoadedModel {
        let config = try ModelConfig(architecture: architecture, json: json)
        switch architecture {
        case UNet2DConditionModel.architecture: return .unet(try UNet2DConditionModel(config: config, seed: seed))
        case PixArtTransformer2DModel.architecture: return .pixart(try PixArtTransformer2DModel(config: config, seed: seed))
        case CLIPTextModel.architecture: return .clipText(try CLIPTextModel(config: config, seed: seed))
        case CLIPVisionModel.architecture: return .clipVision(try CLIPVisionModel(config: config, seed: seed))
        case CLIPVisionModelWithProjection.architecture:
            return .clipVisionWithProjection(try CLIPVisionModelWithProjection(config: config, seed: seed))
        case CLIPTextModelWithProjection.architecture:
            return .clipTextWithProjection(try CLIPTextModelWithProjection(config: config, seed: seed))
        case CLIPModel.architecture: return .clip(try CLIPModel(config: config, seed: seed))
        case AutoencoderKL.architecture: return .autoencoderKL(try AutoencoderKL(config: config, seed: seed))
        case AutoencoderTiny.architecture: return .autoencoderTiny(try AutoencoderTiny(config: config, seed: seed))
        case T5EncoderModel.architecture: return .t5Encoder(try T5EncoderModel(config: config, seed: seed))
        default:
            throw ModelError.badConfig(architecture: architecture, reason: "unknown architecture; Snoopi builds \(architectures.joined(separator: ", "))")
        }
    }

    /// Builds the checkpoint's architecture and loads its tensors, checking every name and shape.
    /// With `expecting`, a checkpoint of another architecture is an error; with `only`, just the
    /// parameters matching that glob are loaded (the rest keep their fresh values).
    public static func load(_ checkpoint: Checkpoint, expecting: String? = nil, only: String? = nil) throws -> LoadedModel {
        if let expecting, checkpoint.architecture != expecting {
            throw ModelError.wrongArchitecture(expected: expecting, found: checkpoint.architecture)
        }
        let model = try build(architecture: checkpoint.architecture, config: checkpoint.config)
        // Tensors under `_snoopi_` are what a pipeline file carries besides the network (its text
        // encoder, embedded so that one file is one model): not the architecture's.
        try model.loadTensors(checkpoint.tensors.dictionary.filter { !$0.key.hasPrefix("_snoopi_") }, only: only)
        return model
    }

    /// Reads a Snoopi checkpoint (HDF5) and loads it.
    public static func load(path: String, expecting: String? = nil, only: String? = nil) throws -> LoadedModel {
        try load(Checkpoint.load(path, loadTraining: false), expecting: expecting, only: only)
    }

    /// Copies tensors into the model by name, mapping names the architecture renamed over time
    /// (and T5's tied embedding names onto the one it keeps).
    public func loadTensors(_ tensors: [String: Tensor], only: String? = nil) throws {
        let canonicalName: ((String) -> String?)?
        var named = tensors
        switch self {
        case .unet, .pixart, .autoencoderTiny: canonicalName = nil
        case .t5Encoder: (canonicalName, named) = (nil, try T5EncoderModel.untie(tensors))
        case .clipText: canonicalName = CLIPTextModel.canonicalName
        case .clipVision: canonicalName = CLIPVisionModel.canonicalName
        case .clipVisionWithProjection: canonicalName = CLIPVisionModelWithProjection.canonicalName
        case .clipTextWithProjection: canonicalName = CLIPTextModelWithProjection.canonicalName
        case .clip: canonicalName = CLIPModel.canonicalName
        case .autoencoderKL: canonicalName = AutoencoderKL.canonicalName
        }
        if let canonicalName {
            named = [:]
            for (name, t) in tensors { if let canonical = canonicalName(name) { named[canonical] = t } }
        }
        try module.load(named, only: only, strict: only == nil)
    }

    /// The model as a checkpoint (architecture, config, base tensors; adapters not included).
    public func checkpoint() throws -> Checkpoint {
        Checkpoint(architecture: architecture, config: config.json, tensors: try NamedTensors(module.stateDict()))
    }
}
