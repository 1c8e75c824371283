import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Models
import Testing

/// A tiny teacher on the 8×8 world (fresh weights: the identities hold for any weights).
func tinyTeacher(_ kind: WorldTeacher.Kind = .unet, folder: String) throws -> WorldTeacher {
    let encoder = try ShapesCLIP(side: 8, width: 64, seed: 3)
    try encoder.save(to: folder + "/encoder.h5")
    return try WorldTeacher.tiny(kind, encoder: encoder, encoderPath: folder + "/encoder.h5", seed: 5)
}

func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "snp-distill-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func tinyOptions() throws -> DistillOptions {
    var o = try DistillOptions()
    o.batchSize = 2
    o.evalCount = 8
    o.totalSteps = 4
    o.warmupSteps = 0
    o.loraRank = 4
    o.loraAlpha = 8
    return o
}

@Suite(.serialized) struct VSDTests {
    @Test("the VSD loss's gradient is w(t)(ε̂_ψ − ε̂_φ) · ∂x0/∂θ / N, checked by autodiff and by finite differences")
    func gradientIdentity() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let trainer = try DistillTrainer(teacher: tinyTeacher(folder: folder), data: ShapesWorld(side: 8), options: tinyOptions())
        // Make the LoRA teacher differ from the frozen one, so g ≠ 0.
        for (i, p) in trainer.teachers.loraParameters.enumerated() {
            try p.assign(Tensor.randn(p.shape, generator: RandomGenerator(seed: UInt64(10 + i))) * 0.05)
        }
        let student = trainer.student
        let params = student.network.namedParameters().map(\.tensor)
        let context = try trainer.teacher.context(["a red circle", "a shape"])
        let unconditional = try trainer.teacher.context(["", ""])
        let z = try Tensor.randn([2, 3, 8, 8], generator: RandomGenerator(seed: 1))

        // 1. The built-in loss's gradient.
        let x0 = try student.x0(noise: z, context: context)
        let terms = try trainer.vsd.loss(x0: x0, context: context, unconditional: unconditional, generator: RandomGenerator(seed: 2))
        #expect(try terms.g.abs().max().item() > 0)
        try terms.loss.backward()
        let builtIn = params.map { $0.grad?.scalars ?? [] }
        for p in params { p.grad = nil }

