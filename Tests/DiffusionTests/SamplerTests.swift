import Diffusion
import Engine
import Foundation
import Testing

/// The sampler a fixture case describes, read through `SchedulerConfig` as a pipeline folder's
/// scheduler config would be (its class, schedule and settings; diffusers' defaults for the rest).
func fixtureSampler(_ name: String) throws -> any Sampler {
    let cases = try fixture("samplers")["cases"] as! [String: Any]
    let c = cases[name] as! [String: Any]
    let schedules = try fixture("schedules")["schedules"] as! [String: Any]
    var values = (schedules[c["schedule"] as! String] as! [String: Any])["config"] as! [String: Any]
    values.merge(c["config"] as! [String: Any]) { $1 }
    values["_class_name"] = c["scheduler"] as! String
    values["num_train_timesteps"] = 1000
    return try SchedulerConfig(values, source: name).sampler()
}

let samplerCases = ["ddim_leading", "ddim_trailing", "ddim_linspace_v", "ddim_sample_clip", "dpmpp_2m", "dpmpp_2m_v",
                    "dpmpp_2m_trailing", "dpmpp_2m_leading", "euler", "euler_v_leading", "euler_trailing", "euler_fractional"]

@Suite("Samplers against diffusers")
struct SamplerTests {
    @Test("Every fixture case is tested")
    func allCasesListed() throws {
        let cases = try fixture("samplers")["cases"] as! [String: Any]
        #expect(Set(cases.keys) == Set(samplerCases))
    }

    @Test("Timesteps equal diffusers' exactly", arguments: samplerCases)
    func timestepsMatch(name: String) throws {
        let c = (try fixture("samplers")["cases"] as! [String: Any])[name] as! [String: Any]
        let sampler = try fixtureSampler(name)
        for (steps, expected) in c["timesteps"] as! [String: Any] {
            #expect(try sampler.timesteps(steps: Int(steps)!) == floats(expected), "\(name), \(steps) steps")
        }
    }

    @Test("Trajectories follow diffusers step by step", arguments: samplerCases)
    func trajectoryMatches(name: String) throws {
        let doc = try fixture("samplers")
        let c = (doc["cases"] as! [String: Any])[name] as! [String: Any]
        let expected = try (c["trajectory"] as! [Any]).map(tensor)
        let sampler = try fixtureSampler(name)
        var samples: [Tensor] = []
        let final = try sampler.sample({ x, t in analyticModel(x, t) }, noise: tensor(doc["initial_noise"]),
                                       steps: c["steps"] as! Int, generator: nil) { step, x in
            #expect(step == samples.count)
            samples.append(x)
        }
        #expect(samples.count == expected.count)
        for (i, (mine, theirs)) in zip(samples, expected).enumerated() {
            let error = relativeError(mine, theirs)
            #expect(error <= 1e-5, "\(name) step \(i): relative error \(error)")
        }
        #expect(final === samples.last)
    }

    @Test("A DDIM step with η > 0 and given noise matches diffusers")
    func ddimStochasticStep() throws {
        let c = try fixture("samplers")["ddim_eta_step"] as! [String: Any]
        let base = try fixtureSampler(c["case"] as! String) as! DDIM
        let ddim = try DDIM(schedule: base.schedule, spacing: base.spacing, stepsOffset: base.stepsOffset,
                            eta: Float(c["eta"] as! Double), setAlphaToOne: base.setAlphaToOne)
        let step = try ddim.step(modelOutput: tensor(c["model_output"]), timestep: c["timestep"] as! Int,
                                 sample: tensor(c["sample"]), steps: c["steps"] as! Int, noise: tensor(c["variance_noise"]))
        #expect(relativeError(step.previousSample, try tensor(c["prev_sample"])) <= 1e-5)
        #expect(relativeError(step.predictedX0, try tensor(c["pred_original_sample"])) <= 1e-5)
    }

    @Test("DDIM with η > 0 draws its noise from the generator: reproducible per seed")
    func ddimStochasticSampling() throws {
        let ddim = try DDIM(schedule: .stableDiffusion, eta: 1)
        let noise = randn([1, 2, 4, 4], seed: 8)
        func run(_ seed: UInt64) throws -> [Float] {
            try ddim.sample(analyticModel, noise: noise, steps: 5, generator: RandomGenerator(seed: seed)).scalars
        }
        #expect(try run(1) == run(1))
        #expect(try run(1) != run(2))
        let deterministic = try DDIM(schedule: .stableDiffusion)
        #expect(try deterministic.sample(analyticModel, noise: noise, steps: 5).scalars.allSatisfy { $0.isFinite })
    }

