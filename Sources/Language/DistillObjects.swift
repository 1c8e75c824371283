import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Models

// Distillation as `.snp` values: guidance-scale distributions, the random generator handed to
// `dist` functions, VSD objectives, and training runs.

/// A distribution of the guidance scale κ (`GuidanceDistribution`).
final class DistributionObject: NativeObject {
    let distribution: any GuidanceDistribution

    init(_ distribution: any GuidanceDistribution) { self.distribution = distribution }

    var typeName: String { "distribution" }
    var summary: String { distribution.description }
    var memberNames: [String] { ["sample"] }

    func member(_ name: String) throws -> Value? {
        guard name == "sample" else { return nil }
        return Builtin.method("distribution", "sample", "n, seed: 0", doc: "n independent draws as a list of numbers, from a generator seeded with seed.") { args in
            let n = try args.int("n")
            guard (1...1_000_000).contains(n) else { throw args.mistake("n", "an integer from 1 to 1000000") }
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            return .list(try self.distribution.draw(n, RandomGenerator(seed: seed)).map { .from($0) })
        }
    }
}

/// The random generator a `dist(fn)` function draws from.
final class RngObject: NativeObject {
    let generator: RandomGenerator

    init(_ generator: RandomGenerator) { self.generator = generator }

    var typeName: String { "rng" }
    var summary: String { "rng (Philox, seed \(generator.seed), offset \(generator.offset))" }
    var memberNames: [String] { ["uniform", "normal", "integer"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "uniform": return Builtin.method("rng", "uniform", doc: "A uniform draw in [0, 1).") { _ in .from(self.generator.uniform()) }
        case "normal": return Builtin.method("rng", "normal", doc: "A standard normal draw.") { _ in .from(self.generator.normal()) }
        case "integer":
            return Builtin.method("rng", "integer", "n", doc: "A uniform integer in 0..<n.") { args in
                let n = try args.int("n")
                guard n >= 1 else { throw args.mistake("n", "an integer ≥ 1") }
                return .number(Double(self.generator.integer(below: n)))
            }
        default: return nil
        }
    }
}

/// A VSD objective (eq. 6/7): the teacher, its LoRA teacher, how κ is drawn for each, the t
/// range, the weighting w(t), and the training settings of the LoRA teacher; `distill` maps it
/// onto `DistillOptions`, `vsd_loss` evaluates it once.
final class VSDObject: NativeObject {
    let teacher: TeacherObject
    let lora: LoraTeacherObject
    let guidance: GuidanceSampling
    /// t's range as fractions of T, as given.
    let tBounds: (min: Double, max: Double)
    var tRange: (min: Float, max: Float) { (Float(tBounds.min), Float(tBounds.max)) }
    let weighting: VSDWeighting
    let loraSteps: Int
    let clipLoss: ClampedCLIPLoss?
    /// The `vsd()` settings passed explicitly: they override a `distill(method:)` preset.
    let explicit: Set<String>
    /// The objective as the library computes it.
    let vsd: VSD

    init(teacher: TeacherObject, lora: LoraTeacherObject, guidance: GuidanceSampling, tBounds: (min: Double, max: Double),
         weighting: VSDWeighting, loraSteps: Int, clipLoss: ClampedCLIPLoss?, explicit: Set<String>) throws {
        self.teacher = teacher
        self.lora = lora
        self.guidance = guidance
        self.tBounds = tBounds
        self.weighting = weighting
        self.loraSteps = loraSteps
        self.clipLoss = clipLoss
        self.explicit = explicit
        vsd = try VSD(teacher: lora.pipeline.network, schedule: teacher.teacher.schedule, guidance: guidance,
                      tRange: (Float(tBounds.min), Float(tBounds.max)), weighting: weighting)
    }

