import Foundation
import Graphics
import Testing

@Suite struct LinePlotTests {
    /// A flat series at y = 0.5 and a ramp from 0 to 1, over x in 0…10.
    static func flatAndRamp(fontPath: String = Font.defaultPath) throws -> LinePlot {
        var plot = LinePlot(title: "Training loss", xLabel: "step", yLabel: "loss")
        plot.fontPath = fontPath
        try plot.add("flat", x: [0, 10], y: [0.5, 0.5])
        try plot.add("ramp", x: [0, 10], y: [0, 1])
        return plot
    }

    @Test func renderedPlotDecodesAtTheDefaultSizeAndIsNotBlank() throws {
        let plot = try LinePlotTests.flatAndRamp()
        let image = try PNG.decode(PNG.encode(plot.render()))
        try keepForInspection(image, as: "plot-flat-and-ramp")
        #expect(image.width == 800 && image.height == 500)
        #expect(image.distinctColorCount > 50)
        let white = image.pixels(in: image.everywhere) { $0 == .white }.count
        #expect(white > image.width * image.height / 2)
        #expect(white < image.width * image.height * 99 / 100)
    }

    @Test func aFlatSeriesIsDrawnInItsColourWhereTheFrameSaysItIs() throws {
        let plot = try LinePlotTests.flatAndRamp()
        let image = try plot.render()
        let frame = try plot.frame()
        let point = try #require(frame.point(x: 2, y: 0.5))
        let (x, y) = (Int(point.x), Int(point.y))
        #expect(image[x, y].sameRGB(Color.tab10[0]))
        #expect(image[x + 100, y].sameRGB(Color.tab10[0]))
        #expect(!image[x, y - 6].sameRGB(Color.tab10[0]) && !image[x, y + 6].sameRGB(Color.tab10[0]))
        // The ramp passes through (2, 0.2) in the second palette colour.
        let ramp = try #require(frame.point(x: 2, y: 0.2))
        #expect(image[Int(ramp.x), Int(ramp.y)].sameRGB(Color.tab10[1]))
    }

    @Test(arguments: [false, true])
    func theTitleLeavesDarkPixelsAboveTheAxes(fallback: Bool) throws {
        var plot = try LinePlotTests.flatAndRamp(fontPath: fallback ? missingFontPath : Font.defaultPath)
        let frame = try plot.frame()
        let titleBand = (x: 0..<plot.width, y: 0..<Int(frame.area.minY) - 2)
        let image = try plot.render()
        try keepForInspection(image, as: fallback ? "plot-fallback-font" : "plot-title")
        #expect(image.pixels(in: titleBand) { $0.isDark }.count > 40)
        plot.title = ""
        let untitled = try plot.render()
        let untitledBand = (x: 0..<plot.width, y: 0..<Int(try plot.frame().area.minY) - 2)
        #expect(untitled.pixels(in: untitledBand) { $0.isDark }.isEmpty)
    }

    @Test func theYLabelIsDrawnLeftOfTheTickLabels() throws {
        let plot = try LinePlotTests.flatAndRamp()
        let image = try plot.render()
        let area = try plot.frame().area
        // The rotated label occupies a narrow band at the left edge, around the middle.
        let band = (x: 0..<30, y: Int(area.minY)..<Int(area.maxY))
        let dark = image.pixels(in: band) { $0.isDark }
        #expect(dark.count > 20)
        #expect(Set(dark.map(\.y)).count > Set(dark.map(\.x)).count)
    }

    @Test func logScaleSkipsNonPositiveValues() throws {
        var plot = LinePlot(title: "log", yLabel: "loss")
        plot.yScale = .log
        try plot.add("loss", x: [0, 1, 2, 3, 4, 5], y: [1, 10, 0, -5, 100, .nan])
        let frame = try plot.frame()
        #expect(frame.yRange.lowerBound > 0.5 && frame.yRange.upperBound < 200)
        #expect(frame.yTicks.labels == ["1", "2", "5", "10", "20", "50", "100"])
        #expect(frame.point(x: 2, y: 0) == nil)
        let image = try plot.render()
        try keepForInspection(image, as: "plot-log")
        let top = try #require(frame.point(x: 4, y: 100))
        #expect(image[Int(top.x), Int(top.y)].sameRGB(Color.tab10[0]))
    }

