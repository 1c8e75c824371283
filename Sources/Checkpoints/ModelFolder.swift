import Engine
import Foundation

/// The Hugging Face library a model folder is laid out for.
public enum ModelLibrary: String, Sendable {
    /// `config.json` names the class in `_class_name`; weights in `diffusion_pytorch_model.safetensors`.
    case diffusers
    /// `config.json` names the class in `architectures[0]`; weights in `model.safetensors`.
    case transformers

    /// The single-file weights name this library writes.
    public var weightsFileName: String {
        self == .diffusers ? "diffusion_pytorch_model.safetensors" : "model.safetensors"
    }

    /// The library a config is written for, from its `_class_name` or `architectures` key.
    static func of(config: [String: Any]) -> ModelLibrary? {
        if config["_class_name"] is String { return .diffusers }
        if config["architectures"] is [String] { return .transformers }
        return nil
    }
}

/// A diffusers or transformers model folder (`save_pretrained` output): `config.json` and
/// safetensors weights, in one file or sharded with a `*.safetensors.index.json`.
///
/// Opening finds and checks the files; `loadTensors` reads the weights.
///
///     let folder = try ModelFolder(path: "stable-diffusion/unet")
///     folder.architecture                          // "UNet2DConditionModel"
///     let checkpoint = try folder.checkpoint()
public struct ModelFolder {
    /// The folder, as given.
    public let path: String
    /// `config.json`, verbatim.
    public let config: String
    /// `_class_name` (diffusers) or `architectures[0]` (transformers).
    public let architecture: String
    /// Whose layout the folder follows (decided by the config's keys).
    public let library: ModelLibrary
    /// The safetensors files holding the weights (full paths): one, or every shard in order.
    public let weightFiles: [String]
    /// For a sharded folder, the index file and the shard (file name) of every tensor.
    private let index: (path: String, weightMap: [String: String])?

    /// Reads `config.json` and locates the weights.
    /// - Throws: `.fileNotFound` (no folder), `.missingConfig`, `.invalidConfig`,
    ///   `.missingShard`, `.pytorchWeights` (only `.bin` / `.pt` / `.ckpt` files), `.noWeights`.
    public init(path: String) throws {
        self.path = path
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CheckpointError.fileNotFound(path: path) }
        let configPath = path + "/config.json"
        guard isDirectory.boolValue, let configData = manager.contents(atPath: configPath) else {
            throw CheckpointError.missingConfig(folder: path)
        }
        FileAccessLog.read(configPath)
        config = String(decoding: configData, as: UTF8.self)
        let parsed = try Checkpoint.parseConfig(config, source: configPath)
        if let name = parsed["_class_name"] as? String {
            (library, architecture) = (.diffusers, name)
        } else if let names = parsed["architectures"] as? [String], let first = names.first {
            (library, architecture) = (.transformers, first)
        } else {
            throw CheckpointError.invalidConfig(path: configPath,
                reason: "it has neither _class_name (diffusers) nor architectures (transformers)")
        }

