import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Graphics

/// `snp experiment e1|e2|e3|e4|e5|all`: the paper's experiments in miniature. Results go to
/// standard output as Markdown (and to --out), plots to --images.
func experimentCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: DistillRunArguments.valued.union(["unet", "pixart", "classifier", "seeds", "out", "images", "student", "count"]))
    guard let which = args.positional.first, ["e1", "e2", "e3", "e4", "e5", "nasa", "all"].contains(which) else {
        throw UsageError(message: "name the experiment: e1, e2, e3, e4, e5, nasa (e3–e5) or all")
    }
    let unetPath = args.value("unet") ?? "Notebooks/checkpoints/shapes-teacher-unet-16.h5"
    let pixartPath = args.value("pixart") ?? "Notebooks/checkpoints/shapes-teacher-pixart-16.h5"
    let classifierPath = args.value("classifier") ?? "Notebooks/checkpoints/shapes-classifier-16.h5"
    // The recipe every method shares: snp distill's options (the method presets κ on top).
    let recipe = try DistillRunArguments(&args, kind: .unet, method: nil)
    let steps = recipe.steps, evalEvery = recipe.schedule.evalEvery, evalCount = recipe.options.evalCount
    guard evalEvery >= 1, steps % evalEvery == 0 else { throw UsageError(message: "--eval-every must be ≥ 1 and divide --steps") }
    let seeds = try args.integer("seeds", 3, minimum: 1)
    let count = try args.integer("count", 100, minimum: 1)
    let out = args.value("out"), images = args.value("images") ?? "Docs/images"
    var studentPath = args.value("student")
    try args.finish(positionalCount: 1...1)
    let batch = recipe.options.batchSize, lr = recipe.options.learningRate, loraRank = recipe.options.loraRank

    var report = ""
    func emit(_ line: String) { print(line); report += line + "\n" }
    let started = Date()
    Interruption.installHandler()
    defer { Interruption.removeHandler() }

    func distill(_ teacher: WorldTeacher, _ method: DistillMethod, seed: Int) throws -> DistillTrainer {
        var options = recipe.options
        try method.configure(&options, kind: teacher.kind)
        options.seed = UInt64(seed)
        let trainer = try DistillTrainer(teacher: teacher, data: ShapesWorld(side: teacher.side), options: options)
        let outcome = try runTraining(trainer, steps: steps, schedule: TrainingSchedule(logEvery: evalEvery, evalEvery: evalEvery),
                                      progress: ProgressReporter(label: "\(teacher.kind.rawValue) \(method.rawValue) seed \(seed)", total: steps))
        if case .interrupted = outcome { throw UsageError(message: "interrupted") }
        return trainer
    }
    /// What the study records of a finished run: its last evaluation.
    func finalMetrics(_ t: DistillTrainer) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: ["fd", "clip_score", "precision", "recall", "hf", "prompt_acc", "acc_shape"].map { ($0, evaluations(t, $0).last ?? .nan) })
    }
    func saveStudent(_ t: DistillTrainer) throws {
        studentPath = "/tmp/snp-e1-pgsb-unet-student.h5"
        try t.withStudentWeights { try t.student.save(to: studentPath!) }
    }
    func evaluations(_ t: DistillTrainer, _ name: String) -> [Double] {
        zip(t.history.steps, t.history.metrics[name] ?? []).filter { !$0.1.isNaN }.map(\.1)
    }

    // E1 (and E2's "neither" and "both" from its seed-0 runs).
    var finals: [String: [String: Double]] = [:]
    if which == "e1" || which == "all" {
        emit("## E1 — FD over training (Fig. 2 in miniature)\n")
        emit("\(steps) steps of \(batch), student lr \(lr), LoRA lr \(recipe.options.loraLearningRate), rank \(loraRank) (α \(Int(recipe.options.loraAlpha))), student t_s \(recipe.options.studentTimestep ?? 999), β₁ \(recipe.options.beta1), student EMA \(recipe.options.studentEMA.map { "\($0)" } ?? "none"), weighting \(recipe.options.weighting.rawValue), regression warm-up \(recipe.options.regressionSteps) steps; FD on \(evalCount) held-out images every \(evalEvery) steps, seeds 0…\(seeds - 1). Prompt accuracy (all named attributes right, read by the attribute classifier) and HF (mean |Laplacian|) at the last step.\n")
        for path in [unetPath, pixartPath] {
            let teacher = try WorldTeacher.load(path)
            var plot = LinePlot(title: "E1: FD over training, \(teacher.kind.rawValue) teacher (mean of \(seeds) seeds)", xLabel: "step", yLabel: "FD (ShapesCLIP features)")
            emit("### \(teacher.kind.rawValue) teacher\n")
            emit("| method | " + (1...(steps / evalEvery)).map { "FD @\($0 * evalEvery)" }.joined(separator: " | ") + " | prompt acc | HF | CLIP score | seconds/run |")
            emit("|---|" + String(repeating: "---:|", count: steps / evalEvery + 4))
            for method in [DistillMethod.sb, .sbTTUR, .pgsb] {
                var curves: [[Double]] = [], clips: [Double] = [], accuracies: [Double] = [], hfs: [Double] = [], seconds: [Double] = []
                for seed in 0..<seeds {
                    let start = Date()
                    let t = try distill(teacher, method, seed: seed)
                    seconds.append(Date().timeIntervalSince(start))
                    curves.append(evaluations(t, "fd"))
                    let m = finalMetrics(t)
                    clips.append(m["clip_score"]!)
                    accuracies.append(100 * m["prompt_acc"]!)
                    hfs.append(m["hf"]!)
                    if seed == 0 && teacher.kind == .unet {
                        finals[method.rawValue] = m
                        if method == .pgsb, studentPath == nil { try saveStudent(t) }
                    }
                }
                let columns = (0..<curves[0].count).map { i in meanSD(curves.map { $0[i] }) }
                emit("| \(method.label) | " + columns.map { String(format: "%.2f ± %.2f", $0.0, $0.1) }.joined(separator: " | ")
                     + String(format: " | %.1f ± %.1f %% | %.3f ± %.3f | %.2f ± %.2f | %.0f |", meanSD(accuracies).0, meanSD(accuracies).1,
                              meanSD(hfs).0, meanSD(hfs).1, meanSD(clips).0, meanSD(clips).1, meanSD(seconds).0))
                try plot.add(method.label, x: (1...columns.count).map { Double($0 * evalEvery) }, y: columns.map(\.0))
            }
            let png = "\(images)/e1-\(teacher.kind.rawValue).png"
            try plot.savePNG(to: png)
            emit("\n![E1 \(teacher.kind.rawValue)](\(png.replacingOccurrences(of: "Docs/", with: "")))\n")
        }
    }

    if which == "e2" || which == "all" {
        emit("## E2 — where the random κ goes (Table 2 in miniature), UNet teacher, seed 0\n")
        emit("| random κ on | FD ↓ | prompt acc ↑ | HF | CLIP score ↑ | precision ↑ | recall ↑ |")
        emit("|---|---:|---:|---:|---:|---:|---:|")
        let teacher = try WorldTeacher.load(unetPath)
        for (label, method) in [("neither (SB, κ = 4.5)", DistillMethod.sb), ("frozen teacher only", .frozenOnly),
                                ("LoRA teacher only", .loraOnly), ("both (PG-SB)", .pgsb)] {
            let m: [String: Double]
            if let known = finals[method.rawValue] {
                m = known
            } else {
                let t = try distill(teacher, method, seed: 0)
                m = finalMetrics(t)
                if method == .pgsb, studentPath == nil { try saveStudent(t) }
            }
            emit(String(format: "| %@ | %.2f | %.1f %% | %.3f | %.2f | %.3f | %.3f |", label, m["fd"]!, 100 * m["prompt_acc"]!, m["hf"]!,
                        m["clip_score"]!, m["precision"]!, m["recall"]!))
        }
        emit("")
    }

    if ["e3", "e4", "e5", "nasa", "all"].contains(which) {
        guard let studentPath else { throw UsageError(message: "e3–e5 need --student S.h5 (snp distill), or run them with e1/e2 via 'all'") }
        let student = try OneStepStudent.load(studentPath)
        let teacher = try WorldTeacher.load(unetPath)
        let classifier = try AttributeClassifier.load(classifierPath)
        let world = try ShapesWorld(side: student.side)
        let evaluator = try SampleEvaluator(encoder: student.pipeline.encoder, data: world, count: count * removalPairs.count)
        func removal(_ images: Tensor, _ pair: RemovalPair) throws -> Double {
            let predicted = try classifier.predict(images)
            return Double(predicted.filter { $0.value(of: pair.kind) != pair.value }.count) / Double(predicted.count)
        }
        /// Removal rate per pair, FD of all pairs' images, and how often the attributes the positive
        /// prompts name survive (prompt accuracy of the positives: removal on static is no success).
        func study(_ generate: (RemovalPair, Int) throws -> Tensor) throws -> (rates: [Double], fd: Double, kept: Double) {
            var rates: [Double] = [], all: [Tensor] = [], positives: [String] = []
            for (i, pair) in removalPairs.enumerated() {
                let images = try generate(pair, i)
                rates.append(try removal(images, pair))
                all.append(images)
                positives += Array(repeating: pair.positive, count: images.shape[0])
            }
            let images = try Tensor.concat(all)
            let features = try SampleEvaluator.features(in: evaluator.encoder, images)
            return (rates, try frechetDistance(evaluator.realFeatures, features), try classifier.promptAccuracy(images, prompts: positives).allNamed)
        }
        func oneStep(_ method: NegativeMethod, _ alpha: Float) throws -> (rates: [Double], fd: Double, kept: Double) {
            try study { pair, i in
                try student.generate(prompts: Array(repeating: pair.positive, count: count), negativePrompts: Array(repeating: pair.negative, count: count),
                                     method: method, alpha: alpha, seed: UInt64(1000 + i))
            }
        }
        func percent(_ x: Double) -> String { String(format: "%.0f %%", 100 * x) }

        if ["e3", "nasa", "all"].contains(which) {
            emit("## E3 — removal rate of the negative attribute (Table 3/7 in miniature)\n")
            emit("\(count) images per pair, same seeds with and without NASA (α = 0.5, every cross-attention layer); judged by the attribute classifier. Teacher: DPM-Solver++ 20 steps, κ = 3, NASA in both CFG branches, plain \"\" unconditional branch.\n")
            let studentPlain = try oneStep(.none, 0), studentNASA = try oneStep(.nasa, 0.5)
            func teacherStudy(_ nasa: Bool) throws -> (rates: [Double], fd: Double, kept: Double) {
                try study { pair, i in
                    let prompts = Array(repeating: pair.positive, count: count)
                    let sample = {
                        try teacher.sample(prompts: prompts, kappa: [3], steps: 20, attentionNegativePrompts: nasa ? Array(repeating: pair.negative, count: count) : nil,
                                           generator: RandomGenerator(seed: UInt64(1000 + i)))
                    }
                    return nasa ? try teacher.network.withNASA(.all(alpha: 0.5), sample) : try sample()
                }
            }
            let teacherPlain = try teacherStudy(false), teacherNASA = try teacherStudy(true)
            emit("| positive | negative | student | student + NASA | teacher | teacher + NASA |")
            emit("|---|---|---:|---:|---:|---:|")
            for (i, pair) in removalPairs.enumerated() {
                emit("| \(pair.positive) | \(pair.negative) | \(percent(studentPlain.rates[i])) | \(percent(studentNASA.rates[i])) | \(percent(teacherPlain.rates[i])) | \(percent(teacherNASA.rates[i])) |")
            }
            func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
            emit("| **mean** | | **\(percent(mean(studentPlain.rates)))** | **\(percent(mean(studentNASA.rates)))** | **\(percent(mean(teacherPlain.rates)))** | **\(percent(mean(teacherNASA.rates)))** |")
            emit(String(format: "| positive's attributes kept (prompt accuracy) | | %@ | %@ | %@ | %@ |", percent(studentPlain.kept), percent(studentNASA.kept),
                        percent(teacherPlain.kept), percent(teacherNASA.kept)))
            emit(String(format: "| FD of all images | | %.2f | %.2f | %.2f | %.2f |\n", studentPlain.fd, studentNASA.fd, teacherPlain.fd, teacherNASA.fd))
        }
        if ["e4", "nasa", "all"].contains(which) {
            emit("## E4 — one-step negative prompts: CFG on the output vs embedding subtraction vs NASA (Fig. 3 in miniature)\n")
            emit("α = 0.5 for each (CFG on the output: x0 = 1.5 x0(y) − 0.5 x0(y⁻); embedding subtraction: c(y) − 0.5 c(y⁻)); same noise for every method.\n")
            emit("| method | mean removal rate ↑ | positive's attributes kept ↑ | FD ↓ |")
            emit("|---|---:|---:|---:|")
            var grid = ImageGrid(columns: 6, scale: 4, title: "E4: rows = none, CFG on output, embedding subtraction, NASA (α = 0.5); columns = the six pairs")
            for method in [NegativeMethod.none, .cfg, .embedSub, .nasa] {
                let r = try oneStep(method, 0.5)
                emit(String(format: "| %@ | %.0f %% | %.0f %% | %.2f |", method.rawValue, 100 * r.rates.reduce(0, +) / Double(r.rates.count), 100 * r.kept, r.fd))
                var row: [Tensor] = []
                for (i, pair) in removalPairs.enumerated() {
                    let noise = try Tensor.randn([count, 3, student.side, student.side], generator: RandomGenerator(seed: UInt64(1000 + i)))
                    let first = try noise.slice(axis: 0, start: 0, end: 1)
                    row.append(try student.generate(prompts: [pair.positive], negativePrompts: [pair.negative], method: method, alpha: 0.5, noise: first))
                }
                try grid.add(batch: Tensor.concat(row), captions: removalPairs.map { method == .none ? "\($0.positive) − \($0.negative)" : method.rawValue })
            }
            try grid.savePNG(to: "\(images)/e4-methods.png")
            emit("\n![E4](images/e4-methods.png)\n")
        }
        if ["e5", "nasa", "all"].contains(which) {
            emit("## E5 — NASA strength α (Fig. 5 in miniature)\n")
            emit("| α | mean removal rate ↑ | positive's attributes kept ↑ | FD ↓ |")
            emit("|---:|---:|---:|---:|")
            var alphas: [Double] = [], rates: [Double] = [], fds: [Double] = []
            for alpha in stride(from: Float(0), through: 1.5, by: 0.25) {
                let r = try oneStep(.nasa, alpha)
                alphas.append(Double(alpha)); rates.append(100 * r.rates.reduce(0, +) / Double(r.rates.count)); fds.append(r.fd)
                emit(String(format: "| %.2f | %.0f %% | %.0f %% | %.2f |", alpha, rates.last!, 100 * r.kept, r.fd))
            }
            var plot = LinePlot(title: "E5: NASA strength α on the one-step student", xLabel: "α", yLabel: "removal rate (%) / FD")
            try plot.add("removal rate (%)", x: alphas, y: rates)
            try plot.add("FD", x: alphas, y: fds)
            try plot.savePNG(to: "\(images)/e5-alpha.png")
            emit("\n![E5](images/e5-alpha.png)\n")
        }
    }
    emit(String(format: "_(%@, %.0f s)_", "snp experiment " + words.joined(separator: " "), Date().timeIntervalSince(started)))
    if let out { try report.write(toFile: out, atomically: true, encoding: .utf8) }
    return ExitCode.ok
}