    @Test func anAllNaNSeriesIsOnlyInTheLegend() throws {
        var plot = LinePlot(title: "gaps")
        plot.add("data", y: [3.0, 1.0, 2.0, 0.5])
        plot.add("missing", y: [Double.nan, .nan, .nan])
        let image = try plot.render()
        try keepForInspection(image, as: "plot-nan-series")
        let missing = image.pixels(in: image.everywhere) { $0.sameRGB(Color.tab10[1]) }
        #expect(!missing.isEmpty)
        // Only the legend swatch: a short horizontal stroke.
        let xs = missing.map(\.x)
        let ys = missing.map(\.y)
        #expect(xs.max()! - xs.min()! <= 20 && ys.max()! - ys.min()! <= 3)
    }

    @Test func anEmptyPlotStillDrawsItsAxes() throws {
        let plot = LinePlot(xLabel: "x", yLabel: "y")
        let image = try plot.render()
        let area = try plot.frame().area
        #expect(image[Int(area.minX) - 1, Int(area.center.y)] == Color(hex: 0x4d4d4d))
        #expect(image[Int(area.maxX), Int(area.center.y)] == Color(hex: 0x4d4d4d))
        let tickLabels = image.pixels(in: (x: 0..<Int(area.minX) - 1, y: 0..<image.height)) { $0.isDark }
        #expect(tickLabels.count > 30)
    }

    @Test func smoothingDrawsTheAverageOverAFaintRawCurve() throws {
        var plot = LinePlot(title: "smoothed")
        var state: UInt64 = 42
        let noisy: [Double] = (0..<300).map { step in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let noise = Double(state >> 11) / Double(1 << 53) - 0.5
            let trend: Double = 2 * exp(-Double(step) / 80)
            return trend + 0.6 * noise
        }
        plot.add("loss", y: noisy)
        plot.smoothing = 0.9
        let image = try plot.render()
        try keepForInspection(image, as: "plot-smoothed")
        let series = Color.tab10[0]
        let solid = image.pixels(in: image.everywhere) { $0.sameRGB(series) }
        // The raw curve, 25 % opaque over white, is a light tint of the series colour.
        let faint = image.pixels(in: image.everywhere) {
            $0.blue > 230 && $0.red > 180 && $0.red < 225 && Int($0.blue) - Int($0.red) > 20
        }
        #expect(solid.count > 200)
        #expect(faint.count > 200)
    }

    @Test func smoothedIsTheDebiasedMovingAverage() {
        #expect(LinePlot.smoothed([1, 1, 1], weight: 0.9) == [1, 1, 1])
        let values = LinePlot.smoothed([0, 10, .nan, 10], weight: 0.5)
        #expect(values[0] == 0)
        #expect(abs(values[1] - 5 / 0.75) < 1e-12)
        #expect(values[2].isNaN)
        #expect(abs(values[3] - 7.5 / 0.875) < 1e-12)
    }

    @Test func badArgumentsThrow() throws {
        var plot = LinePlot()
        #expect(throws: GraphicsError.self) { try plot.add("bad", x: [1, 2, 3], y: [1, 2]) }
        plot.smoothing = 1
        #expect(throws: GraphicsError.self) { try plot.render() }
        plot.smoothing = 0
        plot.width = 40
        plot.height = 30
        #expect(throws: GraphicsError.self) { try plot.render() }
    }

    @Test func savePNGWritesTheRenderedPicture() throws {
        let plot = try LinePlotTests.flatAndRamp()
        try withTemporaryFolder { folder in
            try plot.savePNG(to: folder + "/plot.png")
            #expect(try PNG.read(folder + "/plot.png") == plot.render())
        }
    }
}
