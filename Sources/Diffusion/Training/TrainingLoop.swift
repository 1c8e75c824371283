import Checkpoints
import Distributed
import Engine
import Foundation

/// A training run the loop can drive: the teacher trainer, the distillation trainer. Each step
/// is one optimizer update; the run keeps its own weights, optimizers and random stream, and can
/// write a checkpoint it can later resume from exactly.
public protocol TrainingRun: AnyObject {
    /// Steps taken so far.
    var step: Int { get }
    /// Metrics logged so far (the loop appends to it).
    var history: TrainingHistory { get set }
    /// Takes one step and returns its scalar metrics ("loss" at least). Must not update the
    /// weights when a metric is NaN or infinite: throw `TrainingError.nonFinite` instead (see
    /// `checkFinite`).
    func trainStep() throws -> [String: Double]
    /// Measures the current model (Fréchet distance, CLIP score…), without touching the
    /// training random stream.
    func evaluate() throws -> [String: Double]
    /// Writes a checkpoint holding everything needed to resume (atomically).
    func save(to path: String) throws
}

/// Why training stopped early with an error.
public enum TrainingError: Error, CustomStringConvertible {
    /// A metric (the loss, a gradient norm) was NaN or infinite; the weights were not updated.
    /// `cause`: what the trainer found non-finite behind it (a weight, by name), when it looked.
    case nonFinite(step: Int, metric: String, value: Double, lastCheckpoint: String?, cause: String? = nil)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case let .nonFinite(step, metric, value, lastCheckpoint, cause):
            let keep = lastCheckpoint.map { "; the last good checkpoint is \($0)" } ?? "; no checkpoint was written"
            let behind = cause.map { " because \($0)" } ?? ""
            return "training stopped at step \(step): \(metric) is \(value)\(behind) (the weights were left as they were after step \(step - 1))\(keep). Try a lower learning rate or gradient clipping."
        case let .invalidOptions(reason):
            return "invalid training options: \(reason)"
        }
    }
}

/// Throws `TrainingError.nonFinite` when any metric is NaN or infinite. Trainers call it after
/// computing the loss and gradient norm and before the optimizer step.
public func checkFinite(_ metrics: [String: Double], step: Int) throws {
    // The loss first: it is what a user looks for.
    for name in metrics.keys.sorted(by: { ($0 == "loss" ? "" : $0) < ($1 == "loss" ? "" : $1) }) where !metrics[name]!.isFinite {
        throw TrainingError.nonFinite(step: step, metric: name, value: metrics[name]!, lastCheckpoint: nil)
    }
}

/// How often the loop logs, evaluates and checkpoints.
public struct TrainingSchedule {
    /// Log the mean of each step metric every this many steps (and at the last step).
    public var logEvery: Int
    /// Evaluate every this many steps and at the last step; 0: never.
    public var evalEvery: Int
    /// Write a resumable checkpoint every this many steps and at the end; 0: only at the end.
    public var checkpointEvery: Int
    /// Where checkpoints go; nil: none.
    public var checkpointPath: String?

    public init(logEvery: Int = 10, evalEvery: Int = 0, checkpointEvery: Int = 0, checkpointPath: String? = nil) {
        self.logEvery = logEvery
        self.evalEvery = evalEvery
        self.checkpointEvery = checkpointEvery
        self.checkpointPath = checkpointPath
    }

    func validate() throws {
        guard logEvery >= 1 else { throw TrainingError.invalidOptions("logEvery must be ≥ 1, got \(logEvery)") }
        guard evalEvery >= 0, checkpointEvery >= 0 else { throw TrainingError.invalidOptions("evalEvery and checkpointEvery must be ≥ 0") }
        // Multiples keep every history row an average over the same steps, so a resumed run logs
        // exactly what an uninterrupted one does.
        guard evalEvery % logEvery == 0, checkpointEvery % logEvery == 0 else {
            throw TrainingError.invalidOptions("evalEvery (\(evalEvery)) and checkpointEvery (\(checkpointEvery)) must be multiples of logEvery (\(logEvery))")
        }
    }
}

/// How a run ended.
public enum TrainingOutcome: Equatable, Sendable {
    /// All steps done.
    case finished
    /// Ctrl-C (or `Interruption.request()`): stopped at the end of a step, checkpoint written.
    case interrupted(atStep: Int)
}

