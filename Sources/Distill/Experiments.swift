import Diffusion
import Engine
import Foundation

/// The distillation variants the paper compares (Fig. 2, Table 2).
public enum DistillMethod: String, CaseIterable, Sendable {
    /// SwiftBrush: κ = 4.5 for both teachers.
    case sb
    /// SwiftBrush with DMD2's two-time-scale rule: 5 LoRA-teacher updates per student update.
    case sbTTUR = "sb-ttur"
    /// PG-SB: κ ~ U(0.5, κmax) for both teachers, one shared draw per sample (κmax 4; 3 for PixArt).
    case pgsb
    /// Table 2's ablation: random κ on the frozen teacher only / the LoRA teacher only.
    case frozenOnly = "frozen-only"
    case loraOnly = "lora-only"
    /// SBv2's clamped CLIP loss on top of SB.
    case sbv2

    /// Applies the method to `options` for a teacher of `kind`.
    public func configure(_ options: inout DistillOptions, kind: WorldTeacher.Kind) throws {
        let high: Float = kind == .pixart ? 3 : 4
        let fixed = try ConstantGuidance(4.5), random = try UniformGuidance(0.5, high)
        switch self {
        case .sb: options.guidance = GuidanceSampling(shared: fixed)
        case .sbTTUR: options.guidance = GuidanceSampling(shared: fixed); options.loraStepsPerStudentStep = 5
        case .pgsb: options.guidance = GuidanceSampling(shared: random)
        case .frozenOnly: options.guidance = GuidanceSampling(frozen: random, lora: fixed)
        case .loraOnly: options.guidance = GuidanceSampling(frozen: fixed, lora: random)
        case .sbv2: options.guidance = GuidanceSampling(shared: fixed); options.clipLoss = ClampedCLIPLoss()
        }
    }

    public var label: String {
        switch self {
        case .sb: return "SB (κ = 4.5)"
        case .sbTTUR: return "SB + two-time-scale (5 LoRA steps)"
        case .pgsb: return "PG-SB (κ ~ U(0.5, κmax))"
        case .frozenOnly: return "random κ on the frozen teacher only"
        case .loraOnly: return "random κ on the LoRA teacher only"
        case .sbv2: return "SB + clamped CLIP loss (SBv2)"
        }
    }
}

/// The negative-prompt removal study's prompt pairs (Table 3/7 in miniature): a positive prompt,
/// the negative prompt, and the attribute value the negative names (what the classifier checks).
public struct RemovalPair: Sendable {
    public let positive: String, negative: String
    public let kind: ShapeAttributes.Kind, value: String
}

public let removalPairs: [RemovalPair] = [
    RemovalPair(positive: "a photo of a shape", negative: "red", kind: .colour, value: "red"),
    RemovalPair(positive: "a circle", negative: "large", kind: .size, value: "large"),
    RemovalPair(positive: "a shape on a white background", negative: "circle", kind: .shape, value: "circle"),
    RemovalPair(positive: "a small shape", negative: "blue", kind: .colour, value: "blue"),
    RemovalPair(positive: "a picture of a square", negative: "black background", kind: .background, value: "black"),
    RemovalPair(positive: "a shape", negative: "left", kind: .position, value: "left"),
]
