import Checkpoints
import Engine
import Foundation
import Models

/// `snp inspect M.h5`: architecture, config, tensor count and parameter total.
func inspectCommand(_ words: [String]) throws -> Int32 {
    let args = try Arguments(words, valued: [])
    try args.finish(positionalCount: 1...1)
    let path = args.positional[0]
    let checkpoint = try Checkpoint.load(path)
    let total = checkpoint.tensors.reduce(0) { $0 + $1.tensor.count }
    print("file:          \(path)")
    print("architecture:  \(checkpoint.architecture)")
    print("tensors:       \(checkpoint.tensors.count)")
    print("parameters:    \(total) (\(String(format: "%.2f", Double(total) / 1e6))M)")
    if let training = checkpoint.training { print("training state: step \(training.step)") }
    print("config:        \(checkpoint.config)")
    return ExitCode.ok
}

/// `snp forward --checkpoint M.h5 --inputs IN.h5 --out OUT.h5 [--nasa-alpha A] [--nasa-layers GLOB]`:
/// runs the checkpoint's network on the inputs and writes the outputs (names in the usage).
func forwardCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["checkpoint", "inputs", "out", "nasa-alpha", "nasa-layers"])
    let checkpointPath = try args.required("checkpoint"), inputsPath = try args.required("inputs"), outPath = try args.required("out")
    let alpha = try args.float("nasa-alpha"), layers = args.value("nasa-layers")
    try args.finish(positionalCount: 0...0)
    let model = try LoadedModel.load(path: checkpointPath)
    model.module.eval()
    if let alpha { try model.module.enableNASA(alpha: alpha, layers: layers ?? "**") }
    else if layers != nil { throw UsageError(message: "--nasa-layers needs --nasa-alpha") }
    let inputs = try HDF5File(path: inputsPath)
    func input(_ name: String) throws -> Tensor { try inputs.readTensor(name) }
    func optionalInput(_ name: String) throws -> Tensor? { try inputs.kind(of: name) == nil ? nil : try input(name) }
    var outputs: [(String, Tensor)] = []
    try noGrad {
        switch model {
        case .unet(let unet):
            outputs = [("sample", try unet(input("sample"), timestep: input("timestep"), context: input("encoder_hidden_states"),
                                           negativeContext: optionalInput("negative_encoder_hidden_states")))]
        case .pixart(let pixart):
            outputs = [("sample", try pixart(input("sample"), timestep: input("timestep"), context: input("encoder_hidden_states"),
                                             negativeContext: optionalInput("negative_encoder_hidden_states"),
                                             resolution: optionalInput("resolution"), aspectRatio: optionalInput("aspect_ratio")))]
        case .clipText(let clip):
            let (last, pooled) = try clip(input("input_ids"))
            outputs = [("last_hidden_state", last), ("pooler_output", pooled)]
        case .clipVision(let clip):
            let (last, pooled) = try clip(input("pixel_values"))
            outputs = [("last_hidden_state", last), ("pooler_output", pooled)]
        case .clipVisionWithProjection(let clip):
            let (last, pooled, embeds) = try clip(input("pixel_values"))
            outputs = [("last_hidden_state", last), ("pooler_output", pooled), ("image_embeds", embeds)]
        case .clipTextWithProjection(let clip):
            let (last, pooled, embeds) = try clip(input("input_ids"))
            outputs = [("last_hidden_state", last), ("pooler_output", pooled), ("text_embeds", embeds)]
        case .clip(let clip):
            let y = try clip(inputIDs: input("input_ids"), pixelValues: input("pixel_values"))
            outputs = [("text_embeds", y.textEmbeds), ("image_embeds", y.imageEmbeds), ("logits_per_image", y.logitsPerImage),
                       ("logits_per_text", y.logitsPerText)]
        case .autoencoderKL(let vae):
            // images → the latent distribution and diffusers' forward (decode of the mean); latents → images.
            let (images, latents) = try autoencoderInputs(model.architecture, optionalInput)
            if let images {
                let posterior = try vae.encode(images)
                outputs = [("mean", posterior.mean), ("logvar", posterior.logvar), ("sample", try vae.decode(posterior.mean))]
            }
            if let latents { outputs.append(("decoded", try vae.decode(latents))) }
        case .autoencoderTiny(let vae):
            let (images, latents) = try autoencoderInputs(model.architecture, optionalInput)
            if let images { outputs = [("latents", try vae.encode(images))] }
            if let latents { outputs.append(("decoded", try vae.decode(latents))) }
        case .t5Encoder(let t5):
            outputs = [("last_hidden_state", try t5(input("input_ids"), attentionMask: optionalInput("attention_mask")))]
        }
    }
    try HDF5Writer.write(to: outPath) { w in
        for (name, tensor) in outputs { try w.write(tensor, to: name) }
    }
    print("wrote \(outputs.map { "\($0.0) \(shapeString($0.1.shape))" }.joined(separator: ", ")) to \(outPath)")
    return ExitCode.ok
}

