import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Graphics
import Models

/// Longer help for `snp COMMAND --help`, by command.
let helpDetails: [String: String] = [
    "batch": """
    Runs each script as its own process (a crash or an exit code stays that job's), at most
    --jobs at a time, SNP_THREADS split so the jobs do not oversubscribe the cores.
      FILE.snp… | DIR        scripts, or every .snp file in a folder (sorted); a script with a line
                             `#% sweep {alpha: [0, 0.5], kappa_max: 2...4}` is one job per grid point,
                             the point's values bound as variables (snp run --let alpha=0.5 …)
      --sweep FILE.snp       the same, and an error when FILE has no `#% sweep` line
      --grid '{axis: […]}'   replace those axes' values of every sweep's grid (the others stay),
                         e.g. --grid '{method: ["pgsb"], seed: 0...2}' runs a part of a study
      --jobs N               jobs at once (default 1); --threads-per-job N (default cores / jobs)
      --out DIR              where each job's folder (log.txt, job.json, result.json, pictures/) and
                             report.md and status.json go (default batch-out)
      --timeout SECONDS      a job running longer gets SIGTERM, then SIGKILL 5 s later
      --force                rerun jobs that finished before with the same script, arguments and inputs
                             (content hashes of the files they read); otherwise those are skipped
      --json                 the final status as JSON on stdout instead of the summary
      --emit-slurm FILE.sh   write a Slurm job array (one task per job) instead of running
      --task K               run only job K (what each array task does); --report-only rebuilds the report
      --args WORD…           the rest of the line goes to every script as `args`
    A script reports what it found with result({fd: 12.5, …}): its fields are columns of the report.
    Ctrl-C: no new jobs start and the running ones finish; a second Ctrl-C stops them at their next
    safe point (SIGINT; killed after 10 s). Run the same command again to continue where it stopped.
    Exit status: 0 when every job passed, 1 when any failed (they are listed), 130 after Ctrl-C.
    """,
    "train-teacher": """
    Trains a tiny multi-step teacher of the shapes world (eq. 3: ε-prediction MSE, prompt dropout 0.1,
    AdamW with warm-up + cosine decay, EMA of the weights, gradient clipping at 1).
      --kind unet|pixart     the network (diffusers UNet2DConditionModel or PixArtTransformer2DModel)
      --encoder PATH         the ShapesCLIP checkpoint whose text tower conditions it
                             (default Notebooks/checkpoints/shapes-clip-16-attr.h5)
      --steps N --batch B --lr LR --ema DECAY --warmup N --seed S
      --log-every N --eval-every N --eval-count N --checkpoint-every N
      --out PATH             the trained teacher (EMA weights only; what you ship and sample)
      --run PATH             the resumable run checkpoint (default OUT with .run.h5); written at
                             every --checkpoint-every, at the end, and on Ctrl-C
      --resume               continue the run in --run instead of starting afresh
      --config JSON          keys replacing the tiny network's diffusers config, e.g. '{"patch_size": 1}'
                             or '{"num_layers": 6}' (a fresh run only)
      --pixart-alpha-init    draw a fresh PixArt's weights as PixArt-α's training code does (Xavier,
                             zero cross-attention outputs and final layer) instead of PyTorch's default
      --init PATH            start from a trained teacher's weights (a fresh optimizer, schedule and EMA;
                             its kind and encoder are the teacher's): a longer run after the first one's
                             run checkpoint is gone
      --grid PNG             a grid of samples at the end; --curves PNG the loss/FD curves
    \(DataArguments.help)
                             (with --data, --encoder is required: snp train-clip --data PATH makes one)
    Ctrl-C stops at the end of the current step and writes the run checkpoint (exit 130).
    """,
    "distill": """
    Distils a shapes-world teacher into a one-step student by VSD (eq. 6/7; FACTS.md): t ~ U[0.02T, 0.98T] per
    sample, w(t) = σ_t², gradient clipping at 1, frozen and LoRA teacher as one network (adapters off/on), the
    LoRA teacher trained on detached student samples with prompt dropout 0.1.
      --teacher PATH (default Notebooks/checkpoints/shapes-teacher-unet-16.h5)
      --method pgsb|sb|sb-ttur|frozen-only|lora-only|sbv2   (PG-SB: κ ~ U(0.5, 4), 3 for PixArt; SB: κ = 4.5)
      --kappa DIST [--kappa-lora DIST] [--draws per_sample|per_batch]   override the method's κ:
                             4.5 | uniform:0.5:4 | normal:MEAN:STD:LOW:HIGH | loguniform:A:B | choice:2/3/4
      --steps N (300) --batch B (8) --lr LR (1e-5) --lora-lr LR (1e-3) --lora-rank R (64, α = 2R) --lora-steps K
      --weighting sigma2|one|dmd  --t-range MIN:MAX (0.02:0.98)  --seed S
      --student-t T (999: SwiftBrush's t = T − 1; DMD2's one-step SDXL uses 399)   the student's conditioning timestep
      --beta1 B (0.9; SiD uses 0)  --ema DECAY (none)   Adam's β₁ for both networks; an EMA of the student (what is saved)
      --regression-steps N (0) [--regression-pairs 1024] [--regression-lr 1e-4] [--regression-cache PAIRS.h5]
                             [--regression-sampler-steps 20] [--regression-beta1 B (the run's)] [--regression-schedule constant|cosine]
                             DMD's warm-up: the first N steps
                             regress the student onto the teacher's DPM-Solver++ samples (κ 3, 20 steps) from the same noise
      --regression-weight W (0)   DMD's λ_reg: after the warm-up, VSD + W · the regression loss on the same pairs
      --regression-pair-seed S (the run's --seed)   the pairs' seed, so runs of several seeds share one cache
      --gan-weight W [--gan-lr 2e-4] [--gan-noise 0] [--gan-width 32]   DMD2's adversarial term: from the first VSD step,
                             + W · softplus(−D(x0, y)) against a small projection discriminator trained on the world's
                             real images of the same captions (Adam β (0, 0.99)); --gan-noise F noises both to t ≤ F·T
      --init S.h5            start from this one-step student's weights (a fresh run: optimizers, LoRA teacher, EMA;
                             its t_s, which --student-t must match), e.g. a warm-up shared by every method and seed of a study
      --eval-every N (50) --eval-count N (256) --log-every N
      --out S.h5 [--run RUN.h5] [--checkpoint-every N] [--resume] [--curves PNG] [--grid PNG]
                             the run checkpoint (default S.run.h5) is written every N steps, at the end and on
                             Ctrl-C; --resume continues it exactly (same options)
    \(DataArguments.help)
                             (the captions come from its training split; evaluations use its held-out images)
      --prompts FILE         distil on a list of prompts, one per line, instead (VSD needs no images;
                             with no real images to measure against, give --eval-every 0)
    """,
    "experiment": """
    The paper's experiments in miniature (Docs/results.md has a recorded run of `all`):
      e1   FD over training for SB, SB + two-time-scale and PG-SB on both teachers, mean ± sd over seeds (PNG plot)
      e2   random κ on neither / the frozen teacher only / the LoRA teacher only / both (UNet, seed 0)
      e3   removal rates of 6 prompt pairs without and with NASA, one-step student and multi-step teacher
      e4   CFG on the output vs embedding subtraction vs NASA (grid, removal rate, FD)
      e5   removal rate and FD against NASA's α from 0 to 1.5 (PNG plot)
      nasa e3–e5 on --student; all: everything (e3–e5 on e1's seed-0 PG-SB UNet student)
      --unet PATH --pixart PATH --classifier PATH   (default: the shipped checkpoints)
      --seeds N (3), and every snp distill option (--steps, --batch, --lr, --student-t, --beta1, --ema,
                             --regression-steps, --weighting, --lora-steps …): the recipe all methods share
      --eval-every N (50) --eval-count N (256) --count N images per pair (100) --student S.h5
      --out RESULTS.md (the Markdown tables) --images FOLDER (Docs/images)
    """,
    "sample": """
    Draws images from a shapes-world teacher with classifier-free guidance (eq. 4) and negative prompts (eq. 5).
      --teacher PATH         a teacher checkpoint (snp train-teacher)
      --prompt TEXT          repeatable; one row of the grid per prompt
      --negative TEXT        a negative prompt for every image (replaces the unconditional branch)
      --kappa K (default 3)  --steps N (20)  --sampler dpmsolver|ddim|euler  --count N per prompt (8)  --seed S
      --grid OUT.png         the captioned grid
    \(DataArguments.help)
                             (instead of --prompt: the first 8 distinct held-out captions, one row each)
    """,
    "eval": """
    Table 1 of the paper in miniature: FD (ShapesCLIP image features, or --features), CLIP score,
    precision and recall (k = 3) of a teacher's samples against held-out real images, one row per
    guidance scale, or of a one-step student's (one row); the mean |Laplacian| (HF: per-pixel static,
    beside the real images'); and prompt accuracy read by the attribute classifier — per attribute
    the prompt names, all named attributes right, and on the held-out shape–colour pairs and template.
      --teacher PATH | --student PATH
      --kappas LIST (teachers; default 2,3,4,5,uniform:2:5; each as snp distill's --kappa)
      --count N (256)  --steps N (20)  --sampler dpmsolver|ddim|euler  --seed S
      --seeds LIST           several noise seeds (e.g. 0,1,2,3): each row is the mean over them,
                             FD and prompt accuracy as mean ± sd (FD of 256 images moves by several
                             points with the noise alone; compare models on the same seeds)
      --classifier PATH      the judge (default: shapes-classifier-SIDE.h5 beside the encoder); with
                             --data, a label classifier (snp train-classifier --data): label accuracy,
                             each image read for the labels of the dataset's images of its caption
      --features PATH        FD and precision/recall in a real CLIP image tower's features instead:
                             a CLIPVisionModelWithProjection (image_embeds) or CLIPVisionModel
                             (pooler_output) checkpoint, from snp convert of a transformers folder;
                             images resized bicubically to its side, OpenAI CLIP's mean/std (the
                             CLIP score stays in the teacher's encoder). A whole CLIPModel: FD and
                             precision/recall in its image_embeds AND the CLIP score with it
                             (100 · max(cos(image_embeds, text_embeds), 0), prompts tokenized by its
                             CLIP BPE tokenizer, cut to its max_position_embeddings)
      --tokenizer FOLDER     the CLIPModel's tokenizer (vocab.json, merges.txt); default: the one
                             beside the --features checkpoint or in its tokenizer/ subfolder
      --json FILE            every metric printed, per row, as JSON (with --seeds: the means,
                             fd_sd and prompt_acc_sd, and each seed's metrics under per_seed;
                             "features": the space FD is measured in; "clip_score_model": what
                             measures the CLIP score)
    \(DataArguments.help)
                             (FD and precision/recall against its held-out images, in the teacher's
                             encoder's image features; prompt accuracy is the shapes world's alone)
    """,
]