/// Drives `run` until it has taken `steps` steps: logs the mean of each step metric into the
/// run's history every `logEvery` steps, evaluates every `evalEvery` steps and at the end
/// (metrics added to the same history row; NaN in rows without them), writes checkpoints, shows
/// progress, stops cleanly at the end of a step on Ctrl-C, and stops on a NaN/Inf metric with
/// the last good checkpoint left in place.
///
/// Over several ranks (`Collectives.current`, under `mpirun`) every rank runs the loop in step
/// with the others; rank 0 alone shows progress and writes checkpoints, and a Ctrl-C any rank sees
/// stops every rank after the same step.
@discardableResult
public func runTraining(_ run: TrainingRun, steps: Int, schedule: TrainingSchedule = TrainingSchedule(),
                  progress: ProgressReporter? = nil) throws -> TrainingOutcome {
    try schedule.validate()
    let collective = Collectives.current
    let progress = collective.isRoot ? progress : nil
    guard steps >= run.step else {
        throw TrainingError.invalidOptions("the run has already taken \(run.step) steps, more than the \(steps) asked for")
    }
    var sums: [String: Double] = [:], counted = 0
    // A run that has already taken steps was saved at its checkpoint path (or resumed from it).
    var lastCheckpoint: String? = schedule.checkpointPath.flatMap { path in
        run.step > 0 && FileManager.default.fileExists(atPath: path) ? path : nil
    }
    func log(evaluation: [String: Double]) {
        var row = sums.mapValues { $0 / Double(Swift.max(counted, 1)) }
        row.merge(evaluation) { a, _ in a }
        append(row, at: run.step, to: &run.history)
        sums = [:]
        counted = 0
    }
    func checkpoint() throws {
        guard let path = schedule.checkpointPath else { return }
        // The root writes; the others go on at once (what they would write is the same).
        if collective.isRoot { try Collectives.alone { try run.save(to: path) } }
        lastCheckpoint = path
    }
    while run.step < steps {
        let metrics: [String: Double]
        do {
            metrics = try run.trainStep()
            try checkFinite(metrics, step: run.step)
        } catch TrainingError.nonFinite(let step, let metric, let value, _, let cause) {
            progress?.finish()
            throw TrainingError.nonFinite(step: step, metric: metric, value: value, lastCheckpoint: lastCheckpoint, cause: cause)
        }
        for (name, value) in metrics { sums[name, default: 0] += value }
        counted += 1
        let step = run.step
        let interrupted = try collective.any(Interruption.isRequested)
        let evaluate = schedule.evalEvery > 0 && (step % schedule.evalEvery == 0 || step == steps)
        if step % schedule.logEvery == 0 || step == steps || interrupted || evaluate {
            var evaluation: [String: Double] = [:]
            if evaluate {
                progress?.note("\(progress?.label ?? "train") step \(step): evaluating…")
                evaluation = try run.evaluate()
                progress?.note("step \(step): " + evaluation.keys.sorted().map { "\($0) \(ProgressReporter.format(evaluation[$0]!))" }.joined(separator: "  "))
            }
            log(evaluation: evaluation)
        }
        progress?.update(step: step, metrics: metrics)
        if (schedule.checkpointEvery > 0 && step % schedule.checkpointEvery == 0) || step == steps || interrupted {
            try checkpoint()
        }
        if interrupted {
            progress?.note("interrupted: stopped after step \(step)\(lastCheckpoint.map { "; checkpoint \($0)" } ?? "")")
            return .interrupted(atStep: step)
        }
    }
    progress?.finish()
    return .finished
}

/// Appends a row to a history, padding with NaN: metrics new to the history get NaN for earlier
/// rows; metrics absent from the row get NaN for it.
public func append(_ row: [String: Double], at step: Int, to history: inout TrainingHistory) {
    let earlier = history.steps.count
    for name in row.keys where history.metrics[name] == nil {
        history.metrics[name] = Array(repeating: .nan, count: earlier)
    }
    history.steps.append(step)
    for name in history.metrics.keys { history.metrics[name]!.append(row[name] ?? .nan) }
}