        // 2. The same g pushed through ∂x0/∂θ directly: ∇θ Σ g · x0 / N (equal up to float32
        //    rounding: measured 3.9e-5 of the largest entry).
        let n = Float(x0.count)
        let again = try student.x0(noise: z, context: context)
        try ((again * terms.g).sum() * (1 / n)).backward()
        let direct = params.map { $0.grad?.scalars ?? [] }
        for p in params { p.grad = nil }
        var worst: Float = 0, scale: Float = 0
        for (a, b) in zip(builtIn, direct) {
            for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)); scale = max(scale, abs(y)) }
        }
        #expect(scale > 0 && worst <= 1e-4 * scale, "max |Δ| \(worst) of \(scale)")

        // 3. Finite differences of θ ↦ Σ g · x0(θ) / N along three coordinates of the largest gradient.
        let p = params.max { ($0.grad?.count ?? 0, $0.count) < ($1.grad?.count ?? 0, $1.count) }!
        let index = params.firstIndex { $0 === p }!
        let order = direct[index].indices.sorted { abs(direct[index][$0]) > abs(direct[index][$1]) }
        for i in order.prefix(3) {
            let h: Float = 1e-2
            func surrogate() throws -> Double {
                let x = try noGrad { try student.x0(noise: z, context: context) }
                return zip(x.scalars, terms.g.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / Double(n)
            }
            let original = p.scalars[i]
            p.withMutableBuffer { $0[i] = original + h }
            let plus = try surrogate()
            p.withMutableBuffer { $0[i] = original - h }
            let minus = try surrogate()
            p.withMutableBuffer { $0[i] = original }
            let numeric = (plus - minus) / Double(2 * h)
            #expect(abs(numeric - Double(builtIn[index][i])) <= 0.02 * abs(numeric) + 1e-7, "coordinate \(i): fd \(numeric) vs autodiff \(builtIn[index][i])")
        }
    }

    @Test("g is σ_t² (ε̂_ψ − ε̂_φ): with equal teachers it vanishes; with w = 1 it is the raw difference")
    func weightingAndZeroGradient() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let trainer = try DistillTrainer(teacher: tinyTeacher(folder: folder), data: ShapesWorld(side: 8), options: tinyOptions())
        let context = try trainer.teacher.context(["a circle", "a square"]), unconditional = try trainer.teacher.context(["", ""])
        let x0 = try Tensor.randn([2, 3, 8, 8], generator: RandomGenerator(seed: 3))
        // Fresh adapters (B = 0): the LoRA teacher equals the frozen one, so g = 0 for any κ draw.
        let terms = try trainer.vsd.loss(x0: x0, context: context, unconditional: unconditional, generator: RandomGenerator(seed: 4))
        #expect(try terms.g.abs().max().item() == 0)
        #expect(terms.t.allSatisfy { (20...980).contains($0) })
        #expect(terms.kappaFrozen == terms.kappaLora && terms.kappaFrozen.allSatisfy { $0 >= 0.5 && $0 < 4 })
        // Perturb the adapters and compare weightings at the same draws.
        for p in trainer.teachers.loraParameters { try p.assign(Tensor.full(p.shape, 0.02)) }
        var sigma2 = trainer.vsd, one = trainer.vsd
        sigma2.weighting = .sigmaSquared
        one.weighting = .one
        let a = try sigma2.loss(x0: x0, context: context, unconditional: unconditional, generator: RandomGenerator(seed: 5))
        let b = try one.loss(x0: x0, context: context, unconditional: unconditional, generator: RandomGenerator(seed: 5))
        #expect(a.t == b.t)
        let schedule = trainer.teacher.schedule
        let per = 3 * 8 * 8
        for s in 0..<2 {
            let w = 1 - schedule.alphaBars[a.t[s]]
            for j in 0..<per {
                let expected = w * b.g.scalars[s * per + j]
                #expect(abs(a.g.scalars[s * per + j] - expected) <= 1e-6 * max(1, abs(expected)))
            }
        }
    }

    @Test("NASA switches per layer: only the selected cross-attention layers change, α = 0 is exact, the processors come back")
    func nasaPerLayer() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let student = try OneStepStudent(copying: tinyTeacher(folder: folder))
        let prompts = ["a red circle", "a blue square"], negative = ["red", "blue"]
        let plain = try student.generate(prompts: prompts, negativePrompts: negative, method: .none, alpha: 0.5, seed: 1)
        let zero = try student.generate(prompts: prompts, negativePrompts: negative, method: .nasa, alpha: 0, seed: 1)
        #expect(zero.scalars == plain.scalars)
        let cross = student.network.attentionLayers.filter { $0.layer.isCrossAttention }.map(\.name)
        #expect(!cross.isEmpty && cross.allSatisfy { $0.hasSuffix("attn2") })
        let all = try student.generate(prompts: prompts, negativePrompts: negative, method: .nasa, alpha: 0.5, seed: 1)
        let one = try student.generate(prompts: prompts, negativePrompts: negative, method: .nasa, alpha: 0.5,
                                       nasaLayers: NASALayers([(cross[0], 0.5)]), seed: 1)
        #expect(all.scalars != plain.scalars && one.scalars != plain.scalars && one.scalars != all.scalars)
        // Installing on a layer records exactly it, and every processor is standard again afterwards.
        let seen = try student.network.withNASA(NASALayers([(cross[0], 0.5)])) {
            student.network.attentionLayers.filter { $0.layer.processor is NASAAttention }.map(\.name)
        }
        #expect(seen == [cross[0]])
        #expect(student.network.attentionLayers.allSatisfy { $0.layer.processor is StandardAttention })
        // The baselines: CFG on the output with α = 0 and embedding subtraction with α = 0 are the plain output.
        for method in [NegativeMethod.cfg, .embedSub] {
            let same = try student.generate(prompts: prompts, negativePrompts: negative, method: method, alpha: 0, seed: 1)
            #expect(same.scalars == plain.scalars, "\(method)")
        }
        #expect(throws: (any Error).self) { _ = try student.generate(prompts: prompts, negativePrompts: ["x"], method: .nasa, alpha: 0.5, seed: 1) }
        #expect(throws: (any Error).self) {
            _ = try student.generate(prompts: prompts, negativePrompts: negative, method: .nasa, alpha: 0.5, nasaLayers: NASALayers([("nothing.*", 1)]), seed: 1)
        }
    }

    @Test("a resumed distillation repeats an uninterrupted one bit for bit")
    func exactResume() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        let world = try ShapesWorld(side: 8)
        var options = try tinyOptions()
        options.loraStepsPerStudentStep = 2
        options.clipLoss = ClampedCLIPLoss()
        let schedule = TrainingSchedule(logEvery: 1, evalEvery: 2, checkpointEvery: 2, checkpointPath: folder + "/run.h5")
        let (straight, _) = try expectExactResume(teacher, world, options, schedule: schedule, steps: 4, stopAt: 2, folder: folder)
        #expect(straight.history.metrics["clip_loss"] != nil && straight.history.metrics["kappa_mean"] != nil)
        // The saved student loads as a one-step generator.
        let student = try OneStepStudent.load(folder + "/straight.h5")
        #expect(try student.generate(prompts: ["a shape"], generator: RandomGenerator(seed: 0)).shape == [1, 3, 8, 8])
        #expect(throws: (any Error).self) { _ = try OneStepStudent.load(folder + "/encoder.h5") }
    }

    @Test("student t_s, β₁ = 0, a student EMA and the regression warm-up: resumed runs match, t_s is saved, the warm-up regresses")
    func convergenceKnobs() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        let world = try ShapesWorld(side: 8)
        var options = try tinyOptions()
        options.studentTimestep = 399
        options.beta1 = 0
        options.studentEMA = 0.9
        options.regression = RegressionWarmup(pairs: 6, steps: 3, learningRate: 1e-3, kappa: 2, samplerSteps: 2)
        options.regression!.cachePath = folder + "/pairs.h5"
        let schedule = TrainingSchedule(logEvery: 1, evalEvery: 0, checkpointEvery: 2, checkpointPath: folder + "/run.h5")
        let (straight, _) = try expectExactResume(teacher, world, options, schedule: schedule, steps: 5, stopAt: 2, folder: folder)
        #expect(straight.student.timestep == 399)
        #expect(FileManager.default.fileExists(atPath: folder + "/pairs.h5"))   // the resumed runs read the pairs from it
        // Steps 1–3 regress (regression_loss logged, no VSD loss), steps 4–5 are VSD.
        let regression = straight.history.metrics["regression_loss"]!, vsd = straight.history.metrics["loss"]!
        #expect(regression.prefix(3).allSatisfy { !$0.isNaN } && regression.suffix(2).allSatisfy(\.isNaN), "\(regression)")
        #expect(vsd.prefix(3).allSatisfy(\.isNaN) && vsd.suffix(2).allSatisfy { !$0.isNaN }, "\(vsd)")
        // The saved student holds the EMA's weights (not the raw ones) and its t_s.
        let saved = try OneStepStudent.load(folder + "/straight.h5")
        #expect(saved.timestep == 399)
        let raw = straight.student.network.namedParameters().flatMap(\.tensor.scalars)
        let averaged = try straight.withStudentWeights { straight.student.network.namedParameters().flatMap(\.tensor.scalars) }
        #expect(raw != averaged && saved.network.namedParameters().flatMap(\.tensor.scalars) == averaged)
        // x0 = (z − σ_s ε̂(z, t_s)) / α_s at t_s.
        let z = try Tensor.randn([1, 3, 8, 8], generator: RandomGenerator(seed: 2))
        let context = try saved.pipeline.context(["a red circle"])
        let eps = try noGrad { try saved.pipeline.epsilon(z, t: [399], context: context) }
        let a = saved.schedule.alphaBars[399]
        let expected = try (z - eps * (1 - a).squareRoot()) * (1 / a.squareRoot())
        #expect(try (noGrad { try saved.x0(noise: z, context: context) } - expected).abs().max().item() < 1e-5)
        #expect(abs(saved.amplification - ((1 - a) / a).squareRoot()) < 1e-6)
        // Bad settings are refused with a message.
        #expect(throws: (any Error).self) { _ = try OneStepStudent(copying: teacher, timestep: 1000) }
        var bad = options
        bad.beta1 = 1
        #expect(throws: (any Error).self) { _ = try DistillTrainer(teacher: teacher, data: world, options: bad) }
    }
}

