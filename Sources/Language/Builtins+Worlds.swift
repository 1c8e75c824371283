import Diffusion
import Engine
import Foundation

extension BuiltinDomain {
    /// The shapes world and the metrics measured in it.
    static let worlds = BuiltinDomain("worlds", doc: "the shapes world (captioned pictures whose attributes are known) and its metrics: Fréchet distance, precision/recall, CLIP score, removal rate.", builtins: [
        Builtin("shapes", "size: 16, seed: 0",
                doc: "The shapes world: a coloured shape (5 shapes × 8 colours × 2 sizes × 5 positions × 3 backgrounds) drawn at `size`×`size` pixels in [−1, 1], captioned with a random subset of its attributes; five shape–colour pairs and the template \"a picture of a …\" are held out of training. Members: `side`, `seed`, `prompts` (distinct training captions), `test_prompts` (held-out ones), `held_out`; methods `sample(n, seed: 0, split: \"train\")` → {images, captions, attributes}, `render(attributes)`, `eval_prompts(n)`.",
                example: "let world = shapes(size: 16)\nlet batch = world.sample(8)\ngrid(batch.images, captions: batch.captions)") { args in
            let size = try args.int("size")
            guard size >= 8, size <= 64, size % 8 == 0 else { throw args.mistake("size", "a multiple of 8 from 8 to 64 (16 or 32 usual)") }
            guard let seed = try args.optionalSeed("seed") else { throw args.mistake("seed", "a non-negative integer") }
            let world = try ShapesWorld(side: size, seed: seed)
            WorldPrompts.note(world)
            return .object(WorldObject(world))
        },
        Builtin("evaluate", "model, images, prompts: nil, data: nil, classifier: nil, features: nil, tokenizer: nil",
                doc: "FD, CLIP score, precision and recall (k = 3) of generated `images` [N, 3, S, S] (N ≥ 8) against N held-out real images of the world (or of `data`, a dataset: its held-out images), in the feature space of `model`'s encoder (a teacher, student or encoder), as the training runs evaluate. `features`: another space for FD and precision/recall — a real CLIP image tower (`load` of a CLIPVisionModel or CLIPVisionModelWithProjection converted with `snp convert`, or its path: pooler_output or image_embeds after CLIP's preprocessing, the images resized by bicubic interpolation to the tower's side) or another encoder; the CLIP score stays in `model`'s encoder — unless `features` is a whole CLIPModel (`load` of a transformers CLIPModel converted with `snp convert`, or its path): then FD and precision/recall are in its image_embeds and the CLIP score is measured with it too (its text_embeds; `tokenizer`: its CLIP tokenizer, a folder with vocab.json and merges.txt or `tokenizer(FOLDER)`, when none is beside the checkpoint or in its tokenizer/ subfolder). `prompts` are what the images were generated for (one, or N) for the CLIP score and prompt accuracy; nil: the real images' captions, `world.eval_prompts(N)` (or `data.eval_prompts(N)`) — generate one image per caption for comparable numbers. Returns {fd, clip_score, precision, recall, hf (mean |Laplacian|, per-pixel static), prompt_acc (all named attributes right, read by the shipped attribute classifier; nan without one), label_acc (on a dataset with labels and a label `classifier` from `train_classifier(data)`: the share of images showing the labels of the dataset's images with their caption; nan otherwise)}.",
                example: "let world = shapes()\nlet prompts = world.eval_prompts(64)\nevaluate(student, generate(student, prompts, method: \"none\"), prompts: prompts)") { args in
            let images = try args.images("images")
            let n = images.shape[0]
            guard n >= 8 else { throw RuntimeError("evaluate(): needs at least 8 images, got \(n)", parameter: "images") }
            let encoder = try args.encoder("model", side: images.shape[2])
            guard encoder.side == images.shape[2], images.shape[3] == images.shape[2] else {
                throw RuntimeError("evaluate(): the encoder sees \(encoder.side)×\(encoder.side) pictures, got \(images.shape[2])×\(images.shape[3])", parameter: "images")
            }
            let prompts = try args.optionalPrompts("prompts", count: n)
            let scorer = try args.clipScorer("features", tokenizer: "tokenizer", otherwiseNil: true)
            if scorer == nil && !args.isNil("tokenizer") {
                throw RuntimeError("evaluate(): tokenizer is the tokenizer of a CLIPModel given as features (for its CLIP score); features is none", parameter: "tokenizer")
            }
            let features: (any ImageFeatureSpace)? = try scorer?.imageSpace ?? (args.isNil("features") ? nil : args.featureSpace("features", side: images.shape[2]))
            let metrics: [String: Double]
            if case .null = args["data"] {
                metrics = try WorldResources.serialized {
                    try WorldResources.evaluator(encoder, count: n, features: features, clipScorer: scorer).evaluate(images, prompts: prompts)
                }
            } else {
                let labelJudge: LabelClassifier?
                if case .null = args["classifier"] { labelJudge = nil } else { labelJudge = try args.labelClassifier("classifier") }
                metrics = try SampleEvaluator(encoder: encoder, data: args.imageData("data"), count: n, labelJudge: labelJudge, features: features,
                                              clipScorer: scorer)
                    .evaluate(images, prompts: prompts)
            }
            return .record(Record(["fd", "clip_score", "precision", "recall", "hf", "prompt_acc", "label_acc"].map { ($0, .number(metrics[$0] ?? .nan)) }))
        },
        Builtin("prompt_accuracy", "images, prompts, classifier: nil",
                doc: "Whether each picture shows what its prompt names, read by the attribute classifier (`classifier` as for `removal_rate`): per attribute kind the share right among the prompts naming it (nan when none does), `all` the share of pictures whose every named attribute is right (prompts naming nothing count for neither), `named` how many prompts name at least one. `prompts`: one for all images or one per image.",
                example: "let batch = shapes().sample(64)\nprompt_accuracy(batch.images, batch.captions).all   # 1") { args in
            let images = try args.images("images")
            let prompts = try args.prompts("prompts", count: images.shape[0])
            let classifier = try args.classifier("classifier", side: images.shape[2])
            let accuracy = try WorldResources.serialized { try classifier.promptAccuracy(images, prompts: prompts) }
            return .record(Record([("all", .number(accuracy.allNamed))]
                                  + ShapeAttributes.Kind.allCases.map { ($0.rawValue, .number(accuracy.perKind[$0] ?? .nan)) }
                                  + [("named", .number(Double(accuracy.imagesNamingAny)))]))
        },
        Builtin("high_frequency", "images",
                doc: "The mean absolute discrete Laplacian of pictures [N, C, H, W] (|4x − four neighbours| per interior pixel, averaged): 0 on flat pictures, about 3.6·s on per-pixel noise of standard deviation s, so static is a number to put beside FD.",
                example: "high_frequency(shapes().sample(64).images)   # real pictures: about 0.2") { args in
            .number(try meanAbsoluteLaplacian(try args.images("images")))
        },
        Builtin("fd", "images_a, images_b, encoder: nil",
                doc: "The Fréchet distance between two sets of pictures ([N, 3, S, S], N ≥ 2 each) in the image-feature space of `encoder` (a teacher, student or encoder; nil: the shipped shapes-clip-SIDE-attr.h5, else shapes-clip-SIDE.h5; or a real CLIP image tower: `load` of a CLIPVisionModel / CLIPVisionModelWithProjection / CLIPModel checkpoint converted with `snp convert`, or its path — pooler_output / image_embeds of the pictures mapped to [0, 1], resized bicubically to the tower's side as torch's `interpolate` does, normalised by OpenAI CLIP's mean and std; a grey tower reads the mean of R, G and B); feature matrices [N, D] are used as they are. ‖μa − μb‖² + Tr(Σa + Σb − 2(Σa Σb)^½), as pytorch-fid computes it.",
                example: "fd(world.sample(64).images, world.sample(64, seed: 1).images)") { args in
            let a = try features(args, "images_a"), b = try features(args, "images_b")
            return .number(try frechetDistance(a, b))
        },
        Builtin("precision_recall", "real, fake, encoder: nil, k: 3",
                doc: "Improved precision and recall (Kynkäänniemi et al. 2019) of `fake` pictures against `real` ones in the encoder's feature space (as `fd`: a teacher, student, encoder or CLIP image tower): the share of fakes inside the real k-NN balls, and of reals inside the fake ones. Returns {precision, recall}.",
                example: "precision_recall(world.sample(64).images, samples)") { args in
            let k = try positive(args, "k")
            let (precision, recall) = try precisionRecall(real: try features(args, "real"), fake: try features(args, "fake"), k: k)
            return .record(Record([("precision", .number(precision)), ("recall", .number(recall))]))
        },
        Builtin("clip_score", "images, prompts, encoder: nil, tokenizer: nil",
                doc: "CLIPScore: the mean over images of 100 · max(cos(image, prompt), 0) with the world's contrastive encoder (`encoder`: a teacher, student or encoder; nil: the shipped one) or a real CLIP: `encoder` a CLIPModel (`load` of a transformers CLIPModel folder converted with `snp convert`, or its path) — image_embeds of the pictures preprocessed as for `fd`'s CLIP towers, text_embeds of the prompts tokenized by its CLIP BPE tokenizer (cut to its max_position_embeddings keeping the end token, as transformers' truncation=True), as torchmetrics' CLIPScore. `tokenizer`: that tokenizer (a folder with vocab.json and merges.txt, or `tokenizer(FOLDER)`) when none is beside the checkpoint or in its tokenizer/ subfolder. A CLIP image tower alone (no text tower) is refused. `prompts`: one for all images or one per image.",
                example: "clip_score(imgs, \"a red circle\", encoder: teacher)") { args in
            let images = try args.images("images")
            let prompts = try args.prompts("prompts", count: images.shape[0])
            if let scorer = try args.clipScorer("encoder", tokenizer: "tokenizer") {
                return .number(try WorldResources.serialized { try scorer.score(images, prompts: prompts) })
            }
            if !args.isNil("tokenizer") {
                throw RuntimeError("clip_score(): tokenizer is the tokenizer of a CLIPModel given as encoder; this encoder has its own", parameter: "tokenizer")
            }
            let encoder = try args.encoder("encoder", side: images.shape[2])
            return .number(try WorldResources.serialized {
                try noGrad { try clipScore(imageFeatures: encoder.encodeImage(images), textFeatures: encoder.encodeText(prompts)) }
            })
        },
        Builtin("removal_rate", "images, negative, classifier: nil",
                doc: "The share of pictures in which the attribute classifier does NOT see the attribute a negative prompt names: one attribute word or phrase — a colour (\"red\"), size (\"large\"), shape (\"circle\"), position (\"left\") or background (\"white\", \"black background\"). 1: removed from every image. `classifier` is a classifier or a checkpoint path (nil: the shipped shapes-classifier-SIDE.h5, loaded once). With a label classifier (from `train_classifier(data)`), `negative` is the label to remove: a number (label column 0) or {column, label}.",
                example: "removal_rate(generate(student, \"a photo of a shape\", negative: \"red\", count: 32), \"red\")") { args in
            let images = try args.images("images")
            if case .object(let c as LabelClassifierObject) = args["classifier"] {
                let (column, label) = try negativeLabel(args, "negative", columns: c.classifier.columns)
                return .number(removalRate(predictedAttributes: try c.classifier.predict(images).map { $0[column] }, negative: label))
            }
            let (kind, value) = try negativeAttribute(args, "negative")
            let classifier = try args.classifier("classifier", side: images.shape[2])
            let predicted = try WorldResources.serialized { try classifier.predict(images) }
            return .number(removalRate(predictedAttributes: predicted.map { $0.value(of: kind) }, negative: value))
        },
        Builtin("classify", "images, classifier: nil",
                doc: "The attributes the classifier reads in each picture, as a list of records {shape, colour, size, position, background}. `classifier` as for `removal_rate`; a label classifier gives each picture's labels (a number per picture for one label column, else a list).",
                example: "classify(world.render({colour: \"blue\", shape: \"square\"}))[0].colour   # \"blue\"") { args in
            let images = try args.images("images")
            if case .object(let c as LabelClassifierObject) = args["classifier"] { return .list(labelValues(try c.classifier.predict(images))) }
            let classifier = try args.classifier("classifier", side: images.shape[2])
            let predicted = try WorldResources.serialized { try classifier.predict(images) }
            return .list(predicted.map { .record(attributeRecord($0)) })
        },
    ])
}