    /// Writes this objective into `options`. With `overridingOnly`, only the settings given to
    /// `vsd()` explicitly (a method preset set the rest); the t range and weighting always.
    func apply(to options: inout DistillOptions, overridingOnly: Bool) {
        func wanted(_ name: String) -> Bool { !overridingOnly || explicit.contains(name) }
        // κ: the preset's distributions and draws, with what vsd() was given put in their place
        // (kappa alone: shared by both teachers, as vsd() without kappa_lora means).
        let preset = options.guidance
        var frozen = preset.frozen, loraKappa = preset.lora, shared = preset.shared, draws = preset.draws
        if wanted("kappa") { frozen = guidance.frozen; loraKappa = guidance.lora; shared = guidance.shared }
        if wanted("kappa_lora") { loraKappa = guidance.lora; shared = guidance.shared }
        if wanted("draws") { draws = guidance.draws }
        options.guidance = shared ? GuidanceSampling(shared: frozen, draws: draws)
            : GuidanceSampling(frozen: frozen, lora: loraKappa, draws: draws)
        if wanted("lora_steps") { options.loraStepsPerStudentStep = loraSteps }
        if wanted("clip_loss") { options.clipLoss = clipLoss }
        options.tRange = tRange
        options.weighting = weighting
        options.loraRank = lora.rank
        options.loraAlpha = lora.alpha
        options.loraTargets = lora.layers
    }

    var typeName: String { "vsd" }
    var summary: String {
        var text = "vsd: \(guidance); t ∈ [\(formatNumber(tBounds.min)), \(formatNumber(tBounds.max))]·T; w(t) = \(weighting.rawValue); "
            + "LoRA rank \(lora.rank), \(loraSteps) LoRA step\(loraSteps == 1 ? "" : "s") per student step"
        if let clip = clipLoss { text += "; clamped CLIP loss (weight \(floatText(clip.weight)), margin \(floatText(clip.margin)))" }
        return text
    }
    var memberNames: [String] { ["teacher", "lora", "kappa", "kappa_lora", "shared", "draws", "t", "weighting", "lora_steps", "clip_loss"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "teacher": return .object(teacher)
        case "lora": return .object(lora)
        case "kappa": return .object(DistributionObject(guidance.frozen))
        case "kappa_lora": return .object(DistributionObject(guidance.lora))
        case "shared": return .bool(guidance.shared)
        case "draws": return .string(guidance.draws.rawValue)
        case "t": return .list([.number(tBounds.min), .number(tBounds.max)])
        case "weighting": return .string(weighting.rawValue)
        case "lora_steps": return .number(Double(loraSteps))
        case "clip_loss": return clipLoss.map { .record(Record([("weight", .decimal($0.weight)), ("margin", .decimal($0.margin))])) } ?? .null
        default: return nil
        }
    }
}

/// A finished or interrupted training run (`DistillTrainer` or `TeacherTrainer`).
final class RunObject: NativeObject {
    enum Kind { case distill, teacher }

    let run: TrainingRun
    let kind: Kind
    let outcome: TrainingOutcome
    /// Distillation: the student trained (the one passed to `distill`), the loss, and the
    /// trained copy of the LoRA teacher.
    let student: StudentObject?
    let loss: VSDObject?
    let lora: LoraTeacherObject?
    private var emaTeacher: TeacherObject?

    init(_ run: TrainingRun, kind: Kind, outcome: TrainingOutcome, student: StudentObject? = nil, loss: VSDObject? = nil,
         lora: LoraTeacherObject? = nil) {
        self.run = run
        self.kind = kind
        self.outcome = outcome
        self.student = student
        self.loss = loss
        self.lora = lora
    }

    var history: TrainingHistory { run.history }

    /// Metric names, "loss" first, then alphabetical.
    var metricNames: [String] { history.metrics.keys.sorted { ($0 == "loss" ? "" : $0) < ($1 == "loss" ? "" : $1) } }

    /// The last logged value of a metric that is not NaN.
    func last(_ name: String) -> Double? { history.metrics[name]?.last { !$0.isNaN } }

    /// The values of a metric with the steps they were logged at, NaN rows left out.
    func points(_ name: String) -> [(step: Int, value: Double)] {
        guard let values = history.metrics[name] else { return [] }
        return zip(history.steps, values).filter { !$0.1.isNaN }.map { ($0.0, $0.1) }
    }

    /// A metric's values, or an error listing the metrics there are.
    func checkedPoints(_ name: String, builtin: String, parameter: String) throws -> [(step: Int, value: Double)] {
        guard history.metrics[name] != nil else {
            throw RuntimeError("\(builtin)(): the run has no metric '\(name)' (it has \(metricNames.joined(separator: ", ")))", parameter: parameter)
        }
        return points(name)
    }

