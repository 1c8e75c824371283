import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Graphics

/// Options every distillation run shares on the command line.
struct DistillRunArguments {
    var options: DistillOptions
    var steps: Int
    var schedule: TrainingSchedule

    static let valued: Set<String> = ["steps", "batch", "lr", "lora-lr", "lora-rank", "lora-steps", "kappa", "kappa-lora", "draws",
                                      "weighting", "seed", "eval-every", "eval-count", "log-every", "student-t", "beta1", "ema",
                                      "t-range", "regression-steps", "regression-pairs", "regression-lr", "regression-cache",
                                      "regression-weight", "regression-sampler-steps", "regression-beta1", "regression-schedule", "regression-pair-seed",
                                      "gan-weight", "gan-lr", "gan-noise", "gan-width"]

    init(_ args: inout Arguments, kind: WorldTeacher.Kind, method: DistillMethod?) throws {
        options = try DistillOptions()
        if let method { try method.configure(&options, kind: kind) }
        steps = try args.integer("steps", 300, minimum: 1)
        options.totalSteps = steps
        // Defaults: DistillOptions' (student lr 1e-5, LoRA lr 1e-3, rank 64 with α = 2·rank).
        options.batchSize = try args.integer("batch", options.batchSize, minimum: 1)
        options.learningRate = try args.float("lr") ?? options.learningRate
        options.loraLearningRate = try args.float("lora-lr") ?? options.loraLearningRate
        if args.value("lora-rank") != nil {
            options.loraRank = try args.integer("lora-rank", options.loraRank, minimum: 1)
            options.loraAlpha = 2 * Float(options.loraRank)
        }
        if let k = args.value("lora-steps") {
            guard let n = Int(k), n >= 1 else { throw UsageError(message: "--lora-steps must be an integer ≥ 1") }
            options.loraStepsPerStudentStep = n
        }
        let draws = GuidanceSampling.Draws(rawValue: args.value("draws") ?? "per_sample")
        guard let draws else { throw UsageError(message: "--draws must be per_sample or per_batch") }
        if let kappa = args.value("kappa") {
            let frozen = try parseGuidanceDistribution(kappa)
            if let lora = args.value("kappa-lora") {
                options.guidance = GuidanceSampling(frozen: frozen, lora: try parseGuidanceDistribution(lora), draws: draws)
            } else {
                options.guidance = GuidanceSampling(shared: frozen, draws: draws)
            }
        }
        if let w = args.value("weighting") {
            guard let weighting = VSDWeighting(rawValue: w) else { throw UsageError(message: "--weighting must be sigma2, one or dmd") }
            options.weighting = weighting
        }
        if args.value("student-t") != nil { options.studentTimestep = try args.integer("student-t", 999, minimum: 1) }
        if let b = try args.float("beta1") {
            guard b >= 0, b < 1 else { throw UsageError(message: "--beta1 must be in [0, 1), got \(b)") }
            options.beta1 = b
        }
        if let d = try args.float("ema") {
            guard d > 0, d < 1 else { throw UsageError(message: "--ema must be in (0, 1), got \(d)") }
            options.studentEMA = d
        }
        if let range = args.value("t-range") {
            let parts = range.split(separator: ":").compactMap { Float($0) }
            guard parts.count == 2, parts[0] >= 0, parts[1] <= 1, parts[0] <= parts[1] else {
                throw UsageError(message: "--t-range must be MIN:MAX with 0 ≤ MIN ≤ MAX ≤ 1 (fractions of T), got '\(range)'")
            }
            options.tRange = (parts[0], parts[1])
        }
        let regressionSteps = try args.integer("regression-steps", 0)
        let regressionWeight = try args.float("regression-weight") ?? 0
        guard regressionWeight.isFinite, regressionWeight >= 0 else { throw UsageError(message: "--regression-weight must be ≥ 0, got \(regressionWeight)") }
        if regressionSteps > 0 || regressionWeight > 0 {
            var r = RegressionWarmup(steps: regressionSteps, weight: regressionWeight)
            r.pairs = try args.integer("regression-pairs", r.pairs, minimum: 1)
            r.learningRate = try args.float("regression-lr") ?? r.learningRate
            r.samplerSteps = try args.integer("regression-sampler-steps", r.samplerSteps, minimum: 1)
            r.cachePath = args.value("regression-cache")
            if let b = try args.float("regression-beta1") {
                guard b >= 0, b < 1 else { throw UsageError(message: "--regression-beta1 must be in [0, 1), got \(b)") }
                r.beta1 = b
            }
            if args.value("regression-pair-seed") != nil { r.pairSeed = UInt64(try args.integer("regression-pair-seed", 0)) }
            switch args.value("regression-schedule") ?? "constant" {
            case "constant": r.cosine = false
            case "cosine": r.cosine = true
            case let other: throw UsageError(message: "--regression-schedule must be constant or cosine, got '\(other)'")
            }
            options.regression = r
        }
        if let weight = try args.float("gan-weight") {
            var term = AdversarialTerm(weight: weight)
            term.learningRate = try args.float("gan-lr") ?? term.learningRate
            term.maxNoise = try args.float("gan-noise") ?? term.maxNoise
            term.width = try args.integer("gan-width", term.width, minimum: 1)
            do { try term.validate() } catch { throw UsageError(message: "--gan-weight/--gan-lr/--gan-noise/--gan-width: \(error)") }
            options.adversarial = term
        } else if let extra = ["gan-lr", "gan-noise", "gan-width"].first(where: { args.value($0) != nil }) {
            throw UsageError(message: "--\(extra) sets the adversarial term, which needs --gan-weight")
        }
        options.seed = UInt64(try args.integer("seed", 0))
        options.evalCount = try args.integer("eval-count", options.evalCount, minimum: 8)
        schedule = TrainingSchedule(logEvery: try args.integer("log-every", 10, minimum: 1), evalEvery: try args.integer("eval-every", 50))
        if schedule.evalEvery % schedule.logEvery != 0 { schedule.logEvery = 1 }
    }
}

