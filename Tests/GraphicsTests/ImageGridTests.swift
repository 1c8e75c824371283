import Engine
import Graphics
import Testing

@Suite struct ImageGridTests {
    /// Picture `k` of five 16×16 pictures: a solid grey of level 40·k with one red pixel at (3, 5).
    static func pictures() throws -> [Image] {
        try (0..<5).map { k in
            var image = try Image(width: 16, height: 16, format: .rgb,
                                  color: Color(red: UInt8(40 * k), green: UInt8(40 * k), blue: UInt8(40 * k)))
            image[3, 5] = Color(red: 255, green: 0, blue: 0)
            return image
        }
    }

    static func grid() throws -> ImageGrid {
        var grid = ImageGrid(columns: 3, scale: 8, title: "Samples at κ = 4.5")
        for (k, picture) in try pictures().enumerated() {
            grid.add(picture, caption: k == 1 ? "a very long caption that cannot possibly fit under one small picture" : "sample \(k)")
        }
        return grid
    }

    @Test func sizeFollowsTheLayoutFormula() throws {
        let grid = try ImageGridTests.grid()
        let image = try grid.render()
        try keepForInspection(image, as: "grid")
        let layout = try grid.layout()
        let captionHeight = GridLayout.captionGap + 2 * Font(pixelSize: 12).lineHeight
        let titleHeight = Font(pixelSize: 16).lineHeight + GridLayout.padding
        #expect(layout.rows == 2 && layout.columns == 3)
        #expect(layout.cellWidth == 128 && layout.cellHeight == 128)
        #expect(layout.captionHeight == captionHeight && layout.titleHeight == titleHeight)
        #expect(image.width == 3 * 128 + 4 * GridLayout.padding)
        #expect(image.height == titleHeight + 2 * (128 + captionHeight) + 3 * GridLayout.padding)
    }

    @Test func aKnownPixelOfEachPictureLandsWhereExpected() throws {
        let grid = try ImageGridTests.grid()
        let image = try grid.render()
        let layout = try grid.layout()
        for k in 0..<5 {
            let origin = layout.cellOrigin(k)
            let grey = Color(red: UInt8(40 * k), green: UInt8(40 * k), blue: UInt8(40 * k))
            // Source pixel (3, 5) becomes the 8×8 block at (24…31, 40…47).
            #expect(image[origin.x + 24, origin.y + 40] == Color(red: 255, green: 0, blue: 0))
            #expect(image[origin.x + 31, origin.y + 47] == Color(red: 255, green: 0, blue: 0))
            #expect(image[origin.x + 23, origin.y + 40] == grey)
            #expect(image[origin.x + 32, origin.y + 47] == grey)
            #expect(image[origin.x, origin.y] == grey && image[origin.x + 127, origin.y + 127] == grey)
        }
        // Row 2 starts below row 1's pictures and captions.
        #expect(layout.cellOrigin(3).y == layout.cellOrigin(0).y + 128 + layout.captionHeight + GridLayout.padding)
    }

    @Test func captionsAreDrawnUnderTheirPictureAndStayInTheirCell() throws {
        let grid = try ImageGridTests.grid()
        let image = try grid.render()
        let layout = try grid.layout()
        for k in 0..<5 {
            let origin = layout.cellOrigin(k)
            let captionBand = (x: origin.x..<(origin.x + layout.cellWidth),
                               y: (origin.y + layout.cellHeight)..<(origin.y + layout.cellHeight + layout.captionHeight))
            #expect(image.pixels(in: captionBand) { $0.isDark }.count > 10)
            // The long caption is cut: nothing dark in the gaps beside its cell.
            let gap = (x: (origin.x + layout.cellWidth)..<(origin.x + layout.cellWidth + GridLayout.padding), y: captionBand.y)
            #expect(image.pixels(in: gap) { $0.isDark }.isEmpty)
        }
    }

    @Test func batchesOfTensorsBecomeCells() throws {
        // [2, 3, 2, 2]: item 0 all -1 (black), item 1 all 1 (white) in the diffusion range.
        let values = [Float](repeating: -1, count: 12) + [Float](repeating: 1, count: 12)
        var grid = ImageGrid(columns: 4, scale: 3)
        try grid.add(batch: Tensor(values, shape: [2, 3, 2, 2]), captions: ["dark", "light"])
        let layout = try grid.layout()
        #expect(layout.columns == 2 && layout.rows == 1 && layout.cellWidth == 6)
        let image = try grid.render()
        #expect(image[layout.cellOrigin(0).x + 5, layout.cellOrigin(0).y + 5] == .black)
        #expect(throws: GraphicsError.self) {
            try grid.add(batch: Tensor(values, shape: [2, 3, 2, 2]), captions: ["1", "2", "3"])
        }
    }

    @Test func smallerPicturesAreCentredInTheirCell() throws {
        var grid = ImageGrid(columns: 2, scale: 2)
        grid.add(try Image(width: 8, height: 8, format: .rgb, color: .black))
        grid.add(try Image(width: 4, height: 2, format: .rgb, color: .black))
        let image = try grid.render()
        let layout = try grid.layout()
        let origin = layout.cellOrigin(1)
        #expect(layout.captionHeight == 0 && layout.titleHeight == 0)
        #expect(image[origin.x + 4, origin.y + 6] == .black && image[origin.x + 11, origin.y + 9] == .black)
        #expect(image[origin.x + 3, origin.y + 6] == .white && image[origin.x + 4, origin.y + 5] == .white)
    }

    @Test func anEmptyGridOrABadScaleThrows() throws {
        #expect(throws: GraphicsError.self) { try ImageGrid(columns: 2).render() }
        var grid = ImageGrid(columns: 2, scale: 0)
        grid.add(try Image(width: 2, height: 2))
        #expect(throws: GraphicsError.self) { try grid.render() }
    }
}
