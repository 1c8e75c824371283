import Graphics
import Testing

@Suite struct FontTests {
    @Test(.enabled(if: dejaVuInstalled, "needs fonts-dejavu-core (Scripts/setup)"))
    func dejaVuLoadsThroughFreeTypeWithAntialiasing() {
        let font = Font(pixelSize: 13)
        #expect(!font.isFallback)
        let bitmap = font.render("Loss 0.25")
        #expect(bitmap.height == font.lineHeight)
        #expect(bitmap.width == font.measure("Loss 0.25").width)
        // Anti-aliased: edge pixels take values between none and full.
        #expect(bitmap.coverage.contains { $0 > 0 && $0 < 255 })
        #expect(bitmap.coverage.contains(255))
    }

    @Test(arguments: [true, false])
    func widerTextMeasuresWider(fallback: Bool) {
        let font = fallback ? Font(path: missingFontPath, pixelSize: 12) : Font(pixelSize: 12)
        #expect(font.measure("").width == 0)
        #expect(font.measure("i").width < font.measure("iiii").width)
        #expect(font.measure("x").height == font.lineHeight)
    }

    @Test func missingFontFallsBackToTheBitmapFont() {
        let font = Font(path: missingFontPath, pixelSize: 13)
        #expect(font.isFallback)
        let bitmap = font.render("Ag")
        #expect(bitmap.width == font.measure("Ag").width)
        #expect(bitmap.coverage.filter { $0 == 255 }.count > 10)
        // A descender ('g') reaches below the baseline row.
        let belowBaseline = bitmap.coverage[(font.ascent * bitmap.width)...]
        #expect(belowBaseline.contains(255))
    }

    @Test func aFileThatIsNotAFontAlsoFallsBack() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/fake.ttf"
            try "not a font".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(Font(path: path, pixelSize: 12).isFallback)
        }
    }

    @Test func rotationTurnsTheBitmapCounterClockwise() throws {
        // 3 wide, 2 tall: [[1 2 3] [4 5 6]] turns into [[3 6] [2 5] [1 4]].
        let bitmap = try TextBitmap(width: 3, height: 2, coverage: [1, 2, 3, 4, 5, 6])
        let turned = bitmap.rotatedCounterClockwise()
        let expected = try TextBitmap(width: 2, height: 3, coverage: [3, 6, 2, 5, 1, 4])
        #expect(turned == expected)
        #expect(throws: GraphicsError.self) { try TextBitmap(width: 2, height: 2, coverage: [1]) }
        #expect(turned.rotatedCounterClockwise().rotatedCounterClockwise().rotatedCounterClockwise() == bitmap)
    }

    @Test(arguments: [true, false])
    func wrapKeepsLinesInsideTheWidthAndMarksTheCut(fallback: Bool) {
        let font = fallback ? Font(path: missingFontPath, pixelSize: 12) : Font(pixelSize: 12)
        let caption = "a photograph of an astronaut riding a horse on the moon, highly detailed"
        let lines = font.wrap(caption, width: 120, maxLines: 2)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { font.measure($0).width <= 120 })
        #expect(lines[0].hasPrefix("a photograph"))
        #expect(lines[1].hasSuffix("…"))
        #expect(font.wrap("short", width: 120, maxLines: 2) == ["short"])
        // A single word wider than the line is broken inside.
        let broken = font.wrap(String(repeating: "W", count: 40), width: 60, maxLines: 10)
        #expect(broken.count > 1 && broken.allSatisfy { font.measure($0).width <= 60 })
        #expect(broken.joined() == String(repeating: "W", count: 40))
    }
}
