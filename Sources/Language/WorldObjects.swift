import Checkpoints
import Diffusion
import Distill
import Engine
import Foundation
import Models

// The shapes world's pipelines as `.snp` values: teachers, one-step students, LoRA teachers,
// noise schedules, the world itself, its contrastive encoder and its attribute classifier.
// The builtins that make and use them are in Builtins+Diffusion/Worlds/Distill.swift.

/// A value that carries a network: the model builtins (`nasa`, `params`, `layers`, `summary`,
/// `attention_layers`, `freeze`, …) act on that network.
protocol NetworkCarrier: NativeObject {
    var networkObject: ModelObject { get }
}

/// A teacher, student or LoRA teacher: a denoising network with the world's text encoder and a
/// noise schedule (a `WorldTeacher` around the network).
protocol PipelineCarrier: NetworkCarrier {
    var pipeline: WorldTeacher { get }
    /// Runs `body` with the network set up as this model (a LoRA teacher's adapters on).
    func asThisModel<T>(_ body: () throws -> T) throws -> T
}

extension PipelineCarrier {
    var networkObject: ModelObject { ModelObject.network(pipeline.network) }
    var side: Int { pipeline.side }
    var schedule: NoiseSchedule { pipeline.schedule }
    var encoder: ShapesCLIP { pipeline.encoder }

    /// "UNet2DConditionModel 1.00M params, 16×16, scaled_linear T=1000" (+ NASA / LoRA state).
    var pipelineDescription: String {
        let network = pipeline.network
        var text = "\(network.typeName) \(countText(network.stateDict().reduce(0) { $0 + $1.tensor.count })) params, \(side)×\(side), "
            + ScheduleObject.shortText(schedule)
        let adapters = network.loraAdapters.count
        if adapters > 0, !(self is LoraTeacherObject) { text += ", LoRA on \(adapters) layer\(adapters == 1 ? "" : "s")" }
        let nasa = network.attentionLayers.filter { $0.layer.processor is NASAAttention }.count
        if nasa > 0 { text += ", NASA on \(nasa) layer\(nasa == 1 ? "" : "s")" }
        // The world's own text towers go unsaid (every shipped teacher has one); a real CLIP's is named.
        if encoder.pretrainedText { text += "; text: \(encoder.textDescription)" }
        return text
    }

    /// Members every pipeline has.
    func pipelineMember(_ name: String) -> Value? {
        switch name {
        case "network": return .object(networkObject)
        case "schedule": return .object(ScheduleObject(schedule))
        case "side": return .number(Double(side))
        case "kind": return .string(pipeline.kind.rawValue)
        case "architecture": return .string(pipeline.architecture)
        case "encoder": return .object(EncoderObject(encoder, path: pipeline.encoderPath))
        case "parameter_count": return .number(Double(pipeline.network.parameterCount))
        default: return nil
        }
    }

    static var pipelineMemberNames: [String] { ["network", "schedule", "side", "kind", "architecture", "encoder", "parameter_count"] }
}

extension ModelObject {
    /// A whole denoising network as a model value (`save` writes it as a plain network checkpoint).
    static func network(_ network: any Module & NoisePredictor) -> ModelObject {
        let loaded: LoadedModel?
        if let unet = network as? UNet2DConditionModel {
            loaded = .unet(unet)
        } else if let pixart = network as? PixArtTransformer2DModel {
            loaded = .pixart(pixart)
        } else {
            loaded = nil
        }
        return ModelObject(module: network, loaded: loaded)
    }
}

/// 1.00M, 12.3K, 640.
func countText(_ n: Int) -> String {
    switch n {
    case 1_000_000...: return String(format: "%.2fM", Double(n) / 1e6)
    case 1_000...: return String(format: "%.1fK", Double(n) / 1e3)
    default: return "\(n)"
    }
}

// MARK: - Teacher, student, LoRA teacher

/// A multi-step teacher of the shapes world (`WorldTeacher`): `load` of a teacher checkpoint,
/// `train_teacher`'s `run.teacher`.
final class TeacherObject: PipelineCarrier {
    let teacher: WorldTeacher
    var pipeline: WorldTeacher { teacher }