/// Image features [N, D] of pictures (in the `encoder` argument's feature space) or a feature matrix as it is.
private func features(_ args: Arguments, _ p: String) throws -> Tensor {
    if case .tensor(let t) = args[p], t.rank == 2 { return t }
    let images = try args.images(p)
    let space = try args.featureSpace("encoder", side: images.shape[2])
    return try WorldResources.serialized { try SampleEvaluator.features(in: space, images) }
}

/// The label a negative names for a label classifier: a number (column 0) or {column, label}.
private func negativeLabel(_ args: Arguments, _ p: String, columns: Int) throws -> (column: Int, label: Int) {
    func whole(_ v: Value?) -> Int? { if case .number(let x)? = v, x >= 0, x == x.rounded(), x < 1e9 { return Int(x) } else { return nil } }
    switch args[p] {
    case .number: if let label = whole(args[p]) { return (0, label) }
    case .record(let r):
        if let column = whole(r["column"]), let label = whole(r["label"]), column < columns { return (column, label) }
    default: break
    }
    throw args.mistake(p, "a label (a whole number ≥ 0, of label column 0) or {column, label} with column < \(columns)")
}

/// The one attribute a negative prompt names: its kind and value.
private func negativeAttribute(_ args: Arguments, _ p: String) throws -> (ShapeAttributes.Kind, String) {
    let text = try args.string(p)
    let words = text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
    var found: [(ShapeAttributes.Kind, String)] = []
    for word in words {
        for kind in ShapeAttributes.Kind.allCases where values(of: kind).contains(word) && !found.contains(where: { $0.0 == kind && $0.1 == word }) {
            found.append((kind, word))
        }
    }
    guard found.count == 1 else {
        let all = ShapeAttributes.Kind.allCases.map { "\($0.rawValue) (\(values(of: $0).joined(separator: ", ")))" }.joined(separator: "; ")
        throw RuntimeError("\(args.name)(): \(p) must name one attribute — \(all) — got \(quoted(text))"
                           + (found.count > 1 ? ", which names \(found.count)" : ""), parameter: p)
    }
    return found[0]
}

private func values(of kind: ShapeAttributes.Kind) -> [String] {
    switch kind {
    case .shape: return ShapeAttributes.Shape.allCases.map(\.rawValue)
    case .colour: return ShapeAttributes.Colour.allCases.map(\.rawValue)
    case .size: return ShapeAttributes.Size.allCases.map(\.rawValue)
    case .position: return ShapeAttributes.Position.allCases.map(\.rawValue)
    case .background: return ShapeAttributes.Background.allCases.map(\.rawValue)
    }
}
