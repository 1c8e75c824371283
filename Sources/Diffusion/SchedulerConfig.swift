import Engine
import Foundation

/// A diffusers scheduler's config (`scheduler/scheduler_config.json` of a pipeline folder) read
/// into a noise schedule and one of Snoopi's samplers, each of which follows its diffusers
/// scheduler step for step.
///
///     let config = try SchedulerConfig(contentsOf: "sd-turbo/scheduler/scheduler_config.json")
///     let sampler = try config.sampler()          // EulerDiscrete, trailing spacing, offset 1
///     let ddim = try config.sampler(.ddim)        // the same schedule and prediction type, DDIM
///
/// Settings Snoopi's samplers do not implement (Karras σ, thresholding, zero-terminal-SNR
/// rescaling, third-order DPM-Solver…) are refused with their name rather than ignored; a
/// scheduler class without a sampler here (PNDM, SD 1.5's default) can still give its schedule
/// and prediction type to another sampler (`sampler(.dpmsolver)`).
public struct SchedulerConfig {
    /// diffusers' `_class_name` ("DDIMScheduler", "DPMSolverMultistepScheduler", …).
    public let className: String
    public let schedule: NoiseSchedule
    public let predictionType: PredictionType
    /// `timestep_spacing` as the config gives it; nil: absent, so each sampler's diffusers default
    /// (DDIM "leading", the others "linspace"), as `from_config` would do.
    public let spacing: TimestepSpacing?
    public let stepsOffset: Int
    /// DDIM's `set_alpha_to_one`, and `clip_sample` (nil: absent, DDIM's default on) with `clip_sample_range`.
    public let setAlphaToOne: Bool
    public let clipSample: Bool?
    public let clipSampleRange: Float
    /// The keys as read (for settings this type does not model). Python's bare `Infinity`,
    /// `-Infinity` and `NaN` in a config file are read as those strings.
    public let values: [String: Any]

