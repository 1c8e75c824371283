import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Graphics
import Models

/// `snp generate --pipeline DIR|FILE.h5 --prompt TEXT …`: a diffusers pipeline (or a Snoopi
/// pipeline file) run as diffusers runs it, with a negative prompt by CFG or by NASA.
func pipelineGenerateCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["pipeline", "prompt", "negative", "method", "alpha", "layers", "count", "seed", "grid", "out",
                                             "kappa", "steps", "sampler", "height", "width"])
    let path = try args.required("pipeline")
    let prompt = try args.required("prompt"), negative = args.value("negative") ?? ""
    let methodName = args.value("method") ?? (negative.isEmpty ? "none" : "nasa")
    guard ["none", "nasa", "cfg"].contains(methodName) else {
        throw UsageError(message: "--method with --pipeline must be nasa, cfg or none, got '\(methodName)'")
    }
    if methodName != "none" && negative.isEmpty { throw UsageError(message: "--method \(methodName) needs --negative TEXT") }
    let alpha = try args.float("alpha") ?? 0.5, layers = args.value("layers") ?? "**"
    let count = try args.integer("count", 1, minimum: 1), seed = try args.integer("seed", 0)
    let kappa = try args.float("kappa") ?? 7.5, steps = try args.integer("steps", 20, minimum: 1)
    let samplerName = args.value("sampler") ?? "scheduler"
    var sampler: WorldTeacher.SamplerKind?
    if samplerName != "scheduler" {
        guard let kind = WorldTeacher.SamplerKind(rawValue: samplerName) else {
            throw UsageError(message: "--sampler must be scheduler, ddim, dpmsolver or euler, got '\(samplerName)'")
        }
        sampler = kind
    }
    let height = try args.value("height").map { _ in try args.integer("height", 0, minimum: 1) }
    let width = try args.value("width").map { _ in try args.integer("width", 0, minimum: 1) }
    let gridPath = args.value("grid"), outPath = args.value("out")
    try args.finish(positionalCount: 0...0)
    guard gridPath != nil || outPath != nil else { throw UsageError(message: "give --grid PNG, --out IMAGES.h5 or both") }
    if methodName == "cfg" && kappa <= 1 {
        throw UsageError(message: "--method cfg puts the negative prompt in classifier-free guidance, which runs only for --kappa > 1 (as in diffusers); use --method nasa for a one-step pipeline")
    }

    let start = Date()
    let pipe = try DiffusionPipeline.load(path)
    print("\(pipe.className) from \(path) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s to load): \(pipe.denoiser.description), scheduler \(pipe.scheduler.className)")
    let prompts = Array(repeating: prompt, count: count)
    let negatives = methodName == "cfg" ? Array(repeating: negative, count: count) : nil
    let away = methodName == "nasa" ? Array(repeating: negative, count: count) : nil
    let progress = ProgressReporter(label: "generate", total: steps)
    let running = Date()
    var stepTimes: [Date] = []
    let out = try pipe.denoiser.withNASA(methodName == "nasa" ? NASALayers([(layers, alpha)]) : NASALayers([])) {
        try pipe.generate(prompts: prompts, negativePrompts: negatives, kappa: kappa, steps: steps, sampler: sampler, height: height,
                          width: width, attentionNegativePrompts: away, generator: RandomGenerator(seed: UInt64(seed))) { step, _ in
            stepTimes.append(Date())
            progress.update(step: step + 1)
        }
    }
    progress.finish()
    let finished = Date(), seconds = finished.timeIntervalSince(running)
    let shape = out.images.shape
    print(String(format: "%d image%@ of %d×%d in %.1f s (%d step%@, κ %g)", count, count == 1 ? "" : "s", shape[2], shape[3], seconds,
                 steps, steps == 1 ? "" : "s", kappa))
    // Where the time went: the text encoder and the first step, each later step, the VAE's decode.
    if let first = stepTimes.first, let last = stepTimes.last {
        let later = stepTimes.count > 1 ? last.timeIntervalSince(first) / Double(stepTimes.count - 1) : .nan
        print(String(format: "timing: text encoder + step 1 %.2f s, each later step %@, VAE decode %.2f s, peak memory %.0f MiB",
                     first.timeIntervalSince(running), later.isNaN ? "—" : String(format: "%.2f s", later),
                     finished.timeIntervalSince(last), peakResidentMiB()))
    }
    if let outPath {
        var attributes: [String: HDF5Attribute] = ["negative_prompt": .string(negative), "method": .string(methodName), "pipeline": .string(path)]
        attributes["alpha"] = .double(Double(alpha))
        attributes["kappa"] = .double(Double(kappa))
        attributes["seed"] = .int(Int64(seed))
        attributes["steps"] = .int(Int64(steps))
        try ImageSetFile.save(images: out.images, prompts: prompts, attributes: attributes, to: outPath)
        print("wrote \(outPath) (images [\(count), 3, \(shape[2]), \(shape[3])] in [−1, 1], prompts)")
    }
    if let gridPath {
        let scale = Swift.max(1, 128 / Swift.max(shape[2], shape[3]))
        var grid = ImageGrid(columns: Swift.min(count, 8), scale: scale,
                             title: "\"\(prompt)\"" + (negative.isEmpty ? "" : " − \"\(negative)\" by \(methodName)" + (methodName == "nasa" ? ", α = \(alpha)" : "")))
        try grid.add(batch: out.images, captions: Array(repeating: "", count: count))
        try grid.savePNG(to: gridPath)
        print("wrote \(gridPath)")
    }
    return ExitCode.ok
}

/// `snp convert PIPELINE_DIR OUT.h5`: a diffusers pipeline folder as one Snoopi pipeline file.
func convertPipeline(_ folder: String, to destination: String) throws {
    let start = Date()
    // One copy of the weights at a time: the loaded folder is gone before the file is read back.
    try DiffusionPipeline.load(folder).save(to: destination)
    // Read back what was written, so a file that cannot be run is not left behind.
    do {
        let back = try DiffusionPipeline.load(destination)
        print(String(format: "wrote %@: %@ (%@, scheduler %@) in %.1f s", destination, back.className, back.denoiser.description,
                     back.scheduler.className, Date().timeIntervalSince(start)))
    } catch {
        try? FileManager.default.removeItem(atPath: destination)
        throw error
    }
}

