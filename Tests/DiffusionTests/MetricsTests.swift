import Diffusion
import Engine
import Foundation
import Testing

/// Expects `body` to throw a `DiffusionError` for which `matches` holds.
private func expectMetricError(_ description: String, sourceLocation: SourceLocation = #_sourceLocation,
                               _ matches: (DiffusionError) -> Bool, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(description), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DiffusionError {
        #expect(matches(error), "expected \(description), got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(description), got \(error)", sourceLocation: sourceLocation)
    }
}

private func isInvalidArgument(_ name: String) -> (DiffusionError) -> Bool {
    { if case let .invalidArgument(n, _) = $0 { return n == name } else { return false } }
}

private func isShapeMismatch(_ what: String) -> (DiffusionError) -> Bool {
    { if case let .shapeMismatch(w, _, _) = $0 { return w == what } else { return false } }
}

/// One feature-set pair of metrics.json (real, fake and the references).
private struct MetricsCase {
    let name: String
    let real: Tensor
    let fake: Tensor
    let fd: Double
    let k: Int
    let precision: Double
    let recall: Double

    static func all() throws -> [MetricsCase] {
        let cases = try fixture("metrics")["frechet"] as! [[String: Any]]
        return try cases.map { c in
            let real = try tensor(c["real"])
            let fake = (c["identical"] as! Bool) ? real : try tensor(c["fake"])
            return MetricsCase(name: c["name"] as! String, real: real, fake: fake,
                               fd: (c["fd"] as! NSNumber).doubleValue, k: c["k"] as! Int,
                               precision: (c["precision"] as! NSNumber).doubleValue,
                               recall: (c["recall"] as! NSNumber).doubleValue)
        }
    }
}

@Suite("Metrics")
struct MetricsTests {
    // MARK: Fréchet distance

    @Test("FD matches pytorch-fid's formula (scipy sqrtm) on the fixtures")
    func frechetFixtures() throws {
        let cases = try MetricsCase.all()
        #expect(cases.count == 4)
        for c in cases {
            let fd = try frechetDistance(c.real, c.fake)
            let error = Swift.abs(fd - c.fd)
            #expect(error <= 1e-6 || error <= 1e-6 * Swift.abs(c.fd), "\(c.name): \(fd) vs \(c.fd)")
        }
    }

