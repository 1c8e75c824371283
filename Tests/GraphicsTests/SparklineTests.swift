import Graphics
import Testing

@Suite struct SparklineTests {
    @Test func aRampUsesEveryLevelOnce() {
        let ramp: [Double] = [0, 1, 2, 3, 4, 5, 6, 7]
        #expect(Sparkline.bars(ramp) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.line(ramp) == "▁▂▃▄▅▆▇█ min 0 max 7 last 7")
    }

    @Test func longSeriesAreBucketedToTheWidth() {
        let ramp = (0..<800).map(Float.init)
        #expect(Sparkline.bars(ramp, width: 8) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.line(ramp, width: 8) == "▁▂▃▄▅▆▇█ min 0 max 799 last 799")
        #expect(Sparkline.bars(ramp, width: 50).count == 50)
    }

    @Test func gapsConstantsAndEmptySeries() {
        #expect(Sparkline.line([3.0, .nan, 1.0, 2.0]) == "█ ▁▅ min 1 max 3 last 2")
        #expect(Sparkline.bars([2.5, 2.5, 2.5]) == "▁▁▁")
        #expect(Sparkline.line([Double]()) == "(no data)")
        #expect(Sparkline.line([Double.nan, .infinity]) == "   (no finite values)")
        #expect(Sparkline.line([0.5, 0.25, 1e-5]) == "█▄▁ min 1e-05 max 0.5 last 1e-05")
    }
}