        let files = try manager.contentsOfDirectory(atPath: path).sorted()
        let safetensors = files.filter { $0.hasSuffix(".safetensors") }
        let indexes = files.filter { $0.hasSuffix(".safetensors.index.json") }
        let preferred = [library.weightsFileName, ModelLibrary.diffusers.weightsFileName, ModelLibrary.transformers.weightsFileName]
        if let indexName = preferred.map({ $0 + ".index.json" }).first(where: indexes.contains) ?? (indexes.count == 1 ? indexes[0] : nil) {
            let map = try ModelFolder.readWeightMap(path + "/" + indexName)
            let shards = Array(Set(map.values)).sorted()
            for shard in shards where !manager.fileExists(atPath: path + "/" + shard) {
                throw CheckpointError.missingShard(folder: path, index: indexName, shard: shard)
            }
            weightFiles = shards.map { path + "/" + $0 }
            index = (path + "/" + indexName, map)
        } else if let single = preferred.first(where: safetensors.contains) ?? (safetensors.count == 1 ? safetensors[0] : nil) {
            weightFiles = [path + "/" + single]
            index = nil
        } else {
            let pickles = files.filter { [".bin", ".pt", ".pth", ".ckpt"].contains(where: $0.hasSuffix) }
            if !pickles.isEmpty { throw CheckpointError.pytorchWeights(folder: path, files: pickles) }
            throw CheckpointError.noWeights(folder: path, found: files)
        }
    }

    /// The `weight_map` of an index file: tensor name → shard file name.
    private static func readWeightMap(_ indexPath: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw CheckpointError.fileNotFound(path: indexPath)
        }
        let object = try? JSONSerialization.jsonObject(with: data)
        guard let map = (object as? [String: Any])?["weight_map"] as? [String: String] else {
            throw CheckpointError.invalidConfig(path: indexPath, reason: "no weight_map of tensor names to shard files")
        }
        return map
    }

    /// Reads every tensor (or those whose name matches `only`) from the weights, shard by shard.
    /// - Throws: the `SafetensorsFile` errors; `.notFound` when the index lists a tensor its
    ///   shard lacks; `.invalidConfig` when two shards hold the same tensor.
    public func loadTensors(only: NameGlob? = nil) throws -> NamedTensors {
        var tensors = NamedTensors()
        for file in weightFiles {
            let weights = try SafetensorsFile(path: file)
            for entry in weights.entries where only?.matches(entry.name) ?? true {
                guard tensors[entry.name] == nil else {
                    throw CheckpointError.invalidConfig(path: index?.path ?? file, reason: "tensor \(entry.name) is in two shards")
                }
                tensors[entry.name] = try weights.readTensor(entry.name)
            }
            if let index {
                let shard = URL(fileURLWithPath: file).lastPathComponent
                let stored = Set(weights.names)
                for (name, listed) in index.weightMap where listed == shard && !stored.contains(name) {
                    throw CheckpointError.notFound(path: file, name: name)
                }
            }
        }
        return tensors
    }

    /// The folder as a `Checkpoint`: its tensors, architecture and config (no training state).
    public func checkpoint(only: NameGlob? = nil) throws -> Checkpoint {
        Checkpoint(architecture: architecture, config: config, tensors: try loadTensors(only: only))
    }

    /// Writes `checkpoint` as a model folder at `path`: `config.json` and one safetensors file
    /// named as `library` names it, atomically (the folder appears complete or not at all).
    ///
    /// `library` defaults to the one the checkpoint's config is written for (`_class_name` →
    /// diffusers, `architectures` → transformers); when the config has neither, pass it, and
    /// the key is added with the checkpoint's architecture.
    public static func write(_ checkpoint: Checkpoint, to path: String, as type: SafetensorsFloatType = .float32,
                             library: ModelLibrary? = nil) throws {
        var config = try checkpoint.configDictionary()
        var configText = checkpoint.config
        guard let library = library ?? ModelLibrary.of(config: config) else {
            throw CheckpointError.invalidConfig(path: "checkpoint config",
                reason: "it has neither _class_name (diffusers) nor architectures (transformers); pass the library explicitly")
        }
        if ModelLibrary.of(config: config) != library {
            switch library {
            case .diffusers: config["_class_name"] = checkpoint.architecture
            case .transformers: config["architectures"] = [checkpoint.architecture]
            }
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            configText = String(decoding: data, as: UTF8.self)
        }
        try AtomicWrite.folder(at: path) { temporary in
            guard FileManager.default.createFile(atPath: temporary + "/config.json", contents: Data(configText.utf8)) else {
                throw CheckpointError.writeFailed(path: path, reason: "cannot write config.json")
            }
            // A Snoopi pipeline's own tensors (`_snoopi_…`, its embedded text encoder) are not the
            // network's: diffusers and transformers would report them as unexpected.
            let network = try NamedTensors(checkpoint.tensors.filter { !$0.name.hasPrefix("_snoopi_") })
            try SafetensorsFile.write(network, to: temporary + "/" + library.weightsFileName, as: type,
                                      metadata: ["format": "pt"])
        }
    }
}