    init(_ teacher: WorldTeacher) {
        self.teacher = teacher
        if let encoderPath = teacher.encoderPath { WorldResources.noteFolder(of: encoderPath) }
    }

    func asThisModel<T>(_ body: () throws -> T) throws -> T { try body() }

    var typeName: String { "teacher" }
    var summary: String { "teacher: " + pipelineDescription }
    var memberNames: [String] { Self.pipelineMemberNames }
    func member(_ name: String) throws -> Value? { pipelineMember(name) }
}

/// A one-step generator (`OneStepStudent`): x0 = (z − σ_T ε_θ(z, T−1, y)) / α_T.
final class StudentObject: PipelineCarrier {
    let student: OneStepStudent
    var pipeline: WorldTeacher { student.pipeline }

    init(_ student: OneStepStudent) {
        self.student = student
        if let encoderPath = student.pipeline.encoderPath { WorldResources.noteFolder(of: encoderPath) }
    }

    func asThisModel<T>(_ body: () throws -> T) throws -> T { try body() }

    var typeName: String { "student" }
    var summary: String { "student (one-step): " + pipelineDescription }
    var memberNames: [String] { Self.pipelineMemberNames + ["timestep"] }
    func member(_ name: String) throws -> Value? {
        if name == "timestep" { return .number(Double(student.timestep)) }
        return pipelineMember(name)
    }
}

/// The LoRA teacher of VSD: a copy of a teacher's network, base weights frozen, LoRA adapters
/// (trainable) on its attention projections. As a model (`eps`, `sample`) it runs with the
/// adapters on; with them off it is the frozen teacher.
final class LoraTeacherObject: PipelineCarrier {
    /// The teacher it was copied from.
    let base: TeacherObject
    let pipeline: WorldTeacher
    let rank: Int
    let alpha: Float
    let layers: [String]
    let seed: UInt64

    init(base: TeacherObject, network: any Module & NoisePredictor, rank: Int, alpha: Float, layers: [String], seed: UInt64) throws {
        self.base = base
        pipeline = try WorldTeacher(network: network, encoder: base.teacher.encoder, encoderPath: base.teacher.encoderPath,
                                    schedule: base.teacher.schedule)
        self.rank = rank
        self.alpha = alpha
        self.layers = layers
        self.seed = seed
    }

    /// The LoRA teacher `DistillTrainer` builds (a copy of the teacher, base frozen, adapters of
    /// `rank` and `alpha` on `layers`, drawn from `seed`), made by the trainer itself so the two
    /// never differ.
    static func make(_ teacher: TeacherObject, rank: Int, alpha: Float, layers: [String]? = nil, seed: UInt64 = 0) throws -> LoraTeacherObject {
        let targets = try layers ?? DistillOptions().loraTargets
        let network = try DistillTrainer.loraTeacher(teacher.teacher, rank: rank, alpha: alpha, targets: targets, seed: seed)
        return try LoraTeacherObject(base: teacher, network: network, rank: rank, alpha: alpha, layers: targets, seed: seed)
    }

    func asThisModel<T>(_ body: () throws -> T) throws -> T { try pipeline.network.withLoRA(enabled: true, body) }

    /// The adapters' parameters by name.
    var adapterParameters: [(name: String, tensor: Tensor)] {
        let base = Set(pipeline.network.stateDict().map(\.name))
        return pipeline.network.namedParameters().filter { !base.contains($0.name) }
    }

    var typeName: String { "lora_teacher" }
    var summary: String {
        let adapters = pipeline.network.loraAdapters.count
        return "LoRA teacher: " + pipelineDescription
            + ", LoRA rank \(rank) α \(floatText(alpha)) on \(adapters) layer\(adapters == 1 ? "" : "s") (\(countText(adapterParameters.reduce(0) { $0 + $1.tensor.count })) params)"
    }
    var memberNames: [String] { Self.pipelineMemberNames + ["teacher", "rank", "alpha", "layers", "adapters"] }
    func member(_ name: String) throws -> Value? {
        switch name {
        case "teacher": return .object(base)
        case "rank": return .number(Double(rank))
        case "alpha": return .decimal(alpha)
        case "layers": return .list(layers.map { .string($0) })
        case "adapters": return .record(Record(adapterParameters.map { ($0.name, .tensor($0.tensor)) }))
        default: return pipelineMember(name)
        }
    }
}

