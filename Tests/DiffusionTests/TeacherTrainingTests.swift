import Checkpoints
import Diffusion
import Engine
import Foundation
import Models
import Testing

/// A tiny teacher on the 8×8 world with a freshly initialised encoder saved in `folder`.
func tinyTeacher(_ kind: WorldTeacher.Kind = .unet, folder: String) throws -> WorldTeacher {
    let encoder = try ShapesCLIP(side: 8, width: 64, seed: 3)
    let encoderPath = folder + "/encoder.h5"
    try encoder.save(to: encoderPath)
    return try WorldTeacher.tiny(kind, encoder: encoder, encoderPath: encoderPath, seed: 5)
}

func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "snp-teacher-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func tinyOptions() -> TeacherTrainingOptions {
    var o = TeacherTrainingOptions()
    o.batchSize = 4
    o.warmupSteps = 1
    o.totalSteps = 6
    o.evalCount = 8
    o.evalSteps = 2
    return o
}

/// Every parameter's values, flattened, for bit-exact comparison.
func weights(_ module: Module) -> [Float] { module.namedParameters().flatMap { $0.tensor.scalars } }

@Suite(.serialized) struct TeacherTrainingTests {
    @Test("a resumed run repeats an uninterrupted one bit for bit: weights, EMA and history")
    func exactResume() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let world = try ShapesWorld(side: 8, seed: 0)
        let schedule = TrainingSchedule(logEvery: 1, evalEvery: 2, checkpointEvery: 2, checkpointPath: folder + "/run.h5")

        let straight = try TeacherTrainer(teacher: tinyTeacher(folder: folder), data: world, options: tinyOptions())
        var straightSchedule = schedule
        straightSchedule.checkpointPath = folder + "/straight.h5"
        #expect(try runTraining(straight, steps: 4, schedule: straightSchedule) == .finished)

        let first = try TeacherTrainer(teacher: tinyTeacher(folder: folder), data: world, options: tinyOptions())
        try runTraining(first, steps: 2, schedule: schedule)
        let resumed = try TeacherTrainer.resume(from: folder + "/run.h5", data: world, options: tinyOptions())
        #expect(resumed.step == 2)
        try runTraining(resumed, steps: 4, schedule: schedule)