/// `snp train-teacher`: see `helpDetails`.
func trainTeacherCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: Set(["kind", "encoder", "steps", "batch", "lr", "ema", "warmup", "seed", "log-every",
                                             "eval-every", "eval-count", "checkpoint-every", "out", "run", "grid", "curves", "init", "config"])
                                 .union(DataArguments.valued))
    let kindName = args.value("kind") ?? "unet"
    guard let kind = WorldTeacher.Kind(rawValue: kindName) else { throw UsageError(message: "--kind must be unet or pixart, got '\(kindName)'") }
    let explicitEncoder = args.value("encoder")
    let encoderPath = explicitEncoder ?? "Notebooks/checkpoints/" + ShapesCLIP.shippedFileNames(side: 16)[0]
    let steps = try args.integer("steps", 4000, minimum: 1)
    var options = TeacherTrainingOptions()
    options.batchSize = try args.integer("batch", 32, minimum: 1)
    options.learningRate = try args.float("lr") ?? 1e-3
    options.emaDecay = try args.float("ema") ?? 0.999
    options.warmupSteps = try args.integer("warmup", 100)
    options.seed = UInt64(try args.integer("seed", 0))
    options.totalSteps = steps
    options.evalCount = try args.integer("eval-count", 256, minimum: 8)
    var schedule = TrainingSchedule(logEvery: try args.integer("log-every", 10, minimum: 1),
                                    evalEvery: try args.integer("eval-every", 0),
                                    checkpointEvery: try args.integer("checkpoint-every", 0))
    let out = try args.required("out")
    let runPath = args.value("run") ?? (out.hasSuffix(".h5") ? String(out.dropLast(3)) : out) + ".run.h5"
    schedule.checkpointPath = runPath
    let resume = args.flag("resume")
    let initPath = args.value("init")
    if resume, initPath != nil { throw UsageError(message: "--init starts a new run from a teacher's weights; it cannot be combined with --resume") }
    let gridPath = args.value("grid"), curvesPath = args.value("curves")
    var overrides: [String: Any] = [:]
    if let text = args.value("config") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let dict = object as? [String: Any] else {
            throw UsageError(message: "--config must be a JSON object of config keys, e.g. '{\"patch_size\": 1}'; got \(text)")
        }
        if resume || initPath != nil { throw UsageError(message: "--config shapes a fresh teacher; a resumed or --init run keeps its network's config") }
        overrides = dict
    }
    let dataArguments = try DataArguments(&args)
    if dataArguments.path != nil, explicitEncoder == nil, initPath == nil, !resume {
        throw UsageError(message: "--data: give --encoder ENC.h5, a text encoder that knows the data's words (snp train-clip --data \(dataArguments.path!) --out ENC.h5)")
    }
    let pixartAlphaInit = args.flag("pixart-alpha-init")
    if pixartAlphaInit, kind != .pixart || resume || initPath != nil {
        throw UsageError(message: "--pixart-alpha-init initialises a fresh PixArt teacher (--kind pixart, without --resume or --init)")
    }
    try args.finish(positionalCount: 0...0)

    // A warm start is conditioned on its teacher's own (embedded) encoder.
    let initial = try initPath.map { try WorldTeacher.load($0) }
    if initial != nil, explicitEncoder != nil {
        throw UsageError(message: "--init trains on the teacher's own text encoder; drop --encoder")
    }
    let encoder = try initial?.encoder ?? ShapesCLIP.load(encoderPath)
    let world = try dataArguments.dataset(side: encoder.side)
    warnUnknownWords(world, encoder)
    let trainer: TeacherTrainer
    if resume {
        trainer = try TeacherTrainer.resume(from: runPath, data: world, options: options)
        guard trainer.teacher.kind == kind else {
            throw UsageError(message: "--resume: \(runPath) trains a \(trainer.teacher.kind.rawValue) teacher, not a \(kind.rawValue)")
        }
        print("resuming \(runPath) at step \(trainer.step)")
    } else if let initPath, let teacher = initial {
        guard teacher.kind == kind else { throw UsageError(message: "--init: \(initPath) is a \(teacher.kind.rawValue) teacher, not a \(kind.rawValue)") }
        print("starting from the weights of \(initPath)")
        trainer = try TeacherTrainer(teacher: teacher, data: world, options: options)
    } else {
        let teacher = try WorldTeacher.tiny(kind, encoder: encoder, encoderPath: encoderPath, seed: options.seed, overrides: overrides,
                                            pixartAlphaInit: pixartAlphaInit)
        trainer = try TeacherTrainer(teacher: teacher, data: world, options: options)
    }
    print("\(trainer.teacher.architecture) teacher: \(trainer.teacher.network.parameterCount) parameters, side \(world.side), " +
          "\(steps) steps of \(options.batchSize), lr \(options.learningRate), EMA \(options.emaDecay)")
    print("text encoder: \(trainer.teacher.encoder.textDescription)")

    Interruption.installHandler()
    defer { Interruption.removeHandler() }
    let start = Date(), firstStep = trainer.step
    let outcome = try runTraining(trainer, steps: steps, schedule: schedule,
                                  progress: ProgressReporter(label: "train-teacher", total: steps))
    let seconds = Date().timeIntervalSince(start)
    if case .interrupted(let step) = outcome {
        print("interrupted after step \(step) (\(String(format: "%.0f", seconds)) s); resume with --resume")
        return ExitCode.interrupted
    }
    try trainer.ema.withAveragedWeights { try trainer.teacher.save(to: out) }
    print("trained \(steps - firstStep) steps in \(String(format: "%.0f", seconds)) s; saved \(out) (EMA weights) and \(runPath) (resumable)")
    if let last = trainer.history.steps.indices.last {
        let shown = trainer.history.metrics.keys.sorted().compactMap { name -> String? in
            let value = trainer.history.metrics[name]![last]
            return value.isNaN ? nil : "\(name) \(String(format: "%.4g", value))"
        }
        print("last logged step \(trainer.history.steps[last]): " + shown.joined(separator: "  "))
    }
    if let curvesPath { try plotHistory(trainer.history, title: "\(kind.rawValue) teacher", to: curvesPath) }
    if let gridPath {
        let teacher = try WorldTeacher.load(out)
        try sampleGrid(teacher, prompts: try gridPrompts(for: world), negative: nil, kappa: 3, steps: 20, sampler: .dpmsolver,
                       perPrompt: 8, seed: 0, title: "\(kind.rawValue) teacher, κ = 3, DPM-Solver++ 20 steps", to: gridPath)
    }
    return ExitCode.ok
}

