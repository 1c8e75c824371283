import Foundation
import Engine

/// Prompt accuracy: how often a generated image shows what its prompt names, read by the world's
/// attribute classifier — the ground-truth metric the shapes world has and COCO does not. For each
/// image, every attribute its prompt names (shape, colour, size, position, background) is right
/// when the classifier reads that value; an image is "all right" when every attribute its prompt
/// names is. Prompts that name nothing ("a photo of a shape") count for neither.
public struct PromptAccuracy: Sendable, Equatable {
    /// Per kind: the share of the images whose prompt names that kind and whose named value the
    /// classifier reads (NaN when no prompt names the kind).
    public var perKind: [ShapeAttributes.Kind: Double]
    /// Per kind: how many prompts name it.
    public var namedCounts: [ShapeAttributes.Kind: Int]
    /// The share of images, among those whose prompt names at least one attribute, whose every
    /// named attribute is right (NaN when no prompt names any).
    public var allNamed: Double
    /// How many prompts name at least one attribute.
    public var imagesNamingAny: Int

    /// As metrics: `prompt_acc` (all named right) and `acc_shape`, `acc_colour`, … per kind.
    public var metrics: [String: Double] {
        var m = ["prompt_acc": allNamed]
        for kind in ShapeAttributes.Kind.allCases { m["acc_\(kind.rawValue)"] = perKind[kind] ?? .nan }
        return m
    }
}

/// Prompt accuracy of images whose attributes a classifier read as `predicted`, generated for
/// `prompts` (one per image, in the world's caption grammar).
public func promptAccuracy(predicted: [ShapeAttributes], prompts: [String]) throws -> PromptAccuracy {
    guard predicted.count == prompts.count else {
        throw DiffusionError.invalidArgument(name: "prompt accuracy", reason: "needs one prompt per image: \(predicted.count) images, \(prompts.count) prompts")
    }
    var right = [ShapeAttributes.Kind: Int](), named = [ShapeAttributes.Kind: Int]()
    var allRight = 0, namingAny = 0
    for (p, prompt) in zip(predicted, prompts) {
        let wanted = CaptionGrammar.namedValues(prompt)
        var every = true
        for (kind, value) in wanted {
            named[kind, default: 0] += 1
            if p.value(of: kind) == value { right[kind, default: 0] += 1 } else { every = false }
        }
        if !wanted.isEmpty {
            namingAny += 1
            if every { allRight += 1 }
        }
    }
    var perKind = [ShapeAttributes.Kind: Double]()
    for kind in ShapeAttributes.Kind.allCases {
        let n = named[kind, default: 0]
        perKind[kind] = n == 0 ? .nan : Double(right[kind, default: 0]) / Double(n)
    }
    return PromptAccuracy(perKind: perKind, namedCounts: named,
                          allNamed: namingAny == 0 ? .nan : Double(allRight) / Double(namingAny), imagesNamingAny: namingAny)
}

extension AttributeClassifier {
    /// Prompt accuracy of `images` [N, 3, side, side] generated for `prompts` (one per image).
    public func promptAccuracy(_ images: Tensor, prompts: [String]) throws -> PromptAccuracy {
        guard images.rank == 4, images.shape[0] == prompts.count else {
            throw DiffusionError.shapeMismatch(what: "prompt accuracy", shapes: [images.shape],
                                               reason: "needs one prompt per image (\(prompts.count) prompts)")
        }
        return try Diffusion.promptAccuracy(predicted: predict(images), prompts: prompts)
    }

    /// The shipped classifier's file name for `side`.
    public static func shippedFileName(side: Int) -> String { "shapes-classifier-\(side).h5" }

    /// The shipped classifier for `side` beside a checkpoint (`shapes-classifier-SIDE.h5` in the
    /// same folder as `path`, as the shipped encoder and classifiers lie), else in the working
    /// directory's `Notebooks/checkpoints` (a teacher copied elsewhere alone: its encoder travels
    /// inside it, the judge does not); nil when there is none.
    public static func beside(_ path: String?, side: Int) throws -> AttributeClassifier? {
        var folders = ["Notebooks/checkpoints"]
        if let path {
            let folder = (path as NSString).deletingLastPathComponent
            folders.insert(folder.isEmpty ? "." : folder, at: 0)
        }
        let candidates = folders.map { ($0 as NSString).appendingPathComponent(shippedFileName(side: side)) }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        return try load(found)
    }
}
