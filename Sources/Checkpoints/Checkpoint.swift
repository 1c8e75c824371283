import Engine
import Foundation

/// A Snoopi checkpoint: a model's tensors by PyTorch `state_dict` name, its architecture and
/// config, and optionally the state to resume training. Stored as one HDF5 file:
///
///     /                                  attributes format = "snoopi-checkpoint", format_version = 1,
///                                        architecture ("UNet2DConditionModel"), config (JSON text)
///     /down_blocks.0.resnets.0.conv1.weight   one float32 (or float16) dataset per tensor
///     /training/...                      optional, see `TrainingState`
///     /_snoopi_text_encoder.tokenizer.vocab  optional lists of strings (`strings`): 1-d datasets of
///                                        variable-length UTF-8 strings, e.g. a tokenizer's vocabulary
///
/// `load` also reads plain h5py files: tensors as flat dotted names at the root or as nested
/// groups (`a/b/c` becomes `a.b.c`), with or without the root attributes.
/// NOTE: the root group `training` is reserved for training state; datasets under it are never
/// read as tensors (a dotted root dataset `training.x` is an ordinary tensor).
///
///     let checkpoint = try Checkpoint.load("unet.h5", only: "down_blocks.**")
///     try checkpoint.save("copy.h5", storage: .float16)
public struct Checkpoint {
    /// The value of the root `format` attribute.
    public static let format = "snoopi-checkpoint"
    /// The newest layout this code writes and reads.
    public static let formatVersion = 1

    /// The model class, as diffusers / transformers name it (`UNet2DConditionModel`).
    public var architecture: String
    /// The model config as JSON text (diffusers `config.json` keys).
    public var config: String
    /// The model's tensors, in order.
    public var tensors: NamedTensors
    /// Optimizer, RNG and history for resuming training; nil for a weights-only checkpoint.
    public var training: TrainingState?
    /// Lists of strings stored beside the tensors (a tokenizer's vocabulary and merges), by dotted
    /// name: every string dataset of the file outside `training`.
    public var strings: [String: [String]] = [:]

    public init(architecture: String, config: String = "{}", tensors: NamedTensors = NamedTensors(),
                training: TrainingState? = nil, strings: [String: [String]] = [:]) {
        self.architecture = architecture
        self.config = config
        self.tensors = tensors
        self.training = training
        self.strings = strings
    }

    /// The config parsed as a JSON object.
    public func configDictionary() throws -> [String: Any] {
        try Checkpoint.parseConfig(config, source: "checkpoint config")
    }