/// Says how many of `data`'s words `encoder`'s tokenizer reads as unknown (they all condition
/// alike), so a teacher is not trained on a text encoder blind to its captions without notice.
func warnUnknownWords(_ data: any ImageTextDataset, _ encoder: ShapesCLIP) {
    let unknown = Set(encoder.tokenizer.unknownWords(in: data.vocabulary)).sorted()
    if !unknown.isEmpty {
        print("warning: the text encoder does not know \(unknown.count) of the data's \(data.vocabulary.count) words (\(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", …" : "")); they all read as <unk>")
    }
}

/// The prompts of a teacher's sample grid: the shapes world's `teacherGridPrompts`, or the first
/// seven distinct held-out captions of other data.
func gridPrompts(for data: any PromptSource) throws -> [String] {
    if data is ShapesWorld { return teacherGridPrompts }
    var prompts: [String] = []
    let split: DataSplit = (data.count(of: .test) ?? 1) > 0 ? .test : .train
    for i in 0..<Swift.min(200, data.count(of: split) ?? 200) where prompts.count < 7 {
        let caption = try data.caption(i, split: split)
        if !prompts.contains(caption) { prompts.append(caption) }
    }
    return prompts
}

/// Prompts that cover every attribute kind, for sample grids.
let teacherGridPrompts = ["a red circle", "a blue square on a white background", "a large green triangle",
                          "a small yellow cross at the top", "a large pink diamond", "a photo of a shape",
                          "a purple shape on a black background"]