extension VSDTests {
    @Test("DMD's λ_reg: after the warm-up the regression loss stays on beside VSD, on the next pairs, and resumes exactly")
    func regressionBesideVSD() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        let world = try ShapesWorld(side: 8)
        var options = try tinyOptions()
        options.regression = RegressionWarmup(pairs: 4, steps: 1, learningRate: 1e-3, kappa: 2, samplerSteps: 2, weight: 2)
        options.regression!.cachePath = folder + "/pairs.h5"
        let weighted = try DistillTrainer(teacher: teacher, data: world, options: options)
        var plain = options
        plain.regression!.weight = 0
        let unweighted = try DistillTrainer(teacher: teacher, data: world, options: plain)
        for trainer in [weighted, unweighted] { _ = try trainer.trainStep() }   // the warm-up step, alike
        // What step 2's regression term must be, computed here from the cached pairs: rows 2 and 3.
        let pairs = try ImageSetFile.load(folder + "/pairs.h5", tensors: ["noise"])
        let x0 = try noGrad {
            try weighted.student.x0(noise: pairs.tensors["noise"]!.slice(axis: 0, start: 2, end: 4), context: teacher.context(Array(pairs.prompts[2..<4])))
        }
        let expected = Double(try Tensor.mse(x0, pairs.images.slice(axis: 0, start: 2, end: 4)).item())
        let with = try weighted.trainStep(), without = try unweighted.trainStep()
        #expect(abs(with["regression_loss"]! - expected) < 1e-6 * Swift.max(1, expected), "\(with) vs \(expected)")
        #expect(without["regression_loss"] == nil && with["loss"] != nil && abs(with["loss"]! - without["loss"]!) < 1e-6)
        // The same VSD draws, a different update: the regression term reached the student.
        let differ = weighted.student.network.namedParameters().flatMap(\.tensor.scalars) != unweighted.student.network.namedParameters().flatMap(\.tensor.scalars)
        #expect(differ)
        // Exact resume with the term on.
        let schedule = TrainingSchedule(logEvery: 1, evalEvery: 0, checkpointEvery: 2, checkpointPath: folder + "/run.h5")
        try expectExactResume(teacher, world, options, schedule: schedule, steps: 4, stopAt: 2, folder: folder)
        var bad = options
        bad.regression!.weight = -1
        #expect(throws: (any Error).self) { _ = try DistillTrainer(teacher: teacher, data: world, options: bad) }
    }
}