// MARK: - Schedule

/// A discrete noise schedule (`NoiseSchedule`): x_t = α_t x0 + σ_t ε with α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t).
final class ScheduleObject: NativeObject {
    let schedule: NoiseSchedule

    init(_ schedule: NoiseSchedule) { self.schedule = schedule }

    /// "scaled_linear T=1000".
    static func shortText(_ s: NoiseSchedule) -> String { "\(s.betaSchedule.rawValue) T=\(s.trainSteps)" }

    var typeName: String { "schedule" }
    var summary: String {
        let s = schedule
        let betas = s.betaSchedule == .squaredcosCapV2 ? "cosine β" : "β \(formatNumber(s.betaStart))…\(formatNumber(s.betaEnd))"
        return "schedule: \(s.betaSchedule.rawValue), \(betas), T=\(s.trainSteps), ᾱ_\(s.trainSteps - 1) = \(shortNumber(s.alphaBars[s.trainSteps - 1]))"
    }
    var memberNames: [String] { ["alpha", "sigma", "alpha_bar", "steps", "alphas_cumprod", "betas", "kind", "beta_start", "beta_end"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "steps": return .number(Double(schedule.trainSteps))
        case "alphas_cumprod": return .tensor(Tensor(schedule.alphaBars))
        case "betas": return .tensor(Tensor(schedule.betas))
        case "kind": return .string(schedule.betaSchedule.rawValue)
        case "beta_start": return .number(schedule.betaStart)
        case "beta_end": return .number(schedule.betaEnd)
        case "alpha", "sigma", "alpha_bar":
            let what: String
            switch name {
            case "alpha": what = "α_t = √ᾱ_t, the signal scale of x_t = α_t x0 + σ_t ε"
            case "sigma": what = "σ_t = √(1 − ᾱ_t), the noise scale of x_t = α_t x0 + σ_t ε"
            default: what = "ᾱ_t, the cumulative product of 1 − β"
            }
            return Builtin.method("schedule", name, "t", doc: "\(what): a number for a timestep t, a tensor for a list (or tensor) of timesteps.") { args in
                let (t, single) = try args.timesteps("t", self.schedule)
                let values = try t.map { step -> Float in
                    switch name {
                    case "alpha": return try self.schedule.alpha(step)
                    case "sigma": return try self.schedule.sigma(step)
                    default: return try self.schedule.alphaBar(step)
                    }
                }
                return single ? .from(values[0]) : .tensor(Tensor(values))
            }
        default: return nil
        }
    }
}

// MARK: - World

/// The shapes world (`ShapesWorld`): captioned images whose attributes are known.
final class WorldObject: NativeObject {
    let world: ShapesWorld
    private var promptCache: [ShapesWorld.Split: [String]] = [:]

    /// How many draws `prompts` / `test_prompts` collect distinct captions from.
    static let promptDraws = 1024

    init(_ world: ShapesWorld) { self.world = world }

    /// Distinct captions of the first `promptDraws` samples of a split, in order of first appearance.
    func prompts(_ split: ShapesWorld.Split) -> [String] {
        if let cached = promptCache[split] { return cached }
        var seen = Set<String>(), list: [String] = []
        for i in 0..<Self.promptDraws {
            let caption = world.draw(i, split: split).caption
            if seen.insert(caption).inserted { list.append(caption) }
        }
        promptCache[split] = list
        return list
    }