/// A VAE's `snp forward` inputs: images `sample` and/or raw latents `latents` (at least one).
private func autoencoderInputs(_ architecture: String, _ optionalInput: (String) throws -> Tensor?) throws -> (images: Tensor?, latents: Tensor?) {
    let images = try optionalInput("sample"), latents = try optionalInput("latents")
    guard images != nil || latents != nil else {
        throw UsageError(message: "\(architecture) inputs need `sample` (images to encode) or `latents` (to decode), or both")
    }
    return (images, latents)
}

/// `snp convert MODEL_DIR OUT.h5` (diffusers / transformers folder → Snoopi checkpoint) and
/// `snp convert --to-diffusers IN.h5 OUT_DIR` (back to a loadable folder). The architecture comes
/// from the folder's config; the result is built once to check every name and shape fits.
func convertCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["dtype"])
    let toDiffusers = args.flag("to-diffusers"), half = args.value("dtype")
    try args.finish(positionalCount: 2...2)
    let (source, destination) = (args.positional[0], args.positional[1])
    if let half, half != "float32" && half != "float16" { throw UsageError(message: "--dtype must be float32 or float16, got '\(half)'") }
    if toDiffusers {
        _ = try LoadedModel.load(path: source)
        try exportFolder(checkpointAt: source, to: destination, as: half == "float16" ? .float16 : .float32)
        print("wrote \(destination)")
    } else if FileManager.default.fileExists(atPath: (source as NSString).appendingPathComponent("model_index.json")) {
        if half != nil { throw UsageError(message: "--dtype applies to single models; a pipeline file is written in float32") }
        try convertPipeline(source, to: destination)
    } else {
        try convertFolder(at: source, to: destination, storage: half == "float16" ? .float16 : .float32)
        do {
            let model = try LoadedModel.load(path: destination)
            print("wrote \(destination): \(model.architecture), \(model.module.parameterCount) parameters")
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw error
        }
    }
    return ExitCode.ok
}

/// `snp compare A.h5 B.h5 [--name DATASET] [--label TEXT]`: max absolute and relative difference
/// of one dataset (or every dataset the two files share).
func compareCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["name", "label"])
    let only = args.value("name"), label = args.value("label")
    try args.finish(positionalCount: 2...2)
    let (a, b) = (try HDF5File(path: args.positional[0]), try HDF5File(path: args.positional[1]))
    let names = try only.map { [$0] } ?? a.datasets().filter(\.type.isNumeric).map(\.name).filter { try b.kind(of: $0) != nil }
    guard !names.isEmpty else { throw UsageError(message: "the two files share no dataset") }
    for name in names {
        let (x, y) = (try a.readTensor(name), try b.readTensor(name))
        guard x.shape == y.shape else {
            print("\(label ?? name): shapes differ: \(shapeString(x.shape)) vs \(shapeString(y.shape))")
            continue
        }
        let diff = zip(x.scalars, y.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
        let scale = y.scalars.map { Swift.abs($0) }.max() ?? 1
        print("\(label ?? name): max abs difference \(String(format: "%.3g", diff)), relative \(String(format: "%.3g", diff / Swift.max(scale, 1e-30)))")
    }
    return ExitCode.ok
}

/// `snp kernels`: which OpenBLAS kernels run, why, and the thread count.
func kernelsCommand(_ words: [String]) throws -> Int32 {
    try Arguments(words, valued: []).finish(positionalCount: 0...0)
    print("kernels: \(BLASKernels.current)")
    print("AVX-512: \(BLASKernels.hasAVX512 ? "yes" : "no")")
    print("start-up: \(BLASKernels.startupNote)")
    print("threads: \(Threads.count) (SNP_THREADS; OpenBLAS itself runs \(Threads.blasThreads))")
    return ExitCode.ok
}