/// `snp distill`: see `helpDetails["distill"]`.
func distillCommand(_ words: [String]) throws -> Int32 {
    if words.contains("--pipeline") { return try pipelineDistillCommand(words) }
    var args = try Arguments(words, valued: DistillRunArguments.valued.union(["teacher", "method", "out", "curves", "grid", "run", "checkpoint-every", "init", "prompts"])
                                                .union(DataArguments.valued))
    let teacherPath = args.value("teacher") ?? "Notebooks/checkpoints/shapes-teacher-unet-16.h5"
    let methodName = args.value("method") ?? "pgsb"
    guard let method = DistillMethod(rawValue: methodName) else {
        throw UsageError(message: "--method must be one of \(DistillMethod.allCases.map(\.rawValue).joined(separator: ", ")), got '\(methodName)'")
    }
    let teacher = try WorldTeacher.load(teacherPath)
    var run = try DistillRunArguments(&args, kind: teacher.kind, method: method)
    let out = try args.required("out")
    run.schedule.checkpointPath = args.value("run") ?? (out.hasSuffix(".h5") ? String(out.dropLast(3)) : out) + ".run.h5"
    run.schedule.checkpointEvery = try args.integer("checkpoint-every", 0)
    if run.schedule.checkpointEvery % run.schedule.logEvery != 0 { run.schedule.logEvery = 1 }
    let curves = args.value("curves"), grid = args.value("grid"), resume = args.flag("resume"), initPath = args.value("init")
    let dataArguments = try DataArguments(&args), promptsPath = args.value("prompts")
    try args.finish(positionalCount: 0...0)
    if resume, initPath != nil { throw UsageError(message: "--init starts a new run from a student; --resume continues a run: give one") }
    if promptsPath != nil, dataArguments.path != nil { throw UsageError(message: "give --prompts FILE or --data PATH, not both") }
    // The captions: the shapes world's, a dataset's, or a prompt list (VSD needs no images; then
    // nothing can be evaluated against real images, so --eval-every must be 0).
    let world: any PromptSource
    if let promptsPath {
        let lines = try String(contentsOfFile: promptsPath, encoding: .utf8).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw UsageError(message: "--prompts: \(promptsPath) holds no prompts (one per line)") }
        if run.schedule.evalEvery > 0 {
            throw UsageError(message: "--prompts: a prompt list has no real images to measure against; add --eval-every 0 (or give --data)")
        }
        world = try PromptList(lines, seed: run.options.seed)
        print("prompts: \(promptsPath) — \(lines.count) prompts")
    } else {
        let data = try dataArguments.dataset(side: teacher.side)
        warnUnknownWords(data, teacher.encoder)
        world = data
    }
    // --init: a fresh run (optimizers, LoRA teacher, EMA) from a one-step student's weights, e.g. a warm-up's.
    var initial: OneStepStudent? = nil
    if let initPath {
        initial = try OneStepStudent.load(initPath)
        if run.options.studentTimestep == nil { run.options.studentTimestep = initial!.timestep }
    }
    let trainer = resume
        ? try DistillTrainer.resume(from: run.schedule.checkpointPath!, teacher: teacher, data: world, options: run.options)
        : try DistillTrainer(teacher: teacher, data: world, options: run.options, student: initial)
    if resume { print("resuming \(run.schedule.checkpointPath!) at step \(trainer.step)") }
    if let initPath { print("starting from the student \(initPath) (t_s = \(run.options.studentTimestep!))") }
    print("distilling \(teacherPath) (\(teacher.architecture)) with \(method.label): \(run.options.guidance), \(run.steps) steps of \(run.options.batchSize)")
    if let r = run.options.regression, trainer.step == 0 {
        print("regression warm-up: making \(r.pairs) (noise, teacher sample) pairs (DPM-Solver++ \(r.samplerSteps) steps, κ \(r.kappa)), then \(r.steps) regression steps")
    }
    Interruption.installHandler()
    defer { Interruption.removeHandler() }
    let start = Date()
    let outcome = try runTraining(trainer, steps: run.steps, schedule: run.schedule, progress: ProgressReporter(label: "distill", total: run.steps))
    try trainer.withStudentWeights { try trainer.student.save(to: out) }
    print("\(trainer.step) steps in \(String(format: "%.0f", Date().timeIntervalSince(start))) s; saved \(out)")
    if let fd = trainer.history.metrics["fd"], let last = fd.lastIndex(where: { !$0.isNaN }) {
        print("final: " + ["fd", "clip_score", "precision", "recall", "hf", "prompt_acc"].filter { trainer.history.metrics[$0] != nil }.map { "\($0) \(String(format: "%.3f", trainer.history.metrics[$0]![last]))" }.joined(separator: "  "))
    }
    if let curves {
        var plot = LinePlot(title: "distillation: \(method.label)", xLabel: "step", yLabel: "value (log scale)")
        plot.smoothing = 0.6
        plot.yScale = .log
        for (name, label, scale) in [("fd", "FD", 1.0), ("prompt_acc", "prompt acc (%)", 100), ("hf", "HF × 100", 100),
                                     ("regression_loss", "regression loss", 1), ("lora_loss", "LoRA loss", 1), ("grad_norm", "grad norm", 1)] {
            guard let values = trainer.history.metrics[name] else { continue }
            let points = zip(trainer.history.steps, values).filter { !$0.1.isNaN && $0.1 > 0 }
            if !points.isEmpty { try plot.add(label, x: points.map { Double($0.0) }, y: points.map { $0.1 * scale }) }
        }
        try plot.savePNG(to: curves)
        print("wrote \(curves)")
    }
    if let grid {
        try trainer.withStudentWeights {
            if world is ShapesWorld { try negativeGrid(trainer.student, alpha: 0.5, to: grid) }
            else { try studentGrid(trainer.student, prompts: gridPrompts(for: world), to: grid) }
        }
    }
    if case .interrupted = outcome { return ExitCode.interrupted }
    return ExitCode.ok
}