    /// The classes with a sampler of their own.
    public static let samplerClasses: [String: WorldTeacher.SamplerKind] = [
        "DDIMScheduler": .ddim, "DPMSolverMultistepScheduler": .dpmsolver, "EulerDiscreteScheduler": .euler,
    ]

    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DiffusionError.invalidArgument(name: path, reason: "cannot read the scheduler config: \(error.localizedDescription)")
        }
        let text = Self.quotingPythonNonFiniteNumbers(String(decoding: data, as: UTF8.self))
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let values = object as? [String: Any] else {
            throw DiffusionError.invalidArgument(name: path, reason: "is not a JSON object (a diffusers scheduler_config.json)")
        }
        try self.init(values, source: path)
    }

    /// `values`: the config's keys; `source` names it in errors.
    public init(_ values: [String: Any], source: String = "scheduler config") throws {
        func string(_ key: String, _ fallback: String) throws -> String {
            guard let v = values[key], !(v is NSNull) else { return fallback }
            guard let s = v as? String else { throw DiffusionError.invalidArgument(name: "\(source): \(key)", reason: "must be a string, got \(v)") }
            return s
        }
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let v = values[key], !(v is NSNull) else { return fallback }
            guard let n = v as? NSNumber, !(String(cString: n.objCType) == "c") else {
                throw DiffusionError.invalidArgument(name: "\(source): \(key)", reason: "must be a number, got \(v)")
            }
            return n.doubleValue
        }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let v = values[key], !(v is NSNull) else { return fallback }
            guard let n = v as? NSNumber else { throw DiffusionError.invalidArgument(name: "\(source): \(key)", reason: "must be true or false, got \(v)") }
            return n.boolValue
        }
        func refuse(_ key: String, unless ok: Bool, _ what: String) throws {
            guard ok else {
                throw DiffusionError.invalidArgument(name: "\(source): \(key)", reason: "\(what) is not implemented by Snoopi's samplers (value \(values[key].map { "\($0)" } ?? "default"))")
            }
        }
        let className = try string("_class_name", "")
        self.className = className
        self.values = values
        let trainSteps = try number("num_train_timesteps", 1000)
        guard trainSteps >= 1, trainSteps == trainSteps.rounded() else {
            throw DiffusionError.invalidArgument(name: "\(source): num_train_timesteps", reason: "must be a whole number ≥ 1, got \(trainSteps)")
        }
        try refuse("trained_betas", unless: values["trained_betas"] == nil || values["trained_betas"] is NSNull, "a list of trained betas")
        try refuse("rescale_betas_zero_snr", unless: !(try flag("rescale_betas_zero_snr", false)), "zero-terminal-SNR rescaling")
        try refuse("thresholding", unless: !(try flag("thresholding", false)), "dynamic thresholding")
        schedule = try NoiseSchedule(name: try string("beta_schedule", "linear"), trainSteps: Int(trainSteps),
                                     betaStart: try number("beta_start", 0.0001), betaEnd: try number("beta_end", 0.02))
        predictionType = try PredictionType(name: try string("prediction_type", "epsilon"))
        let kind = Self.samplerClasses[className]
        spacing = try (values["timestep_spacing"] as? String).map { try TimestepSpacing(name: $0) }
        let offset = try number("steps_offset", 0)
        guard offset >= 0, offset == offset.rounded() else {
            throw DiffusionError.invalidArgument(name: "\(source): steps_offset", reason: "must be a whole number ≥ 0, got \(offset)")
        }
        stepsOffset = Int(offset)
        setAlphaToOne = try flag("set_alpha_to_one", true)
        clipSample = values["clip_sample"] is NSNull || values["clip_sample"] == nil ? nil : try flag("clip_sample", true)
        clipSampleRange = Float(try number("clip_sample_range", 1))
        switch kind {
        case .dpmsolver:
            try refuse("algorithm_type", unless: try string("algorithm_type", "dpmsolver++") == "dpmsolver++", "an algorithm other than dpmsolver++")
            try refuse("solver_order", unless: try number("solver_order", 2) == 2, "a solver order other than 2")
            try refuse("solver_type", unless: try string("solver_type", "midpoint") == "midpoint", "a solver type other than midpoint")
            try refuse("lower_order_final", unless: try flag("lower_order_final", true), "lower_order_final = false")
            try refuse("euler_at_final", unless: !(try flag("euler_at_final", false)), "euler_at_final")
            try refuse("final_sigmas_type", unless: try string("final_sigmas_type", "zero") == "zero", "a final σ other than zero")
            try refuse("variance_type", unless: values["variance_type"] == nil || values["variance_type"] is NSNull, "a learned variance type")
            // −∞ (the default; Python writes -Infinity, read as the string "-Infinity") clips nothing.
            let lambdaMin = values["lambda_min_clipped"]
            try refuse("lambda_min_clipped", unless: lambdaMin == nil || lambdaMin is NSNull || lambdaMin as? String == "-Infinity"
                                                     || (lambdaMin as? NSNumber)?.doubleValue == -.infinity, "clipping λ (a finite lambda_min_clipped)")
        case .euler:
            try refuse("interpolation_type", unless: try string("interpolation_type", "linear") == "linear", "σ interpolation other than linear")
            try refuse("timestep_type", unless: try string("timestep_type", "discrete") == "discrete", "continuous timesteps")
            try refuse("final_sigmas_type", unless: try string("final_sigmas_type", "zero") == "zero", "a final σ other than zero")
        case .ddim, nil:
            break
        }
        if kind != nil {
            for key in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas"] {
                try refuse(key, unless: !(try flag(key, false)), key.replacingOccurrences(of: "_", with: " "))
            }
        }
    }

    /// The config's own sampler, or the sampler `kind` on the config's schedule, prediction type,
    /// spacing and offset. Throws for a class without a sampler here when no `kind` is given.
    public func sampler(_ kind: WorldTeacher.SamplerKind? = nil) throws -> any Sampler {
        guard let kind = kind ?? Self.samplerClasses[className] else {
            throw DiffusionError.invalidArgument(name: "scheduler", reason: "\(className.isEmpty ? "a config without _class_name" : className) has no sampler in Snoopi; choose one of ddim, dpmsolver, euler (it keeps this config's schedule and prediction type)")
        }
        switch kind {
        case .ddim:
            return try DDIM(schedule: schedule, predictionType: predictionType, spacing: spacing ?? .leading, stepsOffset: stepsOffset,
                            setAlphaToOne: setAlphaToOne, clipSampleRange: clipSample ?? true ? clipSampleRange : nil)
        case .dpmsolver:
            return try DPMSolverMultistep(schedule: schedule, predictionType: predictionType, spacing: spacing ?? .linspace, stepsOffset: stepsOffset)
        case .euler:
            return try EulerDiscrete(schedule: schedule, predictionType: predictionType, spacing: spacing ?? .linspace, stepsOffset: stepsOffset)
        }
    }
}
