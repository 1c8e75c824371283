import Diffusion
import Distill
import Engine
import Models

// Typed readers for the diffusion, world and distillation builtins' arguments: prompts,
// timesteps, pictures, guidance scales, and the pipelines. Errors name the builtin, the
// argument, what was expected and what came.
extension Arguments {
    /// A prompt or a non-empty list of prompts.
    func prompts(_ p: String) throws -> [String] {
        switch self[p] {
        case .string(let s): return [s]
        case .list(let items) where !items.isEmpty:
            return try items.map { item in
                guard case .string(let s) = item else { throw mistake(p, "a string or a list of strings") }
                return s
            }
        default: throw mistake(p, "a string or a non-empty list of strings")
        }
    }

    /// Prompts for a batch of `count`: one (repeated) or exactly `count`.
    func prompts(_ p: String, count: Int) throws -> [String] {
        let list = try prompts(p)
        if list.count == 1 { return Array(repeating: list[0], count: count) }
        guard list.count == count else {
            throw RuntimeError("\(name)(): \(p) must be one prompt or \(count) (one per sample), got \(list.count)", parameter: p)
        }
        return list
    }

    /// Optional prompts for a batch of `count` (nil when the argument is nil).
    func optionalPrompts(_ p: String, count: Int) throws -> [String]? { isNil(p) ? nil : try prompts(p, count: count) }

    /// Integer timesteps in 0..<T from a number, a list or range of numbers, or a tensor of whole
    /// numbers; `single` is true when one number came (not a list).
    func timesteps(_ p: String, _ schedule: NoiseSchedule) throws -> (values: [Int], single: Bool) {
        let expected = "an integer timestep 0…\(schedule.trainSteps - 1) or a list of them"
        let numbers: [Double], single: Bool
        switch self[p] {
        case .number(let x): numbers = [x]; single = true
        case .tensor(let t) where t.rank == 0: numbers = [Double(t.scalars[0])]; single = true
        case .tensor, .list, .range: numbers = try self.numbers(p); single = false
        default: throw mistake(p, expected)
        }
        guard !numbers.isEmpty else { throw mistake(p, expected) }
        let steps = try numbers.map { x -> Int in
            guard let i = exactInt(x), i >= 0, i < schedule.trainSteps else {
                throw RuntimeError("\(name)(): \(p) must be \(expected), got \(x.isNaN ? "nil" : formatNumber(x))", parameter: p)
            }
            return i
        }
        return (steps, single)
    }

    /// Pictures [B, 3, S, S] (a single [3, S, S] becomes a batch of one).
    func images(_ p: String) throws -> Tensor {
        guard case .tensor(let t) = self[p] else { throw mistake(p, "pictures: a tensor [B, 3, S, S]") }
        if t.rank == 3, t.shape[0] == 3 { return try t.reshape([1] + t.shape) }
        guard t.rank == 4, t.shape[1] == 3, t.shape[0] >= 1 else {
            throw RuntimeError("\(name)(): \(p) must be pictures [B, 3, S, S], got tensor \(shapeString(t.shape))", parameter: p)
        }
        return t
    }

    /// A guidance scale distribution: a number (constant) or a distribution value.
    func distribution(_ p: String) throws -> any GuidanceDistribution {
        switch self[p] {
        case .number(let x): return try ConstantGuidance(Float(x))
        case .object(let d as DistributionObject): return d.distribution
        default: throw mistake(p, "a number or a distribution")
        }
    }