/// A grid of one-step samples, 8 per prompt.
func studentGrid(_ student: OneStepStudent, prompts: [String], to path: String) throws {
    var grid = ImageGrid(columns: 8, scale: Swift.max(1, 64 / student.side), title: "one-step student")
    for (i, prompt) in prompts.enumerated() {
        let images = try student.generate(prompts: Array(repeating: prompt, count: 8), generator: RandomGenerator(seed: UInt64(100 + i)))
        try grid.add(batch: images, captions: [prompt] + Array(repeating: "", count: 7))
    }
    try grid.savePNG(to: path)
    print("wrote \(path)")
}

/// A grid of the removal pairs: per pair, 6 images without and 6 with NASA (same noise).
func negativeGrid(_ student: OneStepStudent, alpha: Float, to path: String) throws {
    var grid = ImageGrid(columns: 6, scale: 4, title: "one-step student: each pair without (upper row) and with NASA α = \(alpha) (lower row)")
    for (i, pair) in removalPairs.enumerated() {
        let prompts = Array(repeating: pair.positive, count: 6), negatives = Array(repeating: pair.negative, count: 6)
        for method in [NegativeMethod.none, .nasa] {
            let images = try student.generate(prompts: prompts, negativePrompts: negatives, method: method, alpha: alpha, seed: UInt64(100 + i))
            try grid.add(batch: images, captions: [method == .none ? pair.positive : "− \(pair.negative) (NASA)"] + Array(repeating: "", count: 5))
        }
    }
    try grid.savePNG(to: path)
    print("wrote \(path)")
}

