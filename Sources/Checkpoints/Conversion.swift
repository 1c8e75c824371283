/// Converts a diffusers / transformers model folder (config.json + safetensors) to a Snoopi
/// checkpoint at `output`, with the architecture and config taken from `config.json`.
/// The output appears atomically; the folder is only read. (`snp convert FOLDER OUT.h5`)
public func convertFolder(at folder: String, to output: String, storage: HDF5FloatStorage = .float32) throws {
    try ModelFolder(path: folder).checkpoint().save(output, storage: storage)
}

/// Exports the tensors, architecture and config of a Snoopi checkpoint as a model folder that
/// diffusers / transformers `from_pretrained` load (see `ModelFolder.write` for `library`).
/// Training state is not exported. The folder appears atomically. (`snp convert IN.h5 FOLDER`)
public func exportFolder(checkpointAt path: String, to folder: String, as type: SafetensorsFloatType = .float32,
                         library: ModelLibrary? = nil) throws {
    let checkpoint = try Checkpoint.load(path, loadTraining: false)
    try ModelFolder.write(checkpoint, to: folder, as: type, library: library)
}