/// Loss (log scale) and, when evaluated, FD over training, as a PNG.
func plotHistory(_ history: TrainingHistory, title: String, to path: String) throws {
    var plot = LinePlot(title: title, xLabel: "step", yLabel: "loss, FD (log scale)")
    plot.yScale = .log
    plot.smoothing = 0.6
    for name in ["loss", "fd"] {
        guard let values = history.metrics[name] else { continue }
        let points = zip(history.steps, values).filter { !$0.1.isNaN && $0.1 > 0 }
        if !points.isEmpty { try plot.add(name, x: points.map { Double($0.0) }, y: points.map(\.1)) }
    }
    try plot.savePNG(to: path)
    print("wrote \(path)")
}

/// A captioned grid: `perPrompt` samples per prompt, one row each.
func sampleGrid(_ teacher: WorldTeacher, prompts: [String], negative: String?, kappa: Float, steps: Int,
                sampler: WorldTeacher.SamplerKind, perPrompt: Int, seed: UInt64, title: String, to path: String) throws {
    let all = prompts.flatMap { Array(repeating: $0, count: perPrompt) }
    let images = try teacher.sample(prompts: all, negativePrompts: negative.map { Array(repeating: $0, count: all.count) },
                                    kappa: kappa, steps: steps, sampler: sampler, generator: RandomGenerator(seed: seed))
    var grid = ImageGrid(columns: perPrompt, scale: Swift.max(1, 64 / teacher.side), title: title)
    try grid.add(batch: images, captions: all.enumerated().map { $0.offset % perPrompt == 0 ? $0.element : "" })
    try grid.savePNG(to: path)
    print("wrote \(path)")
}

