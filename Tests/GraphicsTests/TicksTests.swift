import Graphics
import Testing

@Suite struct TicksTests {
    @Test func unitRangeGetsTenthsInStepsOfTwo() {
        let ticks = Ticks.linear(from: 0, to: 1, target: 6)
        #expect(ticks.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    @Test(arguments: [(1.0, 5, 0.2), (100, 4, 20), (100, 3, 50), (7, 7, 1), (0.003, 3, 0.001), (2.4e6, 6, 5e5), (1.8 - 1.2, 6, 0.1)])
    func stepsAreTheOneTwoFiveClosestToTheTarget(span: Double, target: Int, expected: Double) {
        #expect(abs(Ticks.niceStep(span: span, target: target) - expected) < expected * 1e-9)
    }

    @Test func negativeAndLargeRanges() {
        #expect(Ticks.linear(from: -3.7, to: 12.2, target: 6).labels == ["-2", "0", "2", "4", "6", "8", "10", "12"])
        #expect(Ticks.linear(from: -1.05, to: 1.05, target: 5).labels == ["-1.0", "-0.5", "0.0", "0.5", "1.0"])
        #expect(Ticks.linear(from: 0, to: 3e5, target: 6).labels == ["0", "50000", "100000", "150000", "200000", "250000", "300000"])
        #expect(Ticks.linear(from: 0, to: 3e6, target: 6).labels == ["0", "5e5", "1e6", "1.5e6", "2e6", "2.5e6", "3e6"])
        #expect(Ticks.linear(from: 0, to: 6e-5, target: 3).labels == ["0", "2e-5", "4e-5", "6e-5"])
    }

    @Test func logAxesUseDecadesOrOneTwoFive() {
        #expect(Ticks.logarithmic(from: 0.001, to: 100).labels == ["0.001", "0.01", "0.1", "1", "10", "100"])
        #expect(Ticks.logarithmic(from: 0.8, to: 120, target: 7).labels == ["1", "2", "5", "10", "20", "50", "100"])
        #expect(Ticks.logarithmic(from: 0.05, to: 3).labels == ["0.05", "0.1", "0.2", "0.5", "1", "2"])
        #expect(Ticks.logarithmic(from: 1e-8, to: 1e8).labels == ["1e-6", "0.001", "1", "1000", "1e6"])
        // Less than a decade with no 1-2-5 values: plain linear ticks.
        #expect(Ticks.logarithmic(from: 1.2, to: 1.8, target: 6).labels == ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8"])
    }

    @Test(arguments: [(0.0, 1.0), (-0.013, 0.0021), (1e-9, 3e-9), (17.0, 1_000_017.0), (-250.0, -249.5), (0.1, 0.35)])
    func linearTicksAreInsideDistinctAndNotTooMany(lower: Double, upper: Double) {
        let ticks = Ticks.linear(from: lower, to: upper, target: 6)
        #expect(ticks.values.count >= 3 && ticks.values.count <= 10)
        #expect(ticks.values.allSatisfy { $0 >= lower - 1e-12 && $0 <= upper + 1e-12 })
        #expect(zip(ticks.values, ticks.values.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Set(ticks.labels).count == ticks.labels.count)
    }

    @Test func emptyOrBackwardRangesHaveNoTicks() {
        #expect(Ticks.linear(from: 1, to: 1).values.isEmpty)
        #expect(Ticks.linear(from: .nan, to: 1).values.isEmpty)
        #expect(Ticks.logarithmic(from: -1, to: 10).values.isEmpty)
    }
}