    /// κ for `count` samples: a number, a list of `count` numbers, or a distribution (drawn from
    /// a generator seeded with `seed`).
    func kappas(_ p: String, count: Int, seed: UInt64) throws -> [Float] {
        let values: [Float]
        switch self[p] {
        case .number(let x): values = [Float(x)]
        case .object(let d as DistributionObject): values = try d.distribution.draw(count, RandomGenerator(seed: seed))
        case .list, .tensor:
            values = try numbers(p).map(Float.init)
            guard values.count == count || values.count == 1 else {
                throw RuntimeError("\(name)(): \(p) must be one number or \(count) (one per image), got \(values.count)", parameter: p)
            }
        default: throw mistake(p, "a number, a list of numbers or a distribution")
        }
        guard values.allSatisfy(\.isFinite) else { throw mistake(p, "finite") }
        return values
    }

    /// A teacher, student or LoRA teacher.
    func pipeline(_ p: String) throws -> any PipelineCarrier {
        guard case .object(let o) = self[p], let carrier = o as? any PipelineCarrier else {
            throw mistake(p, "a teacher, a student or a LoRA teacher")
        }
        return carrier
    }

    /// A teacher (`load` of a teacher checkpoint).
    func teacher(_ p: String) throws -> TeacherObject {
        try object(p, as: TeacherObject.self, "a teacher (load a teacher checkpoint)")
    }

    /// A noise schedule: a schedule, or a teacher's / student's.
    func schedule(_ p: String) throws -> NoiseSchedule {
        switch self[p] {
        case .object(let s as ScheduleObject): return s.schedule
        case .object(let o as any PipelineCarrier): return o.schedule
        default: throw mistake(p, "a schedule (or a teacher or student)")
        }
    }

    /// A contrastive encoder: an encoder value, or a teacher's / student's; nil: the shipped
    /// `shapes-clip-SIDE-attr.h5` (else `shapes-clip-SIDE.h5`).
    func encoder(_ p: String, side: Int) throws -> ShapesCLIP {
        switch self[p] {
        case .null: return try WorldResources.encoder(at: WorldResources.shipped(ShapesCLIP.shippedFileNames(side: side), for: name, parameter: p))
        case .string(let path): return try WorldResources.encoder(at: path)
        case .object(let e as EncoderObject): return e.encoder
        case .object(let o as any PipelineCarrier): return o.encoder
        default: throw mistake(p, "an encoder, a teacher or a student (or a ShapesCLIP checkpoint path)")
        }
    }

    /// An image-feature space for FD and precision/recall: a CLIP image tower (a loaded
    /// CLIPVisionModel or CLIPVisionModelWithProjection, or its checkpoint's path), an encoder, a
    /// teacher or student (its encoder) or a ShapesCLIP checkpoint path; nil: the shipped encoder
    /// for `side`.
    func featureSpace(_ p: String, side: Int) throws -> any ImageFeatureSpace {
        let expected = "a CLIP image tower (a CLIPVisionModel, CLIPVisionModelWithProjection or CLIPModel from load, or its checkpoint path), an encoder, a teacher or a student (or a ShapesCLIP checkpoint path)"
        switch self[p] {
        case .string(let path):
            let (space, architecture) = try WorldResources.featureSpace(at: path)
            guard let space else {
                throw RuntimeError("\(name)(): \(p): \(path) holds a \(architecture.isEmpty ? "checkpoint without an architecture" : architecture), "
                                   + "not image features; expected \(expected). Convert a transformers CLIP vision folder with `snp convert FOLDER OUT.h5`",
                                   parameter: p)
            }
            return space
        case .object(let m as ModelObject):
            guard let space = try WorldResources.featureSpace(of: m.module) else { throw mistake(p, expected) }
            return space
        case .null, .object(is EncoderObject), .object(is any PipelineCarrier): return try encoder(p, side: side)
        default: throw mistake(p, expected)
        }
    }