    var typeName: String { "world" }
    var summary: String {
        "world: shapes \(world.side)×\(world.side), seed \(world.seed) (5 shapes × 8 colours × 2 sizes × 5 positions × 3 backgrounds; \(world.heldOutPairs.count) shape–colour pairs held out)"
    }
    var memberNames: [String] { ["side", "seed", "prompts", "test_prompts", "held_out", "sample", "render", "eval_prompts"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "side": return .number(Double(world.side))
        case "seed": return .number(Double(world.seed))
        case "prompts": return .list(prompts(.train).map { .string($0) })
        case "test_prompts": return .list(prompts(.test).map { .string($0) })
        case "held_out": return .list(world.heldOutPairs.sorted().map { .string($0) })
        case "sample":
            return Builtin.method("world", "sample", "n, seed: 0, split: \"train\"",
                                  doc: "n images of a split: {images: [n, 3, S, S] in [−1, 1], captions, attributes}. Seed k ≥ 1 draws samples k·2²⁰ … of the split, which no training run reaches; seed 0 starts at the first (the images teachers train on).") { args in
                let n = try args.int("n")
                guard (1...65_536).contains(n) else { throw args.mistake("n", "an integer from 1 to 65536") }
                try checkImageCount(args, n, side: self.world.side, parameter: "n")
                guard let seed = try args.optionalSeed("seed"), seed < (1 << 40) else { throw args.mistake("seed", "a non-negative integer below 2⁴⁰") }
                let batch = try self.world.batch(n, split: try split(args, "split"), start: Int(seed) << 20)
                return .record(Record([("images", .tensor(batch.images)), ("captions", .list(batch.captions.map { .string($0) })),
                                       ("attributes", .list(batch.attributes.map { .record(attributeRecord($0)) }))]))
            }
        case "render":
            return Builtin.method("world", "render", "attributes",
                                  doc: "Draws pictures of given attributes: a record {shape, colour, size, position, background} (missing fields: a large red circle at the center on white) or a list of them; [3, S, S] for a record, [n, 3, S, S] for a list.") { args in
                switch args["attributes"] {
                case .record(let r): return .tensor(self.world.render(try attributes(from: r, args)))
                case .list(let items) where !items.isEmpty:
                    let images = try items.map { item -> Tensor in
                        guard case .record(let r) = item else { throw args.mistake("attributes", "a record or a list of records") }
                        return self.world.render(try attributes(from: r, args))
                    }
                    return .tensor(try Tensor.stack(images))
                default: throw args.mistake("attributes", "a record or a non-empty list of records")
                }
            }
        case "eval_prompts":
            return Builtin.method("world", "eval_prompts", "n",
                                  doc: "The captions of the n held-out real images that evaluate() compares n generated images with: generate one image per caption for comparable numbers.") { args in
                let n = try args.int("n")
                guard (1...65_536).contains(n) else { throw args.mistake("n", "an integer from 1 to 65536") }
                return .list(try self.world.batch(n, split: .train, start: SampleEvaluator.realStart).captions.map { .string($0) })
            }
        default: return nil
        }
    }
}

func split(_ args: Arguments, _ p: String) throws -> DataSplit {
    guard let split = DataSplit(rawValue: try args.string(p)) else { throw args.mistake(p, "\"train\" or \"test\"") }
    return split
}

/// {shape, colour, size, position, background} as strings.
func attributeRecord(_ a: ShapeAttributes) -> Record {
    Record(ShapeAttributes.Kind.allCases.map { ($0.rawValue, .string(a.value(of: $0))) })
}

/// Attributes from a record; missing fields take a large red circle at the center on white.
private func attributes(from r: Record, _ args: Arguments) throws -> ShapeAttributes {
    var a = ShapeAttributes(shape: .circle, colour: .red, size: .large, position: .center, background: .white)
    for (key, value) in r.fields {
        guard let kind = ShapeAttributes.Kind(rawValue: key == "color" ? "colour" : key) else {
            throw RuntimeError("\(args.name)(): an attribute record has no field '\(key)' (it has shape, colour, size, position, background)", parameter: "attributes")
        }
        guard case .string(let word) = value else {
            throw RuntimeError("\(args.name)(): \(kind.rawValue) must be a string, got \(value.described)", parameter: "attributes")
        }
        func pick<T: RawRepresentable & CaseIterable>(_: T.Type) throws -> T where T.RawValue == String {
            guard let v = T(rawValue: word) else {
                throw RuntimeError("\(args.name)(): \(kind.rawValue) must be one of \(T.allCases.map { quoted($0.rawValue) }.joined(separator: ", ")), got \(quoted(word))", parameter: "attributes")
            }
            return v
        }
        switch kind {
        case .shape: a.shape = try pick(ShapeAttributes.Shape.self)
        case .colour: a.colour = try pick(ShapeAttributes.Colour.self)
        case .size: a.size = try pick(ShapeAttributes.Size.self)
        case .position: a.position = try pick(ShapeAttributes.Position.self)
        case .background: a.background = try pick(ShapeAttributes.Background.self)
        }
    }
    return a
}