/// `snp generate`: one-step images with a negative prompt by a method.
func generateCommand(_ words: [String]) throws -> Int32 {
    if words.contains("--pipeline") { return try pipelineGenerateCommand(words) }
    var args = try Arguments(words, valued: Set(["student", "prompt", "negative", "method", "alpha", "layers", "count", "seed", "grid", "out"])
                                 .union(DataArguments.valued))
    let student = try OneStepStudent.load(try args.required("student"))
    let promptGiven = args.value("prompt"), negative = args.value("negative") ?? ""
    let methodName = args.value("method") ?? (negative.isEmpty ? "none" : "nasa")
    guard let method = NegativeMethod(rawValue: methodName) else {
        throw UsageError(message: "--method must be one of \(NegativeMethod.allCases.map(\.rawValue).joined(separator: ", ")), got '\(methodName)'")
    }
    let alpha = try args.float("alpha") ?? 0.5
    let layers = args.value("layers") ?? "**"
    let count = try args.integer("count", 8, minimum: 1), seed = try args.integer("seed", 0)
    let gridPath = args.value("grid"), outPath = args.value("out")
    let dataArguments = try DataArguments(&args)
    try args.finish(positionalCount: 0...0)
    guard gridPath != nil || outPath != nil else { throw UsageError(message: "give --grid PNG, --out IMAGES.h5 or both") }
    // --data: one image for each of the first `count` held-out captions (what snp eval measures).
    let prompts: [String]
    switch (promptGiven, dataArguments.path) {
    case (let p?, nil): prompts = Array(repeating: p, count: count)
    case (nil, _?): prompts = try dataArguments.dataset(side: student.side).evaluationImages(count, split: .test).captions
    default: throw UsageError(message: "give --prompt TEXT, or --data PATH for the dataset's held-out captions (not both)")
    }
    let prompt = promptGiven ?? "the first \(count) held-out captions of \(dataArguments.path ?? "")"
    let images = try student.generate(prompts: prompts, negativePrompts: Array(repeating: negative, count: count),
                                      method: method, alpha: alpha, nasaLayers: NASALayers([(layers, alpha)]), seed: UInt64(seed))
    if let outPath {
        try ImageSetFile.save(images: images, prompts: prompts,
                              attributes: ["negative_prompt": .string(negative), "method": .string(method.rawValue), "alpha": .double(Double(alpha)),
                                           "seed": .int(Int64(seed)), "student_timestep": .int(Int64(student.timestep))], to: outPath)
        print("wrote \(outPath) (images [\(count), 3, \(student.side), \(student.side)] in [−1, 1], prompts)")
    }
    if let gridPath {
        var grid = ImageGrid(columns: Swift.min(count, 8), scale: 4, title: "\"\(prompt)\"" + (negative.isEmpty ? "" : " − \"\(negative)\" by \(method.rawValue), α = \(alpha)"))
        try grid.add(batch: images, captions: promptGiven == nil ? prompts : Array(repeating: "", count: count))
        try grid.savePNG(to: gridPath)
        print("wrote \(gridPath)")
    }
    return ExitCode.ok
}