        #expect(resumed.history.steps == [1, 2, 3, 4])
        #expect(resumed.history.steps == straight.history.steps)
        for (name, values) in straight.history.metrics {
            let other = resumed.history.metrics[name] ?? []
            let same = values.count == other.count && zip(values, other).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
            #expect(same, "history of \(name): \(values) vs \(other)")
        }
        #expect(straight.history.metrics["fd"]!.filter { !$0.isNaN }.count == 2)   // evaluated at 2 and 4
        let sameWeights = weights(straight.teacher.network) == weights(resumed.teacher.network)
        #expect(sameWeights)
        let sameAverages = straight.ema.averages.flatMap(\.scalars) == resumed.ema.averages.flatMap(\.scalars)
        #expect(sameAverages)
    }

    @Test("the denoising loss falls over a few steps on a fixed batch-size run")
    func lossFalls() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var options = tinyOptions()
        options.totalSteps = 30
        options.batchSize = 8
        let trainer = try TeacherTrainer(teacher: tinyTeacher(folder: folder), data: ShapesWorld(side: 8), options: options)
        try runTraining(trainer, steps: 30, schedule: TrainingSchedule(logEvery: 10))
        let losses = trainer.history.metrics["loss"]!
        #expect(losses.count == 3)
        #expect(losses[2] < 0.6 * losses[0], "loss \(losses)")
    }

    @Test("Ctrl-C stops at the end of a step and writes the checkpoint")
    func interruption() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder); Interruption.clear() }
        let trainer = try TeacherTrainer(teacher: tinyTeacher(folder: folder), data: ShapesWorld(side: 8), options: tinyOptions())
        Interruption.request()
        let outcome = try runTraining(trainer, steps: 5, schedule: TrainingSchedule(logEvery: 1, checkpointPath: folder + "/run.h5"))
        Interruption.clear()
        #expect(outcome == .interrupted(atStep: 1))
        let saved = try Checkpoint.load(folder + "/run.h5")
        #expect(saved.training?.step == 1)
        #expect(saved.training?.history.steps == [1])
    }

    @Test("a NaN loss stops training with a clear message and leaves the last good checkpoint")
    func nanGuard() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let trainer = try TeacherTrainer(teacher: tinyTeacher(folder: folder), data: ShapesWorld(side: 8), options: tinyOptions())
        let schedule = TrainingSchedule(logEvery: 1, checkpointEvery: 2, checkpointPath: folder + "/run.h5")
        try runTraining(trainer, steps: 2, schedule: schedule)
        let good = try Data(contentsOf: URL(fileURLWithPath: folder + "/run.h5"))
        // Poison one weight: the next loss is NaN.
        let poisoned = trainer.teacher.network.namedParameters()[0].tensor
        try poisoned.assign(Tensor.full(poisoned.shape, .nan))
        var message = ""
        do {
            try runTraining(trainer, steps: 4, schedule: schedule)
        } catch let error as TrainingError {
            message = error.description
        }
        #expect(message.contains("step 3") && message.contains("loss is nan") && message.contains(folder + "/run.h5"), "\(message)")
        #expect(trainer.step == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/run.h5")) == good)
        #expect(try Checkpoint.load(folder + "/run.h5").training?.step == 2)
    }

    @Test("a saved teacher loads with its encoder and samples the same images")
    func saveAndLoad() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for kind in WorldTeacher.Kind.allCases {
            let teacher = try tinyTeacher(kind, folder: folder)
            try teacher.save(to: folder + "/teacher.h5")
            let config = try Checkpoint.load(folder + "/teacher.h5").configDictionary()
            #expect(config["_snoopi_text_encoder"] as? String == "encoder.h5")   // relative to the teacher
            let loaded = try WorldTeacher.load(folder + "/teacher.h5")
            #expect(loaded.kind == kind && loaded.schedule == teacher.schedule)
            let a = try teacher.sample(prompts: ["a red circle", "a shape"], kappa: 3, steps: 3, generator: RandomGenerator(seed: 1))
            let b = try loaded.sample(prompts: ["a red circle", "a shape"], kappa: 3, steps: 3, generator: RandomGenerator(seed: 1))
            #expect(a.shape == [2, 3, 8, 8])
            #expect(a.scalars == b.scalars)
            // A plain diffusers-named checkpoint: LoadedModel reads it as its architecture.
            #expect(try LoadedModel.load(path: folder + "/teacher.h5").architecture == teacher.architecture)

            // One file is one model: the teacher copied alone (no encoder file beside it) loads
            // with the same encoder and draws the same images.
            let alone = try temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: alone) }
            try FileManager.default.copyItem(atPath: folder + "/teacher.h5", toPath: alone + "/copied.h5")
            let copied = try WorldTeacher.load(alone + "/copied.h5")
            #expect(try copied.sample(prompts: ["a red circle", "a shape"], kappa: 3, steps: 3, generator: RandomGenerator(seed: 1)).scalars == a.scalars)
            #expect(weights(copied.encoder) == weights(teacher.encoder))

            // The old two-file form (no embedded encoder, the encoder named beside it) still loads,
            // and says what is missing when the encoder file is not there.
            var old = try Checkpoint.load(folder + "/teacher.h5", loadTraining: false)
            old.tensors = try NamedTensors(old.tensors.filter { !$0.name.hasPrefix("_snoopi_text_encoder.") })
            try old.save(folder + "/two-file.h5")
            #expect(try WorldTeacher.load(folder + "/two-file.h5").sample(prompts: ["a red circle", "a shape"], kappa: 3, steps: 3,
                                                                          generator: RandomGenerator(seed: 1)).scalars == a.scalars)
            try FileManager.default.copyItem(atPath: folder + "/two-file.h5", toPath: alone + "/two-file.h5")
            #expect(throws: DiffusionError.self) { _ = try WorldTeacher.load(alone + "/two-file.h5") }
            try FileManager.default.removeItem(atPath: folder + "/two-file.h5")
        }
    }

    @Test("bad input gets errors that name the problem")
    func errors() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let teacher = try tinyTeacher(folder: folder)
        #expect(throws: DiffusionError.self) { _ = try teacher.sample(prompts: [], kappa: 3, generator: RandomGenerator(seed: 0)) }
        #expect(throws: DiffusionError.self) { _ = try teacher.sample(prompts: ["a"], kappa: .nan, generator: RandomGenerator(seed: 0)) }
        #expect(throws: DiffusionError.self) { _ = try teacher.sample(prompts: ["a", "b"], kappa: [1, 2, 3], generator: RandomGenerator(seed: 0)) }
        // A world the teacher cannot take.
        #expect(throws: DiffusionError.self) { _ = try TeacherTrainer(teacher: teacher, data: ShapesWorld(side: 16)) }
        // Options out of range.
        var options = tinyOptions()
        options.promptDropout = 2
        #expect(throws: TrainingError.self) { _ = try TeacherTrainer(teacher: teacher, data: ShapesWorld(side: 8), options: options) }
        #expect(throws: TrainingError.self) {
            try runTraining(TeacherTrainer(teacher: teacher, data: ShapesWorld(side: 8), options: tinyOptions()), steps: 2,
                            schedule: TrainingSchedule(logEvery: 2, evalEvery: 3))
        }
        // A checkpoint that is not a teacher (the encoder) and a network of the wrong width.
        #expect(throws: DiffusionError.self) { _ = try WorldTeacher.load(folder + "/encoder.h5") }
        let wide = try UNet2DConditionModel(config: WorldTeacher.tinyConfig(.unet, side: 8, contextWidth: 32))
        #expect(throws: DiffusionError.self) { _ = try WorldTeacher(network: wide, encoder: teacher.encoder) }
    }

    @Test("pixartAlphaInit starts a PixArt as PixArt-α does: ε = 0, zero cross-attention outputs, Xavier bounds; overrides reshape it")
    func pixartInitialisationAndOverrides() throws {
        let encoder = try ShapesCLIP(side: 8, width: 64, seed: 3)
        let teacher = try WorldTeacher.tiny(.pixart, encoder: encoder, seed: 5, pixartAlphaInit: true)
        let pixart = try #require(teacher.network as? PixArtTransformer2DModel)
        // Without the flag: PyTorch's default init (the shipped teachers'), a non-zero ε̂.
        let plain = try WorldTeacher.tiny(.pixart, encoder: encoder, seed: 5)
        let parameters = Dictionary(uniqueKeysWithValues: pixart.namedParameters().map { ($0.name, $0.tensor) })
        // The final projection and every cross-attention output are zero, so ε̂ is exactly 0.
        let x = try Tensor.randn([2, 3, 8, 8], seed: 1)
        let eps = try noGrad { try teacher.epsilon(x, t: [10, 900], context: teacher.context(["a red circle", ""])) }
        #expect(eps.scalars.allSatisfy { $0 == 0 })
        let plainEps = try noGrad { try plain.epsilon(x, t: [10, 900], context: plain.context(["a red circle", ""])) }
        #expect(plainEps.scalars.contains { $0 != 0 })
        for (name, tensor) in parameters where name.contains("attn2.to_out") { #expect(tensor.scalars.allSatisfy { $0 == 0 }, "\(name)") }
        // Self-attention weights are Xavier-uniform: |w| ≤ √(6 / (fan_in + fan_out)), biases zero;
        // PyTorch's default would have bound 1/√fan_in (larger for these square layers).
        let q = try #require(parameters["transformer_blocks.0.attn1.to_q.weight"])
        let bound = (6 / Float(q.shape[0] + q.shape[1])).squareRoot()
        #expect(q.scalars.allSatisfy { abs($0) <= bound })
        #expect(q.scalars.map(abs).max()! > 0.9 * bound)
        #expect(try #require(parameters["transformer_blocks.0.attn1.to_q.bias"]).scalars.allSatisfy { $0 == 0 })
        // N(0, 0.02) for the timestep MLP.
        let t = try #require(parameters["adaln_single.emb.timestep_embedder.linear_1.weight"]).scalars
        let sd = (t.map { $0 * $0 }.reduce(0, +) / Float(t.count)).squareRoot()
        #expect(abs(sd - 0.02) < 0.002)

        // Config overrides: patch 1 gives 64 tokens of 8 × 8 pixels; an unknown key is refused by name.
        let fine = try WorldTeacher.tiny(.pixart, encoder: encoder, seed: 5, overrides: ["patch_size": 1])
        #expect((fine.network as? PixArtTransformer2DModel)?.patchSize == 1)
        #expect(try fine.epsilon(x, t: [10, 900], context: fine.context(["a", "b"])).shape == [2, 3, 8, 8])
        #expect(throws: ModelError.self) { _ = try WorldTeacher.tiny(.pixart, encoder: encoder, overrides: ["patch_sise": 1]) }
    }

    @Test("EMA follows diffusers' warm-up decay min(d, (1+n)/(10+n))")
    func emaDecay() throws {
        let p = try Tensor([0, 0], shape: [2])
        let ema = try ExponentialMovingAverage(parameters: [("p", p)], decay: 0.99)
        try p.assign(Tensor([1, 2], shape: [2]))
        ema.update()                                   // d = 1/10: a = 0.9 · p
        #expect(abs(ema.averages[0].scalars[0] - 0.9) < 1e-6 && abs(ema.averages[0].scalars[1] - 1.8) < 1e-6)
        ema.update()                                   // d = 2/11
        #expect(abs(ema.averages[0].scalars[0] - (0.9 + (1 - 2.0 / 11) * 0.1)) < 1e-6)
        let seen = try ema.withAveragedWeights { p.scalars }
        #expect(seen == ema.averages[0].scalars && p.scalars == [1, 2])
    }

    @Test("history rows pad metrics that come and go with NaN")
    func historyPadding() {
        var history = TrainingHistory()
        append(["loss": 1], at: 1, to: &history)
        append(["loss": 2, "fd": 5], at: 2, to: &history)
        append(["fd": 4], at: 3, to: &history)
        #expect(history.steps == [1, 2, 3])
        #expect(history.metrics["loss"]![0...1] == [1, 2] && history.metrics["loss"]![2].isNaN)
        #expect(history.metrics["fd"]![0].isNaN && history.metrics["fd"]![1...2] == [5, 4])
    }
}