// MARK: - Encoder and classifier

/// The shapes world's contrastive encoder (`ShapesCLIP`): text features condition the teachers;
/// image features measure FD, precision/recall and the CLIP score.
final class EncoderObject: NetworkCarrier {
    let encoder: ShapesCLIP
    let path: String?

    init(_ encoder: ShapesCLIP, path: String?) {
        self.encoder = encoder
        self.path = path
    }

    var networkObject: ModelObject { ModelObject(module: encoder) }
    var typeName: String { "encoder" }
    var summary: String {
        "encoder: ShapesCLIP \(countText(encoder.parameterCount)) params, \(encoder.side)×\(encoder.side), width \(encoder.width)"
            + (encoder.pretrainedText ? "; text: \(encoder.textDescription)" : "")
    }
    var memberNames: [String] { ["network", "side", "width", "path", "encode_text", "encode_image", "features"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "network": return .object(networkObject)
        case "side": return .number(Double(encoder.side))
        case "width": return .number(Double(encoder.width))
        case "path": return path.map { .string($0) } ?? .null
        case "encode_text":
            return Builtin.method("encoder", "encode_text", "prompts", doc: "Unit-length text embeddings [B, width] of a prompt or a list of them.") { args in
                let prompts = try args.prompts("prompts")
                return .tensor(try noGrad { try self.encoder.encodeText(prompts) })
            }
        case "encode_image":
            return Builtin.method("encoder", "encode_image", "images", doc: "Unit-length image embeddings [B, width] of pictures [B, 3, S, S].") { args in
                .tensor(try noGrad { try self.encoder.encodeImage(try args.images("images")) })
            }
        case "features":
            return Builtin.method("encoder", "features", "images", doc: "Image features [B, 128] (the space FD and precision/recall measure in) of pictures [B, 3, S, S].") { args in
                .tensor(try SampleEvaluator.features(in: self.encoder, try args.images("images")))
            }
        default: return nil
        }
    }
}

/// The shapes world's attribute classifier: the judge of the removal rate.
final class ClassifierObject: NetworkCarrier {
    let classifier: AttributeClassifier
    let path: String?

    init(_ classifier: AttributeClassifier, path: String?) {
        self.classifier = classifier
        self.path = path
    }

    var networkObject: ModelObject { ModelObject(module: classifier) }
    var typeName: String { "classifier" }
    var summary: String { "classifier: shapes attributes \(countText(classifier.parameterCount)) params, \(classifier.side)×\(classifier.side)" }
    var memberNames: [String] { ["network", "side", "path", "predict"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "network": return .object(networkObject)
        case "side": return .number(Double(classifier.side))
        case "path": return path.map { .string($0) } ?? .null
        case "predict":
            return Builtin.method("classifier", "predict", "images", doc: "The most likely attributes of each picture, as a list of records {shape, colour, size, position, background}.") { args in
                let predicted = try WorldResources.serialized { try self.classifier.predict(try args.images("images")) }
                return .list(predicted.map { .record(attributeRecord($0)) })
            }
        default: return nil
        }
    }
}

// MARK: - Shipped checkpoints and caches