extension VSDTests {
    @Test("the warm-up's own β₁ and cosine learning rate: the last warm-up step moves nothing (lr 0), VSD steps do, and the run resumes exactly")
    func warmupSchedule() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        let world = try ShapesWorld(side: 8)
        var options = try tinyOptions()
        options.beta1 = 0
        options.learningRate = 1e-2   // so that the VSD step visibly moves weights after the warm-up's Adam state
        options.regression = RegressionWarmup(pairs: 4, steps: 3, learningRate: 1e-2, kappa: 2, samplerSteps: 2)
        options.regression!.beta1 = 0.9
        options.regression!.cosine = true
        options.regression!.cachePath = folder + "/pairs.h5"
        let trainer = try DistillTrainer(teacher: teacher, data: world, options: options)
        var weights: [[Float]] = [trainer.student.network.namedParameters().flatMap(\.tensor.scalars)]
        for _ in 0..<5 {
            _ = try trainer.trainStep()
            weights.append(trainer.student.network.namedParameters().flatMap(\.tensor.scalars))
        }
        // lr at warm-up steps 0, 1, 2: 1e-2, 5e-3, 0; then VSD at the run's lr.
        // (Checked over two VSD steps: on the first the LoRA teacher still equals the frozen one and
        // PG-SB draws one κ for both, so g = 0 exactly.)
        let moved = (1...3).map { weights[$0] != weights[$0 - 1] }
        #expect(moved == [true, true, false], "which warm-up steps changed the weights (the cosine's last has lr 0)")
        #expect(weights[5] != weights[3], "VSD steps after the warm-up move the weights again")
        let schedule = TrainingSchedule(logEvery: 1, evalEvery: 0, checkpointEvery: 2, checkpointPath: folder + "/run.h5")
        try expectExactResume(teacher, world, options, schedule: schedule, steps: 5, stopAt: 2, folder: folder)
        var bad = options
        bad.regression!.beta1 = 1
        #expect(throws: (any Error).self) { _ = try DistillTrainer(teacher: teacher, data: world, options: bad) }
    }
}

