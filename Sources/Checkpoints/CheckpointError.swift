/// Every way reading or writing a checkpoint can fail: a thrown error naming the file and, where
/// there is one, the dataset, tensor or attribute. Nothing in this target traps on a bad file.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// Nothing exists at `path`.
    case fileNotFound(path: String)
    /// The file exists but is not HDF5 (no HDF5 signature), or is a folder.
    case notHDF5(path: String)
    /// The file claims to be HDF5 or safetensors but is truncated or damaged.
    case corruptFile(path: String, reason: String)
    /// No dataset, group or tensor of that name in the file.
    case notFound(path: String, name: String)
    /// The object `object` has no attribute `name`.
    case attributeNotFound(path: String, object: String, name: String)
    /// A dataset, attribute or tensor whose element type this reader cannot convert.
    case unsupportedType(path: String, name: String, type: String)
    /// The element type is supported, but not for what was asked (integers of a float dataset).
    case typeMismatch(path: String, name: String, expected: String, actual: String)
    /// A dataset stored with a compression filter that this libhdf5 does not have.
    case missingFilter(path: String, name: String, filter: String)
    /// A dataset whose values do not match the checksum Snoopi stored with it: the file was damaged.
    case checksumMismatch(path: String, name: String)
    /// A file the isolated reader (a separate process) found damaged: `message` is its error.
    case damaged(path: String, message: String)
    /// libhdf5 or the file system refused a read.
    case readFailed(path: String, name: String, reason: String)
    /// Writing or renaming into place failed; the destination was left as it was.
    case writeFailed(path: String, reason: String)
    /// A dataset or group name that cannot be stored (empty, an empty component, `.` or `..`).
    case invalidName(name: String, reason: String)
    /// An HDF5 file that is not a Snoopi checkpoint, or whose layout is inconsistent.
    case invalidCheckpoint(path: String, reason: String)
    /// A safetensors header that breaks the format (length, JSON, offsets, dtype).
    case invalidSafetensors(path: String, reason: String)
    /// A `config.json` (or checkpoint `config` attribute) that is not a JSON object, or lacks a key.
    case invalidConfig(path: String, reason: String)
    /// A model folder without `config.json`.
    case missingConfig(folder: String)
    /// A model folder with no safetensors weights to load; `found` lists what is there.
    case noWeights(folder: String, found: [String])
    /// A sharded folder whose index names a shard file that is not there.
    case missingShard(folder: String, index: String, shard: String)
    /// A model folder holding PyTorch pickles (`.bin`, `.pt`, `.ckpt`), which Swift cannot read.
    case pytorchWeights(folder: String, files: [String])

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(path): no such file"
        case let .notHDF5(path):
            return "\(path): not an HDF5 file"
        case let .corruptFile(path, reason):
            return "\(path): the file is truncated or damaged: \(reason)"
        case let .notFound(path, name):
            return "\(path): no dataset or tensor named '\(name)'"
        case let .attributeNotFound(path, object, name):
            return "\(path): '\(object)' has no attribute '\(name)'"
        case let .unsupportedType(path, name, type):
            return "\(path): '\(name)' has element type \(type), which cannot be read"
        case let .typeMismatch(path, name, expected, actual):
            return "\(path): '\(name)' holds \(actual), expected \(expected)"
        case let .missingFilter(path, name, filter):
            return "\(path): '\(name)' is compressed with \(filter), which this libhdf5 does not have"
        case let .damaged(_, message):
            return message
        case let .checksumMismatch(path, name):
            return "\(path): tensor '\(name)' does not match its checksum: the file is damaged (restore it or re-download it)"
        case let .readFailed(path, name, reason):
            return "\(path): reading '\(name)' failed: \(reason)"
        case let .writeFailed(path, reason):
            return "\(path): write failed (nothing was changed at this path): \(reason)"
        case let .invalidName(name, reason):
            return "invalid name '\(name)': \(reason)"
        case let .invalidCheckpoint(path, reason):
            return "\(path): not a valid Snoopi checkpoint: \(reason)"
        case let .invalidSafetensors(path, reason):
            return "\(path): invalid safetensors file: \(reason)"
        case let .invalidConfig(path, reason):
            return "\(path): invalid model config: \(reason)"
        case let .missingConfig(folder):
            return "\(folder): no config.json, not a diffusers or transformers model folder"
        case let .noWeights(folder, found):
            let listing = found.isEmpty ? "the folder is empty" : "found " + found.joined(separator: ", ")
            return "\(folder): no safetensors weights (diffusion_pytorch_model.safetensors, model.safetensors or an index); \(listing)"
        case let .missingShard(folder, index, shard):
            return "\(folder): \(index) names shard \(shard), which is missing"
        case let .pytorchWeights(folder, files):
            return "\(folder): weights are PyTorch pickles (\(files.joined(separator: ", "))); "
                + "convert with Scripts/convert_to_hdf5.py"
        }
    }
}
