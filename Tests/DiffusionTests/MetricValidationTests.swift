import Diffusion
import Engine
import Foundation
import Testing

/// The metrics measured in the shipped contrastive encoder's feature space behave as a metric of
/// image quality must: two independent sets of real images are close, and adding noise to the
/// images moves them away monotonically.
@Suite struct MetricValidationTests {
    static let encoderPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Notebooks/checkpoints/shapes-clip-16.h5").path

    @Test("FD(real, other real) is FD's sampling floor; FD grows with added noise; recall falls")
    func fdOnRealImages() throws {
        let encoder = try ShapesCLIP.load(Self.encoderPath)
        let world = try ShapesWorld(side: 16)
        let evaluator = try SampleEvaluator(encoder: encoder, data: world, count: 256)
        // Other real images of the same distribution, paired with the evaluation captions only
        // for the CLIP score's sake.
        let other = try world.batch(256, split: .train, start: 5_000_000).images
        let baseline = try evaluator.evaluate(other)
        let noise = try Tensor.randn(other.shape, generator: RandomGenerator(seed: 9))
        let noisy = try [0.1, 0.3, 1.0].map { (level: Float) in try evaluator.evaluate((other + noise * level).clamp(min: -1, max: 1)) }
        let fds = [baseline["fd"]!] + noisy.map { $0["fd"]! }
        // Measured: 9.46, 9.64, 10.7, 46.7 (FD's finite-sample bias at N = 256 in 128 dimensions
        // is what real-vs-real shows; FD of a set with itself is 0, see MetricsTests).
        #expect(fds[3] > 3 * fds[0], "FD \(fds)")
        #expect(fds[0] < fds[1] && fds[1] < fds[2] && fds[2] < fds[3], "FD \(fds)")
        #expect(baseline["precision"]! > 0.8 && baseline["recall"]! > 0.8, "\(baseline)")
        #expect(noisy[2]["recall"]! < baseline["recall"]! - 0.3, "\(noisy[2])")   // 0.96 → 0.39
        #expect(noisy[2]["precision"]! < baseline["precision"]!, "\(noisy[2])")
    }
}
