import Distill
import Engine
import Foundation
import Testing

/// Each distribution's draws against its analytic moments (10,000 draws; tolerances ≈ 5 standard errors).
@Suite struct GuidanceDistributionTests {
    func moments(_ d: any GuidanceDistribution, n: Int = 10_000, seed: UInt64 = 1) throws -> (mean: Double, variance: Double, min: Float, max: Float) {
        let xs = try d.draw(n, RandomGenerator(seed: seed))
        let mean = xs.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = xs.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n - 1)
        return (mean, variance, xs.min()!, xs.max()!)
    }

    @Test func constantAlwaysGivesItsValue() throws {
        let m = try moments(ConstantGuidance(4.5), n: 100)
        #expect(m.min == 4.5 && m.max == 4.5)
    }

    @Test func uniformMatchesMeanVarianceAndRange() throws {
        let m = try moments(UniformGuidance(0.5, 4))
        #expect(abs(m.mean - 2.25) < 0.05)                       // (a+b)/2
        #expect(abs(m.variance - 3.5 * 3.5 / 12) < 0.05)         // (b−a)²/12 = 1.0208
        #expect(m.min >= 0.5 && m.max < 4 && m.min < 0.52 && m.max > 3.98)
    }

    @Test func clippedNormalIsClampedWithTheRightCentre() throws {
        let m = try moments(ClippedNormalGuidance(mean: 3, std: 1, low: 2, high: 4))
        #expect(m.min == 2 && m.max == 4)                        // ≈ 16 % of draws on each bound
        #expect(abs(m.mean - 3) < 0.03)                          // symmetric clipping keeps the mean
        // Var of N(0,1) clipped at ±1: 1 − 2φ(1)·1 − 2·(1−Φ(1))·(1 − 1) … = 0.6827·E[z²| |z|<1] + 0.3173
        // E[z²; |z|<1] = 0.6827 − 2φ(1) = 0.19875 → variance 0.19875 + 0.31731 = 0.51606.
        #expect(abs(m.variance - 0.51606) < 0.02)
    }

    @Test func logUniformHasTheLogOfAUniform() throws {
        let xs = try LogUniformGuidance(1, 8).draw(10_000, RandomGenerator(seed: 3))
        let logs = xs.map { Foundation.log(Double($0)) / Foundation.log(2.0) }  // U(0, 3)
        let mean = logs.reduce(0, +) / Double(logs.count)
        #expect(abs(mean - 1.5) < 0.05)
        let belowTwo = Double(xs.filter { $0 < 2 }.count) / Double(xs.count)
        #expect(abs(belowTwo - 1.0 / 3) < 0.02)                  // as much mass on [1,2) as on [2,4) and [4,8)
        #expect(xs.allSatisfy { $0 >= 1 && $0 <= 8 })
    }

    @Test func choiceFollowsItsWeights() throws {
        let xs = try ChoiceGuidance([1, 2, 3], weights: [1, 0, 3]).draw(10_000, RandomGenerator(seed: 4))
        #expect(!xs.contains(2))
        let ones = Double(xs.filter { $0 == 1 }.count) / Double(xs.count)
        #expect(abs(ones - 0.25) < 0.02)
        #expect(Set(xs) == [1, 3])
    }

    @Test func userFunctionIsCalledWithTheGenerator() throws {
        // 0.5 + 3.5 u², the skewed example of LANGUAGE.md: mean 0.5 + 3.5/3.
        let skewed = FunctionGuidance(name: "skewed") { g in let u = g.uniform(); return 0.5 + 3.5 * u * u }
        let m = try moments(skewed)
        #expect(abs(m.mean - (0.5 + 3.5 / 3)) < 0.05)
        let bad = FunctionGuidance(name: "broken") { _ in .nan }
        #expect(throws: DistillError.self) { _ = try bad.draw(1, RandomGenerator(seed: 0)) }
    }

    @Test func badParametersAreRejected() {
        #expect(throws: DistillError.self) { _ = try UniformGuidance(4, 0.5) }
        #expect(throws: DistillError.self) { _ = try LogUniformGuidance(0, 2) }
        #expect(throws: DistillError.self) { _ = try ClippedNormalGuidance(mean: 1, std: 0, low: 0, high: 2) }
        #expect(throws: DistillError.self) { _ = try ChoiceGuidance([]) }
        #expect(throws: DistillError.self) { _ = try ChoiceGuidance([1, 2], weights: [0, 0]) }
        #expect(throws: DistillError.self) { _ = try ConstantGuidance(.infinity) }
    }

    @Test func sharedPerSampleDrawsServeBothTeachers() throws {
        let sampling = try GuidanceSampling.pgsb()
        let (frozen, lora) = try sampling.draw(batch: 6, RandomGenerator(seed: 5))
        #expect(frozen == lora)
        #expect(Set(frozen).count == 6)
        #expect(frozen.allSatisfy { $0 >= 0.5 && $0 < 4 })
    }

    @Test func independentAndPerBatchDraws() throws {
        let independent = GuidanceSampling(frozen: try UniformGuidance(0.5, 4), lora: try ConstantGuidance(4.5))
        let (frozen, lora) = try independent.draw(batch: 4, RandomGenerator(seed: 6))
        #expect(lora == [4.5, 4.5, 4.5, 4.5] && Set(frozen).count == 4)
        let perBatch = GuidanceSampling(shared: try UniformGuidance(0.5, 4), draws: .perBatch)
        let (a, b) = try perBatch.draw(batch: 5, RandomGenerator(seed: 7))
        #expect(Set(a).count == 1 && a == b && a.count == 5)
        // Same seed, same draws.
        #expect(try perBatch.draw(batch: 5, RandomGenerator(seed: 7)).frozen == a)
    }
}
