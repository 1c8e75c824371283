import Diffusion
import Engine
import Testing

@Suite("Noise schedules, the forward process and prediction conversions")
struct NoiseScheduleTests {
    @Test("ᾱ matches diffusers for every schedule", arguments: ["linear", "scaled_linear", "squaredcos_cap_v2"])
    func alphaBarsMatchDiffusers(name: String) throws {
        let reference = floats(((try fixture("schedules")["schedules"] as! [String: Any])[name] as! [String: Any])["alphas_cumprod"])
        let schedule = try fixtureSchedule(name)
        #expect(schedule.trainSteps == 1000 && schedule.alphaBars.count == reference.count)
        let worst = zip(schedule.alphaBars, reference).map { Swift.abs($0 - $1) / $1 }.max()!
        #expect(worst <= 1e-6, "largest relative error \(worst)")
    }

    @Test("Stable Diffusion's schedule ends at ᾱ_999 ≈ 0.00466; α, σ follow eq. 1")
    func stableDiffusionEndpoints() throws {
        let schedule = NoiseSchedule.stableDiffusion
        #expect(Swift.abs(try schedule.alphaBar(999) - 0.00466) < 1e-5)
        #expect(schedule.betas.first! == Float(0.00085.squareRoot()) * Float(0.00085.squareRoot()))
        for t in [0, 1, 500, 999] {
            let (alphaT, sigmaT) = (try schedule.alpha(t), try schedule.sigma(t))
            #expect(Swift.abs(alphaT * alphaT + sigmaT * sigmaT - 1) < 1e-6)
        }
        #expect(try schedule.alpha([0, 999]).shape == [2])
        #expect(try schedule.sigma([0, 999], rank: 4).shape == [2, 1, 1, 1])
        #expect(try schedule.alphaBar([5], rank: 3).scalars == [try schedule.alphaBar(5)])
    }

    @Test("addNoise and v match diffusers' add_noise and get_velocity")
    func forwardMatchesDiffusers() throws {
        let forward = try fixture("schedules")["forward"] as! [String: Any]
        let schedule = try fixtureSchedule(forward["schedule"] as! String)
        let t = forward["timesteps"] as! [Int]
        let (x0, noise) = (try tensor(forward["x0"]), try tensor(forward["noise"]))
        #expect(relativeError(try schedule.addNoise(x0: x0, noise: noise, t: t), try tensor(forward["add_noise"])) < 1e-6)
        #expect(relativeError(try schedule.v(x0: x0, epsilon: noise, t: t), try tensor(forward["velocity"])) < 1e-6)
    }

    @Test("ε → x0 → ε, v → x0 and v → ε round trips")
    func conversionsRoundTrip() throws {
        let schedule = NoiseSchedule.stableDiffusion
        let t = [10, 500, 999]
        let x0 = randn([3, 2, 4, 4], seed: 1), epsilon = randn([3, 2, 4, 4], seed: 2)
        let xt = try schedule.addNoise(x0: x0, noise: epsilon, t: t)
        let predicted = try schedule.x0(fromEpsilon: epsilon, xt: xt, t: t)
        #expect(relativeError(predicted, x0) < 1e-4)
        #expect(relativeError(try schedule.epsilon(fromX0: predicted, xt: xt, t: t), epsilon) < 1e-4)
        let v = try schedule.v(x0: x0, epsilon: epsilon, t: t)
        #expect(relativeError(try schedule.x0(fromV: v, xt: xt, t: t), x0) < 1e-5)
        #expect(relativeError(try schedule.epsilon(fromV: v, xt: xt, t: t), epsilon) < 1e-5)
        for type in PredictionType.allCases {
            let output = type == .epsilon ? epsilon : (type == .sample ? x0 : v)
            #expect(relativeError(try schedule.x0(from: output, type: type, xt: xt, t: t), x0) < 1e-4)
            #expect(relativeError(try schedule.epsilon(from: output, type: type, xt: xt, t: t), epsilon) < 1e-4)
        }
        // One timestep for the whole batch broadcasts.
        let shared = try schedule.addNoise(x0: x0, noise: epsilon, t: [500])
        #expect(relativeError(try schedule.x0(fromEpsilon: epsilon, xt: shared, t: [500]), x0) < 1e-5)
    }