/// Runs `steps` steps straight through (checkpoint `straight.h5` in `folder`), and again stopped
/// after `stopAt` and resumed from `schedule`'s checkpoint; expects identical histories, student
/// weights and LoRA adapters. Returns both runs.
@discardableResult
func expectExactResume(_ teacher: WorldTeacher, _ world: ShapesWorld, _ options: DistillOptions, schedule: TrainingSchedule,
                       steps: Int, stopAt: Int, folder: String) throws -> (straight: DistillTrainer, resumed: DistillTrainer) {
    let straight = try DistillTrainer(teacher: teacher, data: world, options: options)
    var other = schedule
    other.checkpointPath = folder + "/straight.h5"
    try runTraining(straight, steps: steps, schedule: other)
    let first = try DistillTrainer(teacher: teacher, data: world, options: options)
    try runTraining(first, steps: stopAt, schedule: schedule)
    let resumed = try DistillTrainer.resume(from: schedule.checkpointPath!, teacher: teacher, data: world, options: options)
    try runTraining(resumed, steps: steps, schedule: schedule)
    #expect(resumed.history.steps == straight.history.steps)
    for (name, values) in straight.history.metrics {
        let theirs = resumed.history.metrics[name] ?? []
        let same = values.count == theirs.count && zip(values, theirs).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
        #expect(same, "\(name): \(values) vs \(theirs)")
    }
    #expect(straight.student.network.namedParameters().flatMap(\.tensor.scalars) == resumed.student.network.namedParameters().flatMap(\.tensor.scalars))
    #expect(straight.teachers.loraParameters.flatMap(\.scalars) == resumed.teachers.loraParameters.flatMap(\.scalars))
    return (straight, resumed)
}

extension VSDTests {
    @Test("a NaN in the student, in the LoRA teacher or from κ stops a distillation with a message naming it, the last good checkpoint intact")
    func nonFiniteStopsTheRun() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        let world = try ShapesWorld(side: 8)
        let path = folder + "/run.h5"
        let schedule = TrainingSchedule(logEvery: 1, checkpointEvery: 2, checkpointPath: path)
        func stop(_ trainer: DistillTrainer) throws -> String {
            do { try runTraining(trainer, steps: 4, schedule: schedule) } catch { return String(describing: error) }
            return "(no error)"
        }
        for owner in ["student", "LoRA teacher"] {
            let trainer = try DistillTrainer(teacher: teacher, data: world, options: tinyOptions())
            try runTraining(trainer, steps: 2, schedule: schedule)
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            let name: String
            if owner == "student" {
                let (n, tensor) = trainer.student.network.namedParameters()[1]
                try tensor.assign(Tensor.full(tensor.shape, .nan))
                name = "the student's weight \(n) holds nan"
            } else {
                let tensor = trainer.teachers.loraParameters[0]
                try tensor.assign(Tensor.full(tensor.shape, .infinity))
                name = "the LoRA teacher's weight "
            }
            let message = try stop(trainer)
            // (A NaN student makes x_t and so the frozen teacher's ε NaN first.)
            let metric = owner == "student" ? "the frozen teacher's ε is nan" : "the LoRA teacher's ε is nan"
            #expect(message.contains("training stopped at step 3: \(metric) because " + name) && message.contains("the last good checkpoint is \(path)"), "\(message)")
            #expect(trainer.step == 2)
            // Nothing stepped: the student's other weights are as they were saved.
            let saved = try Checkpoint.load(path).tensors
            let (n, tensor) = trainer.student.network.namedParameters()[0]
            #expect(saved[n]?.scalars == tensor.scalars, "\(n)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good)
        }
        // κ from a function that returns NaN: the first VSD step (after a 2-step warm-up) stops with the function's name.
        var options = try tinyOptions()
        options.guidance = GuidanceSampling(shared: FunctionGuidance(name: "broken") { _ in .nan })
        options.regression = RegressionWarmup(pairs: 2, steps: 2, learningRate: 1e-3, kappa: 2, samplerSteps: 2)
        let trainer = try DistillTrainer(teacher: teacher, data: world, options: options)
        let message = try stop(trainer)
        #expect(message.contains("the function broken returned nan; κ must be finite"), "\(message)")
        #expect(trainer.step == 2)
        #expect(try Checkpoint.load(path).training?.step == 2)
    }
}