    /// A real CLIP for the CLIP score when `p` names one: a CLIPModel (from `load`, or its checkpoint
    /// path) with its tokenizer — the `tp` argument (a tokenizer or a folder with vocab.json and
    /// merges.txt), else the one beside the checkpoint or in its tokenizer/ subfolder. nil when `p`
    /// is nil, an encoder, a teacher or student, or a ShapesCLIP path (their encoder measures it);
    /// a CLIP image tower (no text tower) or any other model is an error naming what is missing —
    /// unless `otherwiseNil` (for `features:`, where a tower measures FD alone): then nil too.
    func clipScorer(_ p: String, tokenizer tp: String, otherwiseNil: Bool = false) throws -> CLIPScorer? {
        let given: (tokenizer: CLIPTokenizer?, folder: String)?
        switch self[tp] {
        case .null: given = nil
        case .string(let folder): given = (nil, folder)
        case .object(let t as TokenizerObject):
            guard case .clip(let tokenizer, let source) = t.kind else { throw mistake(tp, "a CLIP tokenizer (tokenizer(FOLDER)) or a folder with vocab.json and merges.txt, not the shapes world's word tokenizer") }
            given = (tokenizer, source)
        default: throw mistake(tp, "a CLIP tokenizer (tokenizer(FOLDER)) or a folder with vocab.json and merges.txt")
        }
        let model: CLIPModel, source: String?
        switch self[p] {
        case .string(let path):
            let (m, architecture) = try WorldResources.clipModel(at: path)
            if architecture == ShapesCLIP.architecture { return nil }
            guard let m else {
                if otherwiseNil { return nil }
                throw RuntimeError("\(name)(): \(p): \(CLIPScorer.notAModel(architecture, source: path))", parameter: p)
            }
            (model, source) = (m, path)
        case .object(let o as ModelObject):
            guard let m = o.module as? CLIPModel else {
                if otherwiseNil { return nil }
                let what = o.loaded?.architecture ?? o.module.typeName
                let tower = o.module is CLIPVisionModel || o.module is CLIPVisionModelWithProjection
                throw RuntimeError("\(name)(): \(p): a \(what)" + (tower ? " is a CLIP image tower without a text tower: " : " has no CLIP text and image towers: ")
                                   + "a CLIP score needs a CLIPModel (load of a transformers CLIPModel folder converted with `snp convert`) or an encoder, a teacher or a student", parameter: p)
            }
            (model, source) = (m, o.source)
        default: return nil
        }
        let folder: String
        if let given { folder = given.folder } else {
            guard let source, let found = CLIPScorer.tokenizerFolder(beside: source) else {
                let reason = source.map { "\(CLIPScorer.missingTokenizer($0))" } ?? "CLIP score: this CLIPModel was not loaded from a file, so no tokenizer is found beside it"
                throw RuntimeError("\(name)(): \(reason); give \(tp): a folder with vocab.json and merges.txt, or tokenizer(FOLDER)", parameter: tp)
            }
            folder = found
        }
        return try WorldResources.scorer(model, source: source, tokenizer: given?.tokenizer, tokenizerFolder: folder)
    }

    /// The attribute classifier: a classifier value or a checkpoint path; nil: the shipped
    /// `shapes-classifier-SIDE.h5`.
    func classifier(_ p: String, side: Int) throws -> AttributeClassifier {
        let classifier: AttributeClassifier
        switch self[p] {
        case .null: classifier = try WorldResources.classifier(at: WorldResources.shipped([AttributeClassifier.shippedFileName(side: side)], for: name, parameter: p))
        case .string(let path): classifier = try WorldResources.classifier(at: path)
        case .object(let c as ClassifierObject): classifier = c.classifier
        default: throw mistake(p, "a classifier (from load) or a classifier checkpoint path")
        }
        guard classifier.side == side else {
            throw RuntimeError("\(name)(): the classifier reads \(classifier.side)×\(classifier.side) pictures, these are \(side)×\(side)", parameter: p)
        }
        return classifier
    }

    /// Runs `body` stopping with Ctrl-C between steps: `onStep` for the samplers.
    func interruptible() -> StepCallback {
        let interpreter = self.interpreter, location = self.location
        return { _, _ in try interpreter.checkInterruption(at: location) }
    }
}