/// `snp sample`: see `helpDetails`.
func sampleCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: Set(["teacher", "negative", "kappa", "steps", "sampler", "count", "seed", "grid"]).union(DataArguments.valued),
                             repeatable: ["prompt"])
    let teacherPath = try args.required("teacher")
    var prompts = args.values("prompt")
    let negative = args.value("negative")
    let kappa = try args.float("kappa") ?? 3
    let steps = try args.integer("steps", 20, minimum: 1), count = try args.integer("count", 8, minimum: 1), seed = try args.integer("seed", 0)
    let samplerName = args.value("sampler") ?? "dpmsolver"
    let gridPath = try args.required("grid")
    let dataArguments = try DataArguments(&args)
    try args.finish(positionalCount: 0...0)
    guard prompts.isEmpty || dataArguments.path == nil else { throw UsageError(message: "give --prompt TEXT… or --data PATH (its held-out captions), not both") }
    guard let sampler = WorldTeacher.SamplerKind(rawValue: samplerName) else {
        throw UsageError(message: "--sampler must be one of \(WorldTeacher.SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(samplerName)'")
    }
    guard kappa.isFinite, kappa >= 0, kappa <= 30 else { throw UsageError(message: "--kappa must be in [0, 30], got \(kappa)") }
    let teacher = try WorldTeacher.load(teacherPath)
    print("text encoder: \(teacher.encoder.textDescription)")
    if dataArguments.path != nil {
        // The first 8 distinct held-out captions, one row each.
        let data = try dataArguments.dataset(side: teacher.side)
        var seen = Set<String>()
        for caption in try data.evaluationImages(data.count(of: .test) ?? 0, split: .test).captions where prompts.count < 8 && seen.insert(caption).inserted {
            prompts.append(caption)
        }
    }
    guard !prompts.isEmpty else { throw UsageError(message: "give at least one --prompt (or --data PATH)") }
    let title = "κ = \(kappa), \(samplerName) \(steps) steps" + (negative.map { ", negative \"\($0)\"" } ?? "")
    try sampleGrid(teacher, prompts: prompts, negative: negative, kappa: kappa, steps: steps, sampler: sampler,
                   perPrompt: count, seed: UInt64(seed), title: title, to: gridPath)
    return ExitCode.ok
}