    @Test("Step counts outside 1...T, timesteps past T and bad settings are errors")
    func badInput() throws {
        let samplers: [any Sampler] = [try DDIM(schedule: .stableDiffusion), try DPMSolverMultistep(schedule: .stableDiffusion),
                                       try EulerDiscrete(schedule: .stableDiffusion)]
        for sampler in samplers {
            expectError(.invalidStepCount(0, trainSteps: 1000)) { _ = try sampler.timesteps(steps: 0) }
            expectError(.invalidStepCount(1001, trainSteps: 1000)) { _ = try sampler.timesteps(steps: 1001) }
            expectError(.invalidStepCount(-3, trainSteps: 1000)) {
                _ = try sampler.sample(analyticModel, noise: Tensor.zeros([1, 1, 2, 2]), steps: -3)
            }
            expectError(.shapeMismatch(what: "denoiser", shapes: [[1, 1], [1, 1, 2, 2]], reason: "the output's shape differs from the sample's")) {
                _ = try sampler.sample({ _, _ in Tensor.zeros([1, 1]) }, noise: Tensor.zeros([1, 1, 2, 2]), steps: 2)
            }
            #expect(try sampler.timesteps(steps: 1000).count == 1000)
        }
        let leading = try DDIM(schedule: .stableDiffusion, stepsOffset: 1)
        expectError(.timestepOutOfRange(1000, trainSteps: 1000)) { _ = try leading.timesteps(steps: 1000) }
        expectError(.invalidArgument(name: "eta", reason: "must be finite and ≥ 0, got -0.5")) {
            _ = try DDIM(schedule: .stableDiffusion, eta: -0.5)
        }
        expectError(.invalidArgument(name: "stepsOffset", reason: "must be ≥ 0, got -1")) {
            _ = try EulerDiscrete(schedule: .stableDiffusion, stepsOffset: -1)
        }
        expectError(.unknownName(kind: "timestep spacing", name: "uniform", expected: ["linspace", "leading", "trailing"])) {
            _ = try TimestepSpacing(name: "uniform")
        }
        let ddim = try DDIM(schedule: .stableDiffusion)
        expectError(.timestepOutOfRange(1000, trainSteps: 1000)) {
            _ = try ddim.step(modelOutput: Tensor.zeros([1, 2]), timestep: 1000, sample: Tensor.zeros([1, 2]), steps: 10)
        }
    }
}

@Suite("Pipeline scheduler configs against diffusers")
struct SchedulerConfigTests {
    /// SD 1.5 (PNDM), SD 2.1 (DDIM, v), PixArt-α (DPM-Solver++) and SD-Turbo (Euler, trailing)
    /// scheduler_config.json, each into its own sampler or, through from_config, another.
    @Test func hubConfigsGiveDiffusersTimestepsAndTrajectories() throws {
        let doc = try fixture("pipeline_schedulers")
        let configs = doc["configs"] as! [String: Any], cases = doc["cases"] as! [[String: Any]]
        #expect(cases.count == 7)
        for c in cases {
            let name = c["config"] as! String
            let config = try SchedulerConfig(configs[name] as! [String: Any], source: name)
            let kind = (c["kind"] as? String).map { WorldTeacher.SamplerKind(rawValue: $0)! }
            let sampler = try config.sampler(kind)
            #expect(sampler.predictionType.rawValue == c["prediction_type"] as! String)
            for (steps, expected) in c["timesteps"] as! [String: Any] {
                #expect(try sampler.timesteps(steps: Int(steps)!) == floats(expected), "\(name) → \(c["scheduler"]!), \(steps) steps")
            }
            let expected = try (c["trajectory"] as! [Any]).map(tensor)
            var samples: [Tensor] = []
            _ = try sampler.sample({ x, t in analyticModel(x, t) }, noise: tensor(doc["initial_noise"]), steps: 4, generator: nil) { _, x in
                samples.append(x)
            }
            for (i, (mine, theirs)) in zip(samples, expected).enumerated() {
                #expect(relativeError(mine, theirs) <= 1e-5, "\(name) → \(c["scheduler"]!) step \(i)")
            }
        }
    }

    @Test func unsupportedSettingsAreRefusedByName() throws {
        func message(_ values: [String: Any]) -> String {
            do { _ = try SchedulerConfig(values, source: "x.json").sampler(); return "no error" } catch { return "\(error)" }
        }
        #expect(message(["_class_name": "PNDMScheduler"]).contains("PNDMScheduler has no sampler in Snoopi; choose one of ddim, dpmsolver, euler"))
        #expect(message(["_class_name": "EulerDiscreteScheduler", "use_karras_sigmas": true]).contains("x.json: use_karras_sigmas"))
        #expect(message(["_class_name": "DPMSolverMultistepScheduler", "solver_order": 3]).contains("solver order other than 2"))
        #expect(message(["_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "sde-dpmsolver++"]).contains("algorithm_type"))
        #expect(message(["_class_name": "DDIMScheduler", "rescale_betas_zero_snr": true]).contains("zero-terminal-SNR"))
        #expect(message(["_class_name": "DDIMScheduler", "prediction_type": "flow"]).contains("prediction type"))
        #expect(message(["_class_name": "DDIMScheduler", "beta_schedule": "cubic"]).contains("beta schedule"))
        #expect(message(["_class_name": "DDIMScheduler", "num_train_timesteps": "many"]).contains("num_train_timesteps"))
        #expect(message(["_class_name": "DDIMScheduler"]) == "no error")
        // A file that is not a JSON object names the file.
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("sched-\(UUID().uuidString).json").path
        try "[1, 2]".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: DiffusionError.self) { _ = try SchedulerConfig(contentsOf: bad) }
    }
}