    /// The teacher of a teacher run, with the EMA weights (what is sampled and saved).
    func teacher() throws -> TeacherObject? {
        switch kind {
        case .distill: return loss?.teacher
        case .teacher:
            if let emaTeacher { return emaTeacher }
            guard let trainer = run as? TeacherTrainer else { return nil }
            let checkpoint = try trainer.ema.withAveragedWeights { try trainer.teacher.checkpoint() }
            let made = TeacherObject(try trainer.teacher.copy(weights: checkpoint))
            emaTeacher = made
            return made
        }
    }

    var typeName: String { "run" }
    var summary: String {
        var text = "run: \(run.step) step\(run.step == 1 ? "" : "s")"
        if case .interrupted = outcome { text += " (interrupted)" }
        let shown = ["loss", "fd", "clip_score", "precision", "recall", "lora_loss"].filter { history.metrics[$0] != nil }
        let values = shown.compactMap { name in last(name).map { "\(name) \(ProgressReporter.format($0))" } }
        if !values.isEmpty { text += ", " + values.joined(separator: " ") }
        return text
    }
    var memberNames: [String] {
        ["history", "step", "metrics", "interrupted", "last"] + (kind == .distill ? ["student", "teacher", "lora", "loss"] : ["teacher"])
    }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "history":
            var record = Record([("steps", .numbers(history.steps))])
            for metric in metricNames {
                record[metric] = .list((history.metrics[metric] ?? []).map { $0.isNaN ? .null : .number($0) })
            }
            return .record(record)
        case "step": return .number(Double(run.step))
        case "metrics": return .list(metricNames.map { .string($0) })
        case "interrupted": if case .interrupted = outcome { return .bool(true) } else { return .bool(false) }
        case "student": return kind == .distill ? student.map { .object($0) } : nil
        case "lora": return kind == .distill ? lora.map { .object($0) } : nil
        case "loss": return kind == .distill ? loss.map { .object($0) } : nil
        case "teacher": return try teacher().map { .object($0) }
        case "last":
            return Builtin.method("run", "last", "name", doc: "The last logged value of a metric (nil if it was never measured).") { args in
                let metric = try args.string("name")
                _ = try self.checkedPoints(metric, builtin: "run.last", parameter: "name")
                return self.last(metric).map { .number($0) } ?? .null
            }
        default: return nil
        }
    }
}

/// A Float setting as the shortest decimal that reads back as it ("0.1", not 0.10000000149).
func floatText(_ x: Float) -> String { x == x.rounded() && Swift.abs(x) < 1e6 ? String(Int(x)) : "\(x)" }

extension Value {
    /// A Float setting as the number its shortest decimal spelling means (0.1, not 0.10000000149).
    static func decimal(_ x: Float) -> Value { .number(Double("\(x)") ?? Double(x)) }
}

/// Drives a training run with progress on the interpreter's diagnostics (stderr: one line
/// redrawn on a terminal, plain lines otherwise), as `snp train-teacher` and `snp distill` do.
/// Ctrl-C stops it at the end of a step; the request stays pending, so a script stops at its
/// next statement while the REPL keeps the run.
func drive(_ run: TrainingRun, steps: Int, schedule: TrainingSchedule, label: String, interpreter: Interpreter) throws -> TrainingOutcome {
    try runTraining(run, steps: steps, schedule: schedule,
                    progress: ProgressReporter(label: label, total: steps, write: interpreter.diagnostics))
}

/// How often a run logs (every `logEvery` steps) and evaluates (every `evalEvery`; 0 never): the
/// loop needs evaluations on logged steps, so `logEvery` shrinks to a divisor of `evalEvery`.
func trainingSchedule(logEvery: Int, evalEvery: Int) -> TrainingSchedule {
    var log = logEvery
    if evalEvery > 0 {
        var (a, b) = (logEvery, evalEvery)
        while b != 0 { (a, b) = (b, a % b) }
        log = a
    }
    return TrainingSchedule(logEvery: log, evalEvery: evalEvery)
}