/// The world's shipped models (`Notebooks/checkpoints/shapes-clip-16.h5`,
/// `shapes-classifier-16.h5`, …), found in the working directory's `Notebooks/checkpoints` or
/// next to any teacher's encoder loaded so far, loaded once per process.
enum WorldResources {
    private static let lock = NSRecursiveLock()
    nonisolated(unsafe) private static var folders: [String] = []
    nonisolated(unsafe) private static var classifiers: [String: AttributeClassifier] = [:]
    nonisolated(unsafe) private static var encoders: [String: ShapesCLIP] = [:]
    nonisolated(unsafe) private static var evaluators: [(encoder: ShapesCLIP, count: Int, features: (any ImageFeatureSpace)?, evaluator: SampleEvaluator)] = []
    nonisolated(unsafe) private static var towers: [String: CLIPImageFeatures] = [:]
    nonisolated(unsafe) private static var towerModules: [(module: Module, features: CLIPImageFeatures)] = []
    nonisolated(unsafe) private static var clipModels: [String: CLIPModel] = [:]
    nonisolated(unsafe) private static var architectures: [String: String] = [:]
    nonisolated(unsafe) private static var scorers: [(module: Module, tokenizer: String, scorer: CLIPScorer)] = []

    /// Runs `body` holding the resources' lock (the cached models are shared by every interpreter).
    static func serialized<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Remembers the folder of a checkpoint, to look for the shipped models there too.
    static func noteFolder(of path: String) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        lock.lock()
        defer { lock.unlock() }
        if !folders.contains(folder) { folders.append(folder) }
    }

    /// Where the files are looked for, in order (each name in each folder).
    static func candidates(_ files: [String]) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return files.flatMap { file in ["Notebooks/checkpoints/\(file)"] + folders.map { ($0 as NSString).appendingPathComponent(file) } }
    }

    /// The first existing shipped checkpoint of `files`; the error names the places looked.
    static func shipped(_ files: [String], for builtin: String, parameter: String) throws -> String {
        let places = candidates(files)
        if let found = places.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw RuntimeError("\(builtin)(): no \(files.joined(separator: " or ")) found (looked in \(places.joined(separator: ", "))); pass \(parameter): with its path", parameter: parameter)
    }

    /// The attribute classifier at `path`, loaded once.
    static func classifier(at path: String) throws -> AttributeClassifier {
        try serialized {
            if let c = classifiers[path] { return c }
            let c = try AttributeClassifier.load(path)
            classifiers[path] = c
            return c
        }
    }

    /// The contrastive encoder at `path`, loaded once.
    static func encoder(at path: String) throws -> ShapesCLIP {
        try serialized {
            if let e = encoders[path] { return e }
            let e = try ShapesCLIP.load(path)
            encoders[path] = e
            return e
        }
    }

    /// The image-feature space of the checkpoint at `path`, loaded once: a ShapesCLIP encoder or a
    /// CLIP image tower (`CLIPImageFeatures`); nil and the checkpoint's architecture for anything else.
    static func featureSpace(at path: String) throws -> (space: (any ImageFeatureSpace)?, architecture: String) {
        try serialized {
            if let e = encoders[path] { return (e, ShapesCLIP.architecture) }
            if let f = towers[path] { return (f, f.featureSpaceName) }
            let checkpoint = try Checkpoint.load(path, loadTraining: false)
            switch checkpoint.architecture {
            case ShapesCLIP.architecture: return (try encoder(at: path), checkpoint.architecture)
            case let a where CLIPImageFeatures.architectures.contains(a):
                let f = try CLIPImageFeatures(LoadedModel.load(checkpoint), source: path)
                towers[path] = f
                return (f, a)
            default: return (nil, checkpoint.architecture)
            }
        }
    }

    /// The image features of a CLIP image tower module (a `CLIPVisionModel` or
    /// `CLIPVisionModelWithProjection`), made once per module (the last few kept); nil for any
    /// other module.
    static func featureSpace(of module: Module) throws -> CLIPImageFeatures? {
        try serialized {
            if let hit = towerModules.first(where: { $0.module === module }) { return hit.features }
            let features: CLIPImageFeatures
            if let m = module as? CLIPVisionModelWithProjection {
                features = try CLIPImageFeatures(m)
            } else if let m = module as? CLIPVisionModel {
                features = try CLIPImageFeatures(m)
            } else if let m = module as? CLIPModel {
                features = try CLIPImageFeatures(m)
            } else {
                return nil
            }
            towerModules.append((module, features))
            if towerModules.count > 4 { towerModules.removeFirst() }
            return features
        }
    }

    /// The CLIPModel of the checkpoint at `path`, loaded once; nil and the checkpoint's
    /// architecture for anything else.
    static func clipModel(at path: String) throws -> (model: CLIPModel?, architecture: String) {
        try serialized {
            if let m = clipModels[path] { return (m, CLIPModel.architecture) }
            if encoders[path] != nil { return (nil, ShapesCLIP.architecture) }
            if let other = architectures[path] { return (nil, other) }
            let checkpoint = try Checkpoint.load(path, loadTraining: false)
            guard checkpoint.architecture == CLIPModel.architecture, case .clip(let m) = try LoadedModel.load(checkpoint) else {
                architectures[path] = checkpoint.architecture
                return (nil, checkpoint.architecture)
            }
            m.eval()
            clipModels[path] = m
            return (m, CLIPModel.architecture)
        }
    }

    /// The CLIP scorer of a CLIPModel and the CLIP tokenizer in `tokenizerFolder` (or given as
    /// `tokenizer`, named by `tokenizerFolder`), made once per pair (the last few kept).
    static func scorer(_ model: CLIPModel, source: String?, tokenizer: CLIPTokenizer?, tokenizerFolder: String) throws -> CLIPScorer {
        try serialized {
            if let hit = scorers.first(where: { $0.module === model && $0.tokenizer == tokenizerFolder }) { return hit.scorer }
            let scorer = try CLIPScorer(model, tokenizer: tokenizer ?? CLIPTokenizer(folder: tokenizerFolder), source: source,
                                        tokenizerSource: tokenizerFolder)
            scorers.append((model, tokenizerFolder, scorer))
            if scorers.count > 4 { scorers.removeFirst() }
            return scorer
        }
    }

    /// A `SampleEvaluator` of `count` held-out real images for `encoder`, measuring FD and
    /// precision/recall in `features` (nil: the encoder's) (the last few kept).
    static func evaluator(_ encoder: ShapesCLIP, count: Int, features: (any ImageFeatureSpace)? = nil, clipScorer: CLIPScorer? = nil) throws -> SampleEvaluator {
        try serialized {
            if let e = evaluators.first(where: { $0.encoder === encoder && $0.count == count && $0.features === features && $0.evaluator.clipScorer === clipScorer }) {
                return e.evaluator
            }
            // The shipped classifier judges prompt accuracy when it is found; without it, prompt_acc is nan.
            let judge = try candidates([AttributeClassifier.shippedFileName(side: encoder.side)]).first(where: { FileManager.default.fileExists(atPath: $0) })
                .map { try classifier(at: $0) }
            let evaluator = try SampleEvaluator(encoder: encoder, data: ShapesWorld(side: encoder.side, seed: 0), count: count, judge: judge,
                                                features: features, clipScorer: clipScorer)
            evaluators.append((encoder, count, features, evaluator))
            if evaluators.count > 4 { evaluators.removeFirst() }
            return evaluator
        }
    }
}

// MARK: - Loading and saving pipelines

/// The value `load` gives for a shapes-world checkpoint: a teacher or student (configs with
/// `_snoopi_pipeline`), an encoder or a classifier; nil for any other checkpoint.
func worldValue(_ checkpoint: Checkpoint, path: String) throws -> Value? {
    switch checkpoint.architecture {
    case ShapesCLIP.architecture: return .object(EncoderObject(try ShapesCLIP.load(path), path: path))
    case AttributeClassifier.architecture: return .object(ClassifierObject(try AttributeClassifier.load(path), path: path))
    case LabelClassifier.architecture: return .object(LabelClassifierObject(try LabelClassifier.load(path), path: path))
    default: break
    }
    switch try checkpoint.configDictionary()["_snoopi_pipeline"] as? String {
    case "WorldTeacher"?: return .object(TeacherObject(try WorldTeacher.load(checkpoint, path: path)))
    case OneStepStudent.pipelineTag?: return .object(StudentObject(try OneStepStudent.load(checkpoint, path: path)))
    default: return nil
    }
}