/// `snp eval`: see `helpDetails`.
func evalCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: Set(["teacher", "student", "kappas", "count", "steps", "sampler", "seed", "seeds", "classifier", "json",
                                                 "features", "tokenizer"])
                                 .union(DataArguments.valued))
    let teacherPath = args.value("teacher"), studentPath = args.value("student")
    guard (teacherPath == nil) != (studentPath == nil) else { throw UsageError(message: "give one of --teacher PATH or --student PATH") }
    let settings = try (args.value("kappas") ?? "2,3,4,5,uniform:2:5").split(separator: ",").map { spec in
        do { return try parseGuidanceDistribution(String(spec)) } catch { throw UsageError(message: "--kappas: \(error)") }
    }
    let count = try args.integer("count", 256, minimum: 8), steps = try args.integer("steps", 20, minimum: 1)
    let seeds: [Int]
    if let list = try args.integers("seeds", in: 0...Int(Int32.max)) {
        guard args.value("seed") == nil else { throw UsageError(message: "give --seed S or --seeds LIST, not both") }
        guard Set(list).count == list.count else { throw UsageError(message: "--seeds: \(list.map(String.init).joined(separator: ",")) repeats a seed") }
        seeds = list
    } else {
        seeds = [try args.integer("seed", 0)]
    }
    let samplerName = args.value("sampler") ?? "dpmsolver"
    let classifierPath = args.value("classifier"), jsonPath = args.value("json"), featuresPath = args.value("features")
    let tokenizerPath = args.value("tokenizer")
    let dataArguments = try DataArguments(&args)
    try args.finish(positionalCount: 0...0)
    guard let sampler = WorldTeacher.SamplerKind(rawValue: samplerName) else { throw UsageError(message: "unknown --sampler '\(samplerName)'") }

    let student = try studentPath.map { try OneStepStudent.load($0) }
    let pipeline = try student?.pipeline ?? WorldTeacher.load(teacherPath!)
    let world = try dataArguments.dataset(side: pipeline.side)
    let given = try classifierPath.map { try ImageClassifier.load(judge: $0) }
    if given is AttributeClassifier, !(world is ShapesWorld) {
        throw UsageError(message: "--classifier \(classifierPath!) reads the shapes world's attributes; \(world.name) needs a label classifier (snp train-classifier --data …)")
    }
    let labelJudge = given as? LabelClassifier
    // FD and precision/recall in a real CLIP image tower's features (a converted CLIPVisionModel(WithProjection));
    // a whole CLIPModel measures the CLIP score as well.
    let features: CLIPImageFeatures?, scorer: CLIPScorer?
    if let featuresPath, try Checkpoint.architecture(at: featuresPath) == CLIPModel.architecture {
        scorer = try CLIPScorer.load(path: featuresPath, tokenizer: tokenizerPath)
        features = scorer?.imageSpace
    } else {
        if let tokenizerPath { throw UsageError(message: "--tokenizer \(tokenizerPath) is for a CLIPModel given as --features (its text tower)") }
        features = try featuresPath.map { try CLIPImageFeatures.load(path: $0) }
        scorer = nil
    }
    let evaluator = try SampleEvaluator(teacher: pipeline, data: world, count: count, judge: given as? AttributeClassifier, labelJudge: labelJudge,
                                        features: features, clipScorer: scorer)
    print("text encoder: \(pipeline.encoder.textDescription)")
    let encoderName = pipeline.encoderPath.map { "\(ShapesCLIP.architecture) (\($0))" } ?? ShapesCLIP.architecture
    let featureSpace = features?.featureSpaceName ?? encoderName
    let clipScoreModel = scorer?.name ?? encoderName
    let judge = evaluator.judge
    if judge == nil, labelJudge == nil {
        print(world is ShapesWorld ? "no attribute classifier found beside the encoder (give --classifier PATH): prompt accuracy is not measured"
              : "no label classifier given (--classifier PATH, from snp train-classifier --data …): label accuracy is not measured")
    }
    let heldOut = try judge.map { try SampleEvaluator(teacher: pipeline, data: world, count: count, judge: $0, split: .test) }

    /// (label, images for the training-distribution captions, images for the held-out captions)
    var rows: [(label: String, generate: (SampleEvaluator, Int) throws -> Tensor)] = []
    if let student {
        rows.append(("one step", { e, seed in try student.generate(prompts: e.captions, generator: RandomGenerator(seed: UInt64(seed))) }))
    } else {
        for setting in settings {
            rows.append(("κ ~ \(setting.description)", { e, seed in
                let kappas = try setting.draw(e.captions.count, RandomGenerator(seed: UInt64(seed) &+ 99))
                guard kappas.allSatisfy({ $0 >= 0 && $0 <= 30 }) else { throw UsageError(message: "--kappas: \(setting) draws κ outside [0, 30]") }
                return try pipeline.sample(prompts: e.captions, kappa: kappas, steps: steps, sampler: sampler, generator: RandomGenerator(seed: UInt64(seed)))
            }))
        }
    }
    let kinds = ShapeAttributes.Kind.allCases
    // FD's floor: another set of as many real images (FD is biased upward at small N).
    let otherReal = try world.examples(count, split: .train, start: 5_000_000).images
    let floor = try frechetDistance(evaluator.realFeatures, SampleEvaluator.features(in: evaluator.featureSpace, otherReal))
    print("FD and precision/recall in the image features of \(featureSpace) (\(evaluator.realFeatures.shape[1]) dimensions)"
          + (features == nil ? "" : scorer == nil ? "; the CLIP score in the teacher's encoder's"
                : "; the CLIP score with \(clipScoreModel) too (its text_embeds, tokenizer \(scorer!.tokenizerSource ?? "given"))"))
    print(String(format: "FD floor (real vs other real): %.2f; mean |Laplacian| of the real images: %.3f; ", floor, evaluator.realHighFrequency)
          + "\(count) captions, " + (seeds.count == 1 ? "seed \(seeds[0])" : "mean over seeds \(seeds.map(String.init).joined(separator: ", "))") +
          (student == nil ? ", \(samplerName) \(steps) steps" : ", one step"))
    var header = "| \(student == nil ? "guidance" : "student") | FD ↓ | CLIP score ↑ | precision ↑ | recall ↑ | HF |"
    if judge != nil { header += " prompt acc ↑ | " + kinds.map(\.rawValue).joined(separator: " | ") + " | held-out acc ↑ | held-out shape |" }
    if labelJudge != nil { header += " label acc ↑ |" }
    print(header + " seconds |")
    print("|---|" + String(repeating: "---:|", count: header.filter { $0 == "|" }.count - 1))
    var records: [[String: Any]] = []
    for row in rows {
        let start = Date()
        let perSeed = try seeds.map { seed in
            (m: try evaluator.evaluate(row.generate(evaluator, seed)), h: try heldOut.map { try $0.evaluate(row.generate($0, seed)) })
        }
        let m = meanMetrics(perSeed.map(\.m)), h = heldOut == nil ? nil : meanMetrics(perSeed.compactMap(\.h))
        let spread = { (key: String) in meanSD(perSeed.compactMap { $0.m[key] }).sd }
        let fdText = seeds.count == 1 ? String(format: "%.2f", m["fd"]!) : String(format: "%.2f ± %.2f", m["fd"]!, spread("fd"))
        var line = String(format: "| %@ | %@ | %.2f | %.3f | %.3f | %.3f |", row.label, fdText, m["clip_score"]!, m["precision"]!, m["recall"]!, m["hf"]!)
        if judge != nil {
            line += " \(percent(m["prompt_acc"]))" + (seeds.count == 1 ? "" : String(format: " ± %.1f", 100 * spread("prompt_acc"))) + " | "
                + kinds.map { percent(m["acc_\($0.rawValue)"]) }.joined(separator: " | ")
                + " | \(percent(h?["prompt_acc"])) | \(percent(h?["acc_shape"])) |"
        }
        if labelJudge != nil { line += " \(percent(m["label_acc"]))" + (seeds.count == 1 ? "" : String(format: " ± %.1f", 100 * spread("label_acc"))) + " |" }
        let seconds = Date().timeIntervalSince(start)
        print(line + String(format: " %.0f |", seconds))
        var record: [String: Any] = ["row": row.label, "seconds": seconds]
        record.merge(jsonMetrics(m)) { $1 }
        if let h { record["held_out"] = heldOutRecord(h) }
        if seeds.count > 1 {
            record["fd_sd"] = spread("fd")
            if judge != nil { record["prompt_acc_sd"] = spread("prompt_acc") }
            if labelJudge != nil { record["label_acc_sd"] = spread("label_acc") }
            record["per_seed"] = zip(seeds, perSeed).map { seed, r -> [String: Any] in
                var one = jsonMetrics(r.m)
                one["seed"] = seed
                if let h = r.h { one["held_out"] = heldOutRecord(h) }
                return one
            }
        }
        records.append(record)
    }
    if let jsonPath {
        let document: [String: Any] = ["model": studentPath ?? teacherPath!, "kind": student == nil ? "teacher" : "student", "count": count,
                                       "steps": student == nil ? steps : 1, "sampler": student == nil ? samplerName : "one step", (seeds.count == 1 ? "seed" : "seeds"): seeds.count == 1 ? seeds[0] as Any : seeds as Any,
                                       "real_hf": evaluator.realHighFrequency, "fd_floor": floor, "rows": records, "features": featureSpace,
                                       "clip_score_model": clipScoreModel]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
        print("wrote \(jsonPath)")
    }
    return ExitCode.ok
}

/// Metrics as a JSON object, NaN (unmeasured) as null.
private func jsonMetrics(_ m: [String: Double]) -> [String: Any] {
    m.mapValues { $0.isNaN ? NSNull() as Any : $0 as Any }
}

/// The held-out evaluation's accuracies as a JSON object.
private func heldOutRecord(_ h: [String: Double]) -> [String: Any] {
    jsonMetrics(h.filter { $0.key.hasPrefix("acc") || $0.key.hasPrefix("prompt") })
}

/// A share as "12.3 %", "—" when unmeasured (nil or NaN).
func percent(_ x: Double?) -> String { x.map { $0.isNaN ? "—" : String(format: "%.1f %%", 100 * $0) } ?? "—" }
