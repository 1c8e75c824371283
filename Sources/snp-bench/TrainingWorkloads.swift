import Diffusion
import Distill
import Engine
import Foundation
import Models

// The shapes world's training and sampling workloads, on the shipped tiny teachers
// (`WorldTeacher.tinyConfig`: 16×16 RGB, contexts [B, 16, 64] from the ShapesCLIP text tower).
// Scripts/bench_torch.py builds the same networks from the same diffusers configs (TEACHER_UNET,
// TEACHER_PIXART) and runs the same steps; its docstring lists what each row does.
//
//   teacher_unet_train_b32      one step of the teacher objective (eq. 3): t ~ U{0…999}, ε, x_t,
//   teacher_pixart_train_b32    forward, MSE on ε, backward, grad clipping at 1, AdamW (lr 1e-3,
//                               decay 1e-2), batch 32. Images: a fixed batch of the world's; the
//                               context: a fixed random [32, 16, 64] tensor (the text tower is
//                               frozen, its states are cached per caption in training). Not timed:
//                               TeacherTrainer's EMA update, lr schedule and image rendering.
//   teacher_unet_sample_dpm20_cfg_b16
//                               WorldTeacher.sample: DPM-Solver++(2M), 20 steps, CFG κ = 3 (one
//                               network call of 2 × 16 per step), no gradient, 16 prompts.
//   vsd_step_unet_b8            DistillTrainer.trainStep() itself (PG-SB options set explicitly, batch 8, LoRA
//                               rank 8 on to_q/k/v/out.0, no evaluation): student forward + backward,
//                               frozen teacher CFG (2B), LoRA teacher CFG (2B), LoRA denoising
//                               forward (B) + backward, clipping, two AdamW steps.

/// Exits with a message unless every value is finite (each workload's sanity check).
func requireFinite(_ name: String, _ values: [Float]) {
    if let bad = values.first(where: { !$0.isFinite }) {
        FileHandle.standardError.write("snp-bench: \(name) produced a non-finite value (\(bad))\n".data(using: .utf8)!)
        exit(1)
    }
}

func trainingWorkloads(seconds: Double, generator g: RandomGenerator, run: (String, () throws -> Row) throws -> Void) throws {
    let side = 16
    // Built lazily: only the rows that run pay for them.
    var world: ShapesWorld?
    var encoder: ShapesCLIP?
    func shapes() throws -> (ShapesWorld, ShapesCLIP) {
        if world == nil { world = try ShapesWorld(side: side); encoder = try ShapesCLIP(side: side, width: 64, seed: 0) }
        return (world!, encoder!)
    }

    func teacherTrainStep(_ kind: WorldTeacher.Kind) throws -> Row {
        let name = "teacher_\(kind.rawValue)_train_b32"
        let (world, encoder) = try shapes()
        let teacher = try WorldTeacher.tiny(kind, encoder: encoder, seed: 0)
        let network = teacher.network
        network.train()
        defer { network.eval() }
        let parameters = network.namedParameters().map(\.tensor)
        let optimizer = try AdamW(parameters: parameters, learningRate: 1e-3, weightDecay: 1e-2)
        let images = try world.batch(32, split: .train).images
        let context = try Tensor.randn([32, 16, encoder.width], generator: g)
        let random = RandomGenerator(seed: 1)
        var loss: Float = 0
        let ms = try measure(seconds: seconds) {
            optimizer.zeroGrad()
            let t = (0..<32).map { _ in random.integer(below: teacher.schedule.trainSteps) }
            let noise = try Tensor.randn(images.shape, generator: random)
            let xt = try teacher.schedule.addNoise(x0: images, noise: noise, t: t)
            let l = try Tensor.mse(teacher.epsilon(xt, t: t, context: context), noise)
            try l.backward()
            try clipGradNorm(parameters, maxNorm: 1)
            try optimizer.step()
            loss = try l.item()
        }
        requireFinite(name, [loss] + parameters.flatMap(\.scalars))
        return Row(name: name, medianMs: ms)
    }
    try run("teacher_unet_train_b32") { try teacherTrainStep(.unet) }
    try run("teacher_pixart_train_b32") { try teacherTrainStep(.pixart) }

    try run("teacher_unet_sample_dpm20_cfg_b16") {
        let (world, encoder) = try shapes()
        let teacher = try WorldTeacher.tiny(.unet, encoder: encoder, seed: 0)
        let prompts = (0..<16).map { world.draw($0, split: .train).caption }
        let random = RandomGenerator(seed: 2)
        var images = Tensor.zeros([1])
        let ms = try measure(seconds: seconds) {
            images = try teacher.sample(prompts: prompts, kappa: [3], steps: 20, sampler: .dpmsolver, generator: random)
        }
        requireFinite("teacher_unet_sample_dpm20_cfg_b16", images.scalars)
        return Row(name: "teacher_unet_sample_dpm20_cfg_b16", medianMs: ms)
    }

    try run("vsd_step_unet_b8") {
        let (world, encoder) = try shapes()
        let teacher = try WorldTeacher.tiny(.unet, encoder: encoder, seed: 0)
        // Spelled out, not left to the defaults: Scripts/bench_torch.py hard-codes the same.
        var options = try DistillOptions()
        options.batchSize = 8
        options.guidance = try .pgsb()  // κ ~ U(0.5, 4) per sample, shared by both teachers
        options.learningRate = 1e-4
        options.loraLearningRate = 1e-3
        options.loraRank = 8
        options.loraAlpha = 16
        options.loraTargets = ["**.to_q", "**.to_k", "**.to_v", "**.to_out.0"]
        options.tRange = (0.02, 0.98)
        options.weighting = .sigmaSquared
        options.clipNorm = 1
        options.loraStepsPerStudentStep = 1
        options.promptDropout = 0.1
        options.clipLoss = nil
        let trainer = try DistillTrainer(teacher: teacher, data: world, options: options)
        // Checked against Scripts/bench_torch.py's LoRA injection (same counts there).
        print("  vsd: student \(trainer.student.network.namedParameters().map(\.tensor.count).reduce(0, +)) parameters, "
              + "\(trainer.teachers.loraAdapters.count) LoRA adapters with \(trainer.teachers.loraParameters.map(\.count).reduce(0, +)) parameters")
        var metrics: [String: Double] = [:]
        // trainStep() itself throws on a non-finite loss, gradient norm or LoRA loss.
        let ms = try measure(seconds: seconds) { metrics = try trainer.trainStep() }
        requireFinite("vsd_step_unet_b8", metrics.values.map(Float.init) + trainer.student.network.namedParameters().flatMap(\.tensor.scalars))
        return Row(name: "vsd_step_unet_b8", medianMs: ms)
    }
}
