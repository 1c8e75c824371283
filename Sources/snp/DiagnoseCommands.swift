import Diffusion
import Distill
import Engine
import Foundation

/// `snp diagnose`: where a one-step student's static comes from, measured (Docs/results.md).
///
/// 1. The teacher's denoising error by t on held-out real images: RMS of ε̂ − ε, and of the x0 it
///    implies (x̂0 − x0 = −(σ_t/α_t)(ε̂ − ε)), with σ_t/α_t beside it.
/// 2. The untrained student (the teacher read once at t_s from pure noise) for each t_s: FD, mean
///    |Laplacian| (HF, beside the real images'), prompt accuracy.
/// 3. The VSD gradient's signal-to-noise ratio on the student's parameters by batch size, t range
///    and weighting: K independent estimates g_k of the gradient (fresh z, t, ε and captions each),
///    SNR = ‖E g‖ / √E‖g_k − E g‖² for one estimate, ‖E g‖ corrected for the noise in the mean.
func diagnoseCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["teacher", "count", "timesteps", "draws", "seed"])
    let teacherPath = args.value("teacher") ?? "Notebooks/checkpoints/shapes-teacher-unet-16.h5"
    let count = try args.integer("count", 256, minimum: 8), draws = try args.integer("draws", 6, minimum: 2)
    let seed = UInt64(try args.integer("seed", 0))
    let timesteps = try args.integers("timesteps", in: 1...999) ?? [999, 900, 750, 625, 500, 399, 250]
    try args.finish(positionalCount: 0...0)
    let teacher = try WorldTeacher.load(teacherPath)
    let world = try ShapesWorld(side: teacher.side)
    let evaluator = try SampleEvaluator(teacher: teacher, data: world, count: count)
    let schedule = teacher.schedule

    print("## 1. The teacher's denoising error by t (\(count) held-out real images, conditioned on their captions)\n")
    print("| t | σ_t/α_t | RMS(ε̂ − ε) | RMS(x̂0 − x0) | x̂0 HF |")
    print("|---:|---:|---:|---:|---:|")
    let real = try world.batch(count, split: .train, start: SampleEvaluator.realStart)
    let context = try teacher.context(real.captions)
    for t in timesteps {
        let noise = try Tensor.randn(real.images.shape, generator: RandomGenerator(seed: seed &+ UInt64(t)))
        let ts = Array(repeating: t, count: count)
        let xt = try schedule.addNoise(x0: real.images, noise: noise, t: ts)
        let eps = try noGrad { try teacher.epsilon(xt, t: ts, context: context) }
        let x0 = try schedule.x0(fromEpsilon: eps, xt: xt, t: ts)
        let a = schedule.alphaBars[t]
        print(String(format: "| %d | %.2f | %.4f | %.4f | %.3f |", t, ((1 - a) / a).squareRoot(), try rms(eps - noise), try rms(x0 - real.images),
                     try meanAbsoluteLaplacian(x0.clamp(min: -1, max: 1))))
    }

    print("\n## 2. The untrained student by its conditioning timestep t_s (the teacher read once from pure noise)\n")
    print("real images: HF \(String(format: "%.3f", evaluator.realHighFrequency))\n")
    print("| t_s | σ/α | FD ↓ | HF | CLIP score | prompt acc ↑ | shape |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for t in timesteps {
        let student = try OneStepStudent(copying: teacher, timestep: t)
        let m = try evaluator.evaluate(student.generate(prompts: evaluator.captions, generator: RandomGenerator(seed: 4321)))
        print(String(format: "| %d | %.2f | %.2f | %.3f | %.2f | %@ | %@ |", t, student.amplification, m["fd"]!, m["hf"]!, m["clip_score"]!,
                     percent(m["prompt_acc"]), percent(m["acc_shape"])))
    }

    print("\n## 3. VSD gradient signal-to-noise on the untrained SwiftBrush student (\(draws) estimates each, PG-SB κ)\n")
    // The LoRA teacher as a run has it after 40 steps of learning the (frozen) student's samples:
    // fresh adapters equal the frozen teacher, and PG-SB's shared κ would make g = 0.
    var options = try DistillOptions()
    options.learningRate = 1e-12
    options.seed = seed
    let warm = try DistillTrainer(teacher: teacher, data: world, options: options)
    try runTraining(warm, steps: 40, schedule: TrainingSchedule(logEvery: 40), progress: ProgressReporter(label: "LoRA teacher", total: 40))
    let student = warm.student, lora = warm.teachers
    let parameters = student.network.namedParameters().map(\.tensor)
    print("A single estimate's SNR: the mean gradient's norm (bias-corrected for the estimates' noise) over one estimate's RMS deviation.\n")
    print("| batch | t range | weighting | ‖E g‖ | SNR of one estimate |")
    print("|---:|---|---|---:|---:|")
    for (batch, range, weighting) in [(8, (Float(0.02), Float(0.98)), VSDWeighting.sigmaSquared), (32, (0.02, 0.98), .sigmaSquared),
                                      (128, (0.02, 0.98), .sigmaSquared), (32, (0.02, 0.5), .sigmaSquared),
                                      (32, (0.5, 0.98), .sigmaSquared), (32, (0.02, 0.98), .dmd)] {
        let vsd = try VSD(teacher: lora, schedule: schedule, guidance: .pgsb(), tRange: range, weighting: weighting)
        var estimates: [[Float]] = []
        for k in 0..<draws {
            let generator = RandomGenerator(seed: seed &+ 1000 &+ UInt64(k))
            let captions = (0..<batch).map { world.draw(k * batch + $0, split: .train).caption }
            for p in parameters { p.grad = nil }
            let z = try Tensor.randn([batch, 3, teacher.side, teacher.side], generator: generator)
            let c = try teacher.context(captions), u = try teacher.context(Array(repeating: "", count: batch))
            let terms = try vsd.loss(x0: student.x0(noise: z, context: c), context: c, unconditional: u, generator: generator)
            try terms.loss.backward()
            estimates.append(parameters.flatMap { $0.grad?.scalars ?? [Float](repeating: 0, count: $0.count) })
        }
        let n = estimates[0].count
        var mean = [Double](repeating: 0, count: n)
        for e in estimates { for i in 0..<n { mean[i] += Double(e[i]) / Double(draws) } }
        var spread = 0.0
        for e in estimates { for i in 0..<n { spread += (Double(e[i]) - mean[i]) * (Double(e[i]) - mean[i]) } }
        let variance = spread / Double(draws - 1)   // E‖g_k − E g‖²
        // E‖mean‖² = ‖E g‖² + variance / K: remove the noise's share.
        let signal = Swift.max(0, mean.reduce(0) { $0 + $1 * $1 } - variance / Double(draws)).squareRoot()
        print(String(format: "| %d | [%.2f, %.2f]·T | %@ | %.3g | %.3f |", batch, range.0, range.1, weighting.rawValue, signal, signal / variance.squareRoot()))
    }
    return ExitCode.ok
}

private func rms(_ x: Tensor) throws -> Double { Double(try x.square().mean().sqrt().item()) }