    /// Parses JSON text that must be an object (`config.json`, the `config` attribute).
    static func parseConfig(_ text: String, source: String) throws -> [String: Any] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw CheckpointError.invalidConfig(path: source, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw CheckpointError.invalidConfig(path: source, reason: "the JSON is not an object")
        }
        return dictionary
    }

    // MARK: - Loading

    /// Reads a checkpoint (or any h5py file of tensors).
    /// - Parameters:
    ///   - only: keep just the tensors whose dotted name matches (`"down_blocks.**"`); the others
    ///     are not read at all.
    ///   - loadTraining: false skips the training state (inference needs only the weights).
    /// - Throws: the `HDF5File` errors, `.invalidCheckpoint` for a different `format` or a newer
    ///   `format_version`, two datasets mapping to one name, or a malformed `training` group.
    public static func load(_ path: String, only: NameGlob? = nil, loadTraining: Bool = true) throws -> Checkpoint {
        let file = try HDF5File(path: path)
        try checkFormat(of: file)
        var checkpoint = Checkpoint(architecture: try stringAttribute("architecture", in: file) ?? "",
                                    config: try stringAttribute("config", in: file) ?? "{}")
        // Snoopi writes every tensor as float32 or float16; h5py files may hold integer buffers
        // (transformers' position_ids), which load as floats.
        let written = try file.attribute("format") == .string(Checkpoint.format)
        for info in try file.datasets() where !info.name.hasPrefix(TrainingState.group + "/") {
            let name = info.name.replacingOccurrences(of: "/", with: ".")
            if info.type == .string {
                // Lists of strings are not tensors; they are read whatever `only` selects.
                guard checkpoint.strings[name] == nil else {
                    throw CheckpointError.invalidCheckpoint(path: path, reason: "two string datasets map to the name \(name)")
                }
                checkpoint.strings[name] = try file.readStrings(info.name)
                continue
            }
            guard only?.matches(name) ?? true else { continue }
            guard checkpoint.tensors[name] == nil else {
                throw CheckpointError.invalidCheckpoint(path: path, reason: "two datasets map to the tensor name \(name)")
            }
            if written, info.type.isInteger {
                throw CheckpointError.invalidCheckpoint(path: path, reason: "tensor \(name) is stored as \(info.type), but Snoopi writes tensors as floating point: the file was altered")
            }
            let tensor = try file.readTensor(info.name)
            if let bad = tensor.firstNonFinite() {
                throw CheckpointError.invalidCheckpoint(path: path, reason: "tensor \(name) holds \(bad.value) at element \(bad.index): weights must be finite")
            }
            checkpoint.tensors[name] = tensor
        }
        if loadTraining { checkpoint.training = try TrainingState.read(from: file) }
        return checkpoint
    }

    /// A root attribute that, when present, must be a string.
    /// The architecture a checkpoint names ("" for a plain h5py file), read from its root
    /// attributes alone: what to build, known before any tensor is read.
    public static func architecture(at path: String) throws -> String {
        let file = try HDF5File(path: path)
        try checkFormat(of: file)
        return try stringAttribute("architecture", in: file) ?? ""
    }

    /// A Snoopi `format` (when the file names one) of a `format_version` this build reads.
    private static func checkFormat(of file: HDF5File) throws {
        if let format = try file.attribute("format"), format != .string(Checkpoint.format) {
            throw CheckpointError.invalidCheckpoint(path: file.path, reason: "format is \(format), expected \"\(Checkpoint.format)\"")
        }
        if let version = try file.attribute("format_version") {
            guard let number = version.intValue, number >= 1, number <= Int64(formatVersion) else {
                throw CheckpointError.invalidCheckpoint(path: file.path,
                    reason: "format_version \(version) is not one this Snoopi reads (1...\(formatVersion)); update Snoopi")
            }
        }
    }

    private static func stringAttribute(_ name: String, in file: HDF5File) throws -> String? {
        guard let value = try file.attribute(name) else { return nil }
        guard let text = value.stringValue else {
            throw CheckpointError.invalidCheckpoint(path: file.path, reason: "attribute \(name) is \(value), expected a string")
        }
        return text
    }

    // MARK: - Saving

    /// Writes the checkpoint to `path` atomically: an existing file there is replaced only once
    /// the new one is complete. Tensors go in `storage` precision; training state always in
    /// float32 / float64 / int64, so a resumed run continues exactly.
    public func save(_ path: String, storage: HDF5FloatStorage = .float32) throws {
        for name in tensors.names where name.contains("/") || name.isEmpty {
            throw CheckpointError.invalidName(name: name, reason: "tensor names are dotted, without '/'")
        }
        for name in strings.keys where name.contains("/") || name.isEmpty || tensors[name] != nil {
            throw CheckpointError.invalidName(name: name, reason: "names of string lists are dotted, without '/', and not a tensor's")
        }
        try HDF5Writer.write(to: path) { writer in
            try writer.setAttribute("format", .string(Checkpoint.format))
            try writer.setAttribute("format_version", .int(Int64(Checkpoint.formatVersion)))
            try writer.setAttribute("architecture", .string(architecture))
            try writer.setAttribute("config", .string(config))
            for (name, tensor) in tensors { try writer.write(tensor, to: name, as: storage) }
            for (name, list) in strings.sorted(by: { $0.key < $1.key }) { try writer.write(strings: list, to: name) }
            try training?.write(to: writer)
        }
    }
}
