import Diffusion
import Engine
import Foundation
import Models
import Testing

/// A JSON fixture under Tests/DiffusionTests/Fixtures (written by Scripts/make_diffusion_fixtures.py).
func fixture(_ name: String) throws -> [String: Any] {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw FixtureMissing(name: name)
    }
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}

struct FixtureMissing: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture \(name).json is missing (run Scripts/make_diffusion_fixtures.py)" }
}

/// Numbers of a JSON array as Floats (each written as the exact value of a float32).
func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map { $0.floatValue } }

/// A tensor encoded as {"shape": [...], "data": [...]}.
func tensor(_ value: Any?) throws -> Tensor {
    let object = value as! [String: Any]
    return try Tensor(floats(object["data"]), shape: object["shape"] as! [Int])
}

/// Largest |a − b| / max|b| over two tensors of the same shape.
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    #expect(a.shape == b.shape)
    let (x, y) = (a.scalars, b.scalars)
    let absolute = zip(x, y).map { Swift.abs($0 - $1) }.max() ?? 0
    let scale = y.map { Swift.abs($0) }.max() ?? 1
    return absolute / Swift.max(scale, 1e-12)
}

/// The fixtures' stand-in for a network: 0.3 · x · cos(t / 300) + 0.1 · sin(t / 100), in the
/// same float32 / float64 steps as the Python side.
func analyticModel(_ x: Tensor, _ t: Float) -> Tensor {
    let t = Double(t)
    return x * Float(0.3) * Float(cos(t / 300)) + Float(0.1 * sin(t / 100))
}

func randn(_ shape: [Int], seed: UInt64) -> Tensor {
    try! Tensor.randn(shape, generator: RandomGenerator(seed: seed))
}

/// Expects `body` to throw exactly `expected`.
func expectError(_ expected: DiffusionError, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DiffusionError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
    }
}

/// The schedule a fixture names, with the β range schedules.json records for it.
func fixtureSchedule(_ name: String) throws -> NoiseSchedule {
    let schedules = try fixture("schedules")["schedules"] as! [String: Any]
    let config = (schedules[name] as! [String: Any])["config"] as! [String: Any]
    return try NoiseSchedule(name: name, betaStart: config["beta_start"] as? Double ?? 0.0001,
                             betaEnd: config["beta_end"] as? Double ?? 0.02)
}

/// A tiny UNet (as ModelsTests' `unet_linear` fixture): 4 latent channels, context width 12.
func tinyUNet(seed: UInt64 = 0) throws -> UNet2DConditionModel {
    try UNet2DConditionModel(config: ModelConfig(architecture: "UNet2DConditionModel", values: [
        "sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
        "block_out_channels": [16, 32], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "cross_attention_dim": 12,
        "attention_head_dim": 4, "norm_num_groups": 8, "use_linear_projection": true,
    ]), seed: seed)
}

/// A tiny PixArt-α with learned sigma: 4 latent channels in, 8 out; captions of width 12.
func tinyPixArt() throws -> PixArtTransformer2DModel {
    try PixArtTransformer2DModel(config: ModelConfig(architecture: "PixArtTransformer2DModel", values: [
        "sample_size": 8, "patch_size": 2, "in_channels": 4, "out_channels": 8, "num_layers": 1,
        "num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16, "caption_channels": 12,
        "use_additional_conditions": false,
    ]))
}