    @Test("mean ± sd over seeds: the sample sd (n − 1), NaN kept where a run did not measure")
    func seedSummary() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − 5)² = 32, sample variance 32/7.
        let (m, sd) = meanSD([2, 4, 4, 4, 5, 5, 7, 9])
        #expect(m == 5)
        #expect(abs(sd - (32.0 / 7).squareRoot()) < 1e-12)
        #expect(meanSD([3.5]) == (3.5, 0))
        let mean = meanMetrics([["fd": 40, "acc": 0.5, "x": .nan], ["fd": 44, "acc": 0.7, "x": 1]])
        #expect(mean["fd"] == 42)
        #expect(abs(mean["acc"]! - 0.6) < 1e-12)
        #expect(mean["x"]!.isNaN)
        #expect(meanMetrics([["fd": 1], [:]])["fd"]!.isNaN)
    }

    @Test("FD(x, x) is 0 up to rounding")
    func frechetIdentical() throws {
        for (shape, seed) in [([64, 8], UInt64(1)), ([200, 32], 2), ([40, 64], 3)] {
            let x = randn(shape, seed: seed) * 3 + 1
            let scale = try x.variance(axes: [0]).sum().scalars[0]
            let fd = try frechetDistance(x, x)
            #expect(Swift.abs(fd) < 1e-6 * Double(scale), "\(shape): \(fd)")
        }
    }

    @Test("FD grows as more noise is added to one set")
    func frechetMonotoneInNoise() throws {
        let x = randn([256, 16], seed: 21)
        let noise = randn([256, 16], seed: 22)
        let distances = try [0.25, 0.5, 1.0].map { (level: Float) in try frechetDistance(x, x + noise * level) }
        #expect(distances[0] > 0)
        #expect(distances[0] < distances[1] && distances[1] < distances[2], "\(distances)")
    }

    @Test("FD of two large Gaussian samples ≈ the closed form of the Gaussians")
    func frechetAnalytic() throws {
        // a ~ N(0, I), b ~ N(μ, diag(s²)), D = 4:
        // FD = ‖μ‖² + Σ (1 + s² − 2s) = 1.3125 + (0 + 1 + 0.25 + 0.25) = 2.8125.
        let n = 20_000
        let mu: [Float] = [1, -0.5, 0.25, 0], s: [Float] = [1, 2, 0.5, 1.5]
        let a = randn([n, 4], seed: 31)
        let b = try randn([n, 4], seed: 32) * Tensor(s, shape: [1, 4]) + Tensor(mu, shape: [1, 4])
        let fd = try frechetDistance(a, b)
        #expect(Swift.abs(fd - 2.8125) < 0.08, "\(fd)")
        // A rotation of both sets leaves the distance unchanged (full, non-diagonal covariances).
        let angle: Float = 0.7
        let rotation = try Tensor([cos(angle), -sin(angle), 0, 0, sin(angle), cos(angle), 0, 0,
                                   0, 0, cos(angle), sin(angle), 0, 0, -sin(angle), cos(angle)], shape: [4, 4])
        let rotated = try frechetDistance(Tensor.matmul(a, rotation), Tensor.matmul(b, rotation))
        #expect(Swift.abs(rotated - fd) < 1e-3 * fd, "\(rotated) vs \(fd)")
    }

    @Test("FD errors: feature dimensions differ, fewer than 2 samples, non-finite values, not a matrix")
    func frechetErrors() throws {
        let x = randn([10, 4], seed: 41)
        expectMetricError("a dimension mismatch", isShapeMismatch("frechetDistance")) {
            _ = try frechetDistance(x, randn([10, 5], seed: 42))
        }
        expectMetricError("too few samples in a", isInvalidArgument("frechetDistance a")) {
            _ = try frechetDistance(randn([1, 4], seed: 43), x)
        }
        expectMetricError("too few samples in b", isInvalidArgument("frechetDistance b")) {
            _ = try frechetDistance(x, randn([1, 4], seed: 43))
        }
        var values = x.scalars
        values[7] = .nan
        let withNaN = try Tensor(values, shape: [10, 4])
        expectMetricError("a NaN", isInvalidArgument("frechetDistance b")) { _ = try frechetDistance(x, withNaN) }
        values[7] = .infinity
        let withInfinity = try Tensor(values, shape: [10, 4])
        expectMetricError("an infinity", isInvalidArgument("frechetDistance a")) { _ = try frechetDistance(withInfinity, x) }
        expectMetricError("a non-matrix", isShapeMismatch("frechetDistance a")) {
            _ = try frechetDistance(randn([40], seed: 44), x)
        }
    }

    // MARK: Precision and recall

    @Test("precision / recall match a brute-force reference exactly")
    func precisionRecallFixtures() throws {
        for c in try MetricsCase.all() {
            let (precision, recall) = try precisionRecall(real: c.real, fake: c.fake, k: c.k)
            #expect(precision == c.precision, "\(c.name) precision")
            #expect(recall == c.recall, "\(c.name) recall")
        }
    }

    @Test("identical sets have P = R = 1; a far-shifted fake set has P = R = 0")
    func precisionRecallExtremes() throws {
        let real = randn([50, 12], seed: 51)
        for k in [1, 3, 5] {
            let same = try precisionRecall(real: real, fake: real, k: k)
            #expect(same.precision == 1 && same.recall == 1)
            let far = try precisionRecall(real: real, fake: randn([40, 12], seed: 52) + 100, k: k)
            #expect(far.precision == 0 && far.recall == 0)
        }
    }

    @Test("precision / recall errors: k < 1, fewer than k + 1 samples, dimension mismatch, non-finite")
    func precisionRecallErrors() throws {
        let x = randn([4, 3], seed: 61)
        expectMetricError("k = 0", isInvalidArgument("precisionRecall k")) {
            _ = try precisionRecall(real: x, fake: x, k: 0)
        }
        expectMetricError("too few real samples", isInvalidArgument("precisionRecall real")) {
            _ = try precisionRecall(real: x, fake: randn([10, 3], seed: 62), k: 4)
        }
        expectMetricError("too few fake samples", isInvalidArgument("precisionRecall fake")) {
            _ = try precisionRecall(real: randn([10, 3], seed: 62), fake: x, k: 4)
        }
        #expect(throws: Never.self) { _ = try precisionRecall(real: x, fake: x, k: 3) }
        expectMetricError("a dimension mismatch", isShapeMismatch("precisionRecall")) {
            _ = try precisionRecall(real: x, fake: randn([4, 2], seed: 63), k: 1)
        }
        var values = x.scalars
        values[0] = -.infinity
        let bad = try Tensor(values, shape: [4, 3])
        expectMetricError("an infinity", isInvalidArgument("precisionRecall fake")) {
            _ = try precisionRecall(real: x, fake: bad, k: 1)
        }
    }

    // MARK: CLIP score

    @Test("CLIP score and cosines match the fixture; negative cosines count as 0")
    func clipFixture() throws {
        let clip = try fixture("metrics")["clip"] as! [String: Any]
        let image = try tensor(clip["image"]), text = try tensor(clip["text"])
        let expected = (clip["cosines"] as! [NSNumber]).map(\.doubleValue)
        let cosines = try cosineSimilarities(image, text)
        #expect(cosines.count == expected.count)
        for (c, e) in zip(cosines, expected) { #expect(Swift.abs(c - e) < 1e-12) }
        #expect(expected.contains { $0 < 0 })
        let score = try clipScore(imageFeatures: image, textFeatures: text)
        #expect(Swift.abs(score - (clip["score"] as! NSNumber).doubleValue) < 1e-9)
        // Without the clamp the negative rows would pull the mean down.
        let unclamped = 100 * cosines.reduce(0, +) / Double(cosines.count)
        #expect(score > unclamped)
    }

    @Test("CLIP score: 100 for parallel pairs, 0 for opposite ones, scale-invariant")
    func clipExtremes() throws {
        let x = randn([6, 10], seed: 71)
        #expect(Swift.abs(try clipScore(imageFeatures: x, textFeatures: x * 3) - 100) < 1e-9)
        #expect(try clipScore(imageFeatures: x, textFeatures: -x) == 0)
        let cosines = try cosineSimilarities(x, -x)
        #expect(cosines.allSatisfy { Swift.abs($0 + 1) < 1e-12 })
    }

    @Test("CLIP score errors: unpaired shapes, no rows, a zero row, non-finite")
    func clipErrors() throws {
        let x = randn([3, 4], seed: 81)
        expectMetricError("unpaired rows", isShapeMismatch("cosineSimilarities")) {
            _ = try clipScore(imageFeatures: x, textFeatures: randn([2, 4], seed: 82))
        }
        expectMetricError("no rows", isInvalidArgument("cosineSimilarities")) {
            _ = try clipScore(imageFeatures: Tensor.zeros([0, 4]), textFeatures: Tensor.zeros([0, 4]))
        }
        var values = x.scalars
        for j in 4..<8 { values[j] = 0 }
        let zeroRow = try Tensor(values, shape: [3, 4])
        expectMetricError("a zero row", isInvalidArgument("cosineSimilarities")) {
            _ = try cosineSimilarities(x, zeroRow)
        }
        values[5] = .nan
        let withNaN = try Tensor(values, shape: [3, 4])
        expectMetricError("a NaN", isInvalidArgument("cosineSimilarities a")) {
            _ = try cosineSimilarities(withNaN, x)
        }
        expectMetricError("a non-matrix", isShapeMismatch("cosineSimilarities b")) {
            _ = try cosineSimilarities(x, randn([12], seed: 83))
        }
    }

    // MARK: Removal rate

    @Test("removal rate is the fraction of images without the negative attribute")
    func removal() {
        #expect(removalRate(predictedNegativePresent: [true, false, false, true, false]) == 0.6)
        #expect(removalRate(predictedNegativePresent: [false, false]) == 1)
        #expect(removalRate(predictedNegativePresent: [true]) == 0)
        #expect(removalRate(predictedNegativePresent: []).isNaN)
        #expect(removalRate(predictedAttributes: ["red", "blue", "red", "green"], negative: "red") == 0.5)
        #expect(removalRate(predictedAttributes: [2, 2, 2, 1], negative: 1) == 0.75)
        #expect(removalRate(predictedAttributes: [String](), negative: "red").isNaN)
    }
}
