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
    let kappaGiven = try args.float("kappa"), steps = try args.integer("steps", 20, minimum: 1)
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
    let start = Date()
    let pipe = try DiffusionPipeline.load(path)
    // κ: diffusers' default for the class (SD 7.5, PixArt-α 4.5) unless given.
    let kappa = kappaGiven ?? pipe.defaultKappa
    if methodName == "cfg" && kappa <= 1 {
        throw UsageError(message: "--method cfg puts the negative prompt in classifier-free guidance, which runs only for --kappa > 1 (as in diffusers); use --method nasa for a one-step pipeline")
    }
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


/// `snp distill --pipeline DIR|FILE.h5 --prompts FILE … --out STUDENT.h5`: a one-step student of a
/// latent pipeline by VSD in latent space (`LatentDistillTrainer`); the student is written as a
/// pipeline file (`snp generate --pipeline STUDENT.h5 --kappa 0 --steps 1`).
func pipelineDistillCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["pipeline", "prompts", "method", "steps", "batch", "lr", "lora-lr", "lora-rank", "student-lora",
                                             "seed", "beta1", "log-every", "checkpoint-every", "run", "out", "grid"])
    let path = try args.required("pipeline"), promptsPath = try args.required("prompts"), out = try args.required("out")
    let methodName = args.value("method") ?? "pgsb"
    guard let method = DistillMethod(rawValue: methodName) else {
        throw UsageError(message: "--method must be one of \(DistillMethod.allCases.map(\.rawValue).joined(separator: ", ")), got '\(methodName)'")
    }
    var options = try LatentDistillOptions()
    var shapes = try DistillOptions()
    try method.configure(&shapes, kind: .unet)
    guard shapes.loraStepsPerStudentStep == 1, shapes.clipLoss == nil else {
        throw UsageError(message: "--method \(methodName) is not available for pipelines yet (latent distillation runs one LoRA step per student step and no CLIP loss); use pgsb, sb, frozen-only or lora-only")
    }
    options.guidance = shapes.guidance
    let steps = try args.integer("steps", 100, minimum: 1)
    options.batchSize = try args.integer("batch", 1, minimum: 1)
    options.learningRate = try args.float("lr") ?? options.learningRate
    options.loraLearningRate = try args.float("lora-lr") ?? options.loraLearningRate
    options.loraRank = try args.integer("lora-rank", options.loraRank, minimum: 1)
    if args.value("student-lora") != nil { options.studentLoRARank = try args.integer("student-lora", 0, minimum: 1) }
    options.seed = UInt64(try args.integer("seed", 0))
    options.beta1 = try args.float("beta1") ?? options.beta1
    var schedule = TrainingSchedule(logEvery: try args.integer("log-every", 1, minimum: 1))
    schedule.checkpointEvery = try args.integer("checkpoint-every", 0)
    if schedule.checkpointEvery % schedule.logEvery != 0 { schedule.logEvery = 1 }
    schedule.checkpointPath = args.value("run") ?? (out.hasSuffix(".h5") ? String(out.dropLast(3)) : out) + ".run.h5"
    let resume = args.flag("resume"), grid = args.value("grid")
    try args.finish(positionalCount: 0...0)
    let prompts = try String(contentsOfFile: promptsPath, encoding: .utf8).split(separator: "\n")
        .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !prompts.isEmpty else { throw UsageError(message: "--prompts: \(promptsPath) holds no prompts (one per line)") }

    let pipe = try DiffusionPipeline.load(path)
    let trainer = resume
        ? try LatentDistillTrainer.resume(from: schedule.checkpointPath!, pipeline: pipe, prompts: prompts, options: options)
        : try LatentDistillTrainer(pipeline: pipe, prompts: prompts, options: options)
    if resume { print("resuming \(schedule.checkpointPath!) at step \(trainer.step)") }
    let trainable = trainer.student.namedParameters().filter { $0.tensor.requiresGrad }.reduce(0) { $0 + $1.tensor.count }
    print("distilling \(pipe.className) from \(path) in latent space with \(method.label): \(options.guidance), \(steps) steps of \(options.batchSize), \(prompts.count) prompts; the student trains \(trainable) weights" + (options.studentLoRARank.map { " (LoRA rank \($0))" } ?? " (all)"))
    Interruption.installHandler()
    defer { Interruption.removeHandler() }
    let start = Date()
    let outcome = try runTraining(trainer, steps: steps, schedule: schedule, progress: ProgressReporter(label: "distill", total: steps))
    let seconds = Date().timeIntervalSince(start)
    try trainer.saveStudent(to: out)
    print(String(format: "%d steps in %.1f s; peak memory %.0f MiB; saved %@ (the student pipeline) and %@ (resumable)", trainer.step, seconds,
                 peakResidentMiB(), out, schedule.checkpointPath!))
    if let grid {
        let shown = Array(prompts.prefix(8))
        let images = try trainer.generate(prompts: shown, generator: RandomGenerator(seed: 4321))
        var picture = ImageGrid(columns: Swift.min(shown.count, 4), scale: Swift.max(1, 128 / images.shape[2]), title: "one-step student, step \(trainer.step)")
        try picture.add(batch: images, captions: shown)
        try picture.savePNG(to: grid)
        print("wrote \(grid)")
    }
    if case .interrupted = outcome { return ExitCode.interrupted }
    return ExitCode.ok
}
