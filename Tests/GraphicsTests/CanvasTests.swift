import Graphics
import Testing

@Suite struct CanvasTests {
    let red = Color(hex: 0xd62728)

    @Test func aHorizontalLineTwoPixelsWideCoversTwoRowsExactly() throws {
        var canvas = try Canvas(width: 40, height: 20)
        canvas.drawLine(from: Point(x: 5, y: 10), to: Point(x: 35, y: 10), color: red, width: 2)
        let image = canvas.image
        #expect(image[20, 9] == red && image[20, 10] == red)
        #expect(image[20, 8] == .white && image[20, 11] == .white)
        #expect(image[2, 10] == .white)
    }

    @Test func diagonalLinesAreAntialiased() throws {
        var canvas = try Canvas(width: 40, height: 40)
        canvas.drawLine(from: Point(x: 3, y: 5), to: Point(x: 37, y: 29), color: .black, width: 1.5)
        let greys = canvas.image.pixels(in: canvas.image.everywhere) { $0.red > 0 && $0.red < 255 }
        #expect(greys.count > 30)
    }

    @Test func translucentPolylineJoinsAreNotDarkerThanSegments() throws {
        var canvas = try Canvas(width: 60, height: 30)
        let faint = Color.black.withOpacity(0.3)
        canvas.drawPolyline([Point(x: 5, y: 15), Point(x: 30, y: 15), Point(x: 55, y: 15)], color: faint, width: 3)
        #expect(canvas.image[30, 15] == canvas.image[15, 15])
        #expect(canvas.image[15, 15].red == 178)  // 255 · (1 − Float(0.3)) = 178.4999…
    }

    @Test func rectanglesCirclesAndClipping() throws {
        var canvas = try Canvas(width: 30, height: 30)
        canvas.fill(Rect(x: 2, y: 2, width: 5, height: 4), color: red)
        #expect(canvas.image.pixels(in: canvas.image.everywhere) { $0 == red }.count == 20)
        canvas.fillCircle(center: Point(x: 20, y: 20), radius: 5, color: .black)
        #expect(canvas.image[20, 20] == .black && canvas.image[20, 27] == .white)
        canvas.clip = Rect(x: 0, y: 0, width: 10, height: 30)
        canvas.fill(Rect(x: 0, y: 10, width: 30, height: 2), color: .black)
        #expect(canvas.image[9, 10] == .black && canvas.image[10, 10] == .white)
    }

    @Test func nonFiniteAndFarOffCoordinatesDoNotTrap() throws {
        var canvas = try Canvas(width: 20, height: 10)
        canvas.fill(Rect(x: .nan, y: 0, width: 5, height: 5), color: .black)
        canvas.fillCircle(center: Point(x: 1e300, y: 5), radius: 3, color: .black)
        canvas.drawText("x", at: Point(x: .infinity, y: 0), font: Font(path: missingFontPath, pixelSize: 10))
        #expect(canvas.image.pixels(in: canvas.image.everywhere) { $0 != .white }.isEmpty)
        canvas.drawLine(from: Point(x: -1e300, y: -1e300), to: Point(x: 1e300, y: 1e300), color: .black)
        canvas.drawLine(from: Point(x: -1e6, y: 5), to: Point(x: 1e6, y: 5), color: .black, width: 2)
        canvas.fill(Rect(x: 0, y: 0, width: .infinity, height: 1), color: .black)
        #expect(canvas.image[0, 5] == .black && canvas.image[19, 4] == .black && canvas.image[19, 0] == .black)
    }

    @Test(arguments: [true, false])
    func textDrawsDarkPixelsWhereItWasPlaced(fallback: Bool) throws {
        let font = fallback ? Font(path: missingFontPath, pixelSize: 14) : Font(pixelSize: 14)
        var canvas = try Canvas(width: 120, height: 60)
        let box = canvas.drawText("Snoopi", at: Point(x: 60, y: 30), font: font, color: .black, alignment: .center)
        let dark = canvas.image.pixels(in: canvas.image.everywhere) { $0.isDark }
        #expect(dark.count > 20)
        #expect(dark.allSatisfy { box.contains(Point(x: Double($0.x) + 0.5, y: Double($0.y) + 0.5)) })
        #expect(abs(box.center.x - 60) <= 1 && abs(box.center.y - 30) <= 1)
    }

    @Test func rotatedTextIsTallerThanWide() throws {
        let font = Font(pixelSize: 13)
        var canvas = try Canvas(width: 60, height: 120)
        let box = canvas.drawText("validation loss", at: Point(x: 5, y: 60), font: font, color: .black,
                                  alignment: .centerLeft, rotated: true)
        #expect(box.height > 2 * box.width)
        let dark = canvas.image.pixels(in: canvas.image.everywhere) { $0.isDark }
        #expect(Set(dark.map(\.y)).count > 40)
    }

    @Test func upscaledPicturesFillWholeBlocks() throws {
        var canvas = try Canvas(width: 20, height: 20)
        let picture = try Image(width: 2, height: 1, format: .rgb, pixels: [255, 0, 0, 0, 0, 255])
        canvas.draw(picture, x: 3, y: 4, scale: 4)
        #expect(canvas.image[3, 4] == Color(red: 255, green: 0, blue: 0))
        #expect(canvas.image[6, 7] == Color(red: 255, green: 0, blue: 0))
        #expect(canvas.image[7, 4] == Color(red: 0, green: 0, blue: 255))
        #expect(canvas.image[11, 4] == .white && canvas.image[3, 8] == .white)
    }
}