    @Test("x0(ε) is differentiable through the engine: autodiff matches finite differences")
    func x0IsDifferentiable() throws {
        let schedule = NoiseSchedule.stableDiffusion
        let t = [100, 900]
        let epsilon = randn([2, 1, 2, 2], seed: 3).requiringGrad()
        let xt = randn([2, 1, 2, 2], seed: 4).requiringGrad()
        let weights = randn([2, 1, 2, 2], seed: 5)
        func loss(_ epsilon: Tensor, _ xt: Tensor) throws -> Tensor {
            try (schedule.x0(fromEpsilon: epsilon, xt: xt, t: t) * weights).sum()
        }
        try loss(epsilon, xt).backward()
        let (gradEpsilon, gradXt) = (epsilon.grad!.scalars, xt.grad!.scalars)
        let h: Float = 1e-2
        for i in 0..<epsilon.count {
            func shifted(_ base: Tensor, by delta: Float) -> Tensor {
                let copy = base.copy()
                copy.withMutableBuffer { $0[i] += delta }
                return copy
            }
            let numericEpsilon = (try loss(shifted(epsilon, by: h), xt).item() - loss(shifted(epsilon, by: -h), xt).item()) / (2 * h)
            let numericXt = (try loss(epsilon, shifted(xt, by: h)).item() - loss(epsilon, shifted(xt, by: -h)).item()) / (2 * h)
            #expect(Swift.abs(numericEpsilon - gradEpsilon[i]) <= 1e-2 * Swift.max(1, Swift.abs(gradEpsilon[i])))
            #expect(Swift.abs(numericXt - gradXt[i]) <= 1e-2 * Swift.max(1, Swift.abs(gradXt[i])))
            // ∂x0/∂ε = −σ_t/α_t, ∂x0/∂x_t = 1/α_t.
            let sample = i / 4
            let (alphaT, sigmaT) = (try schedule.alpha(t[sample]), try schedule.sigma(t[sample]))
            #expect(Swift.abs(gradEpsilon[i] - (-sigmaT / alphaT) * weights.scalars[i]) <= 1e-4 * Swift.abs(sigmaT / alphaT))
        }
    }

    @Test("Bad input is a readable error")
    func badInput() throws {
        expectError(.unknownName(kind: "beta schedule", name: "cosine", expected: ["linear", "scaled_linear", "squaredcos_cap_v2"])) {
            _ = try NoiseSchedule(name: "cosine")
        }
        expectError(.invalidTrainSteps(0)) { _ = try NoiseSchedule(trainSteps: 0) }
        expectError(.invalidBetas(start: 0, end: 0.02)) { _ = try NoiseSchedule(betaStart: 0) }
        expectError(.invalidBetas(start: 0.02, end: 0.01)) { _ = try NoiseSchedule(betaStart: 0.02, betaEnd: 0.01) }
        expectError(.invalidBetas(start: 0.0001, end: 1)) { _ = try NoiseSchedule(.scaledLinear, betaEnd: 1) }
        let schedule = NoiseSchedule.stableDiffusion
        expectError(.timestepOutOfRange(1000, trainSteps: 1000)) { _ = try schedule.alphaBar(1000) }
        expectError(.timestepOutOfRange(-1, trainSteps: 1000)) { _ = try schedule.sigma([3, -1]) }
        expectError(.shapeMismatch(what: "addNoise", shapes: [[2], [3, 1]], reason: "need one timestep per sample or one for all, got 2")) {
            _ = try schedule.addNoise(x0: Tensor.zeros([3, 1]), noise: Tensor.zeros([3, 1]), t: [1, 2])
        }
        expectError(.unknownName(kind: "prediction type", name: "x0", expected: ["epsilon", "sample", "v_prediction"])) {
            _ = try PredictionType(name: "x0")
        }
        #expect(try PredictionType(name: "v_prediction") == .vPrediction)
        #expect(try NoiseSchedule(name: "squaredcos_cap_v2", trainSteps: 1).alphaBars.count == 1)
        #expect("\(DiffusionError.timestepOutOfRange(1000, trainSteps: 1000))" == "timestep 1000 is out of range 0..<1000")
        #expect("\(DiffusionError.invalidStepCount(0, trainSteps: 1000))".contains("1...1000"))
    }
}
