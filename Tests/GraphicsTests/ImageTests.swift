import Engine
import Graphics
import Testing

@Suite struct ImageTests {
    @Test func diffusionRangeMapsMinusOneToBlackAndOneToWhiteClamped() throws {
        // [3, 1, 4]: per channel the values -1, 0, 1, and an outlier.
        let tensor = try Tensor([-1, 0, 1, 3, -1, 0, 1, -7, -1, 0, 1, .nan], shape: [3, 1, 4])
        let image = try Image(tensor: tensor)
        #expect(image.width == 4 && image.height == 1 && image.format == .rgb)
        #expect(image.pixels == [0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 0, 0])
    }

    @Test func zeroToOneRangeAndGreyTensors() throws {
        let grey = try Tensor([0, 0.5, 1, 0.2], shape: [2, 2])
        let image = try Image(tensor: grey, range: .zeroToOne)
        #expect(image.format == .rgb)
        #expect(image[1, 0] == Color(red: 128, green: 128, blue: 128))
        #expect(image[0, 1] == Color(red: 255, green: 255, blue: 255))
        #expect(try Image(tensor: grey.reshape([1, 2, 2]), range: .zeroToOne) == image)
    }

    @Test func fourChannelTensorsGiveRGBA() throws {
        let tensor = try Tensor([1, 0, 0, 0.5], shape: [4, 1, 1])
        let image = try Image(tensor: tensor, range: .zeroToOne)
        #expect(image.format == .rgba)
        #expect(image.pixels == [255, 0, 0, 128])
    }

    @Test func batchesSplitIntoOneImagePerItem() throws {
        // Item b is filled with the value b - 0.5 (diffusion range).
        let values = (0..<2).flatMap { item in [Float](repeating: Float(item) - 0.5, count: 3 * 2 * 5) }
        let images = try Image.images(fromBatch: Tensor(values, shape: [2, 3, 2, 5]))
        #expect(images.count == 2)
        #expect(images.allSatisfy { $0.width == 5 && $0.height == 2 })
        #expect(images[0][4, 1] == Color(red: 64, green: 64, blue: 64))
        #expect(images[1][4, 1] == Color(red: 191, green: 191, blue: 191))
    }

    @Test(arguments: [[5, 4, 4], [2, 2, 2, 2, 2], [4], [2, 5, 3, 3]])
    func otherShapesThrow(shape: [Int]) throws {
        let tensor = try Tensor([Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
        #expect(throws: GraphicsError.self) { try Image.images(fromBatch: tensor) }
    }

    @Test(arguments: [PixelRange.minusOneToOne, .zeroToOne])
    func tensorRoundTripIsExact(range: PixelRange) throws {
        let image = try noiseImage(width: 6, height: 3, format: .rgb, seed: 11)
        let tensor = image.tensor(range: range)
        #expect(tensor.shape == [3, 3, 6])
        #expect(try Image(tensor: tensor, range: range) == image)
    }

    @Test func planesRoundTripAndSizeChecks() throws {
        let image = try noiseImage(width: 3, height: 2, format: .rgba, seed: 4)
        #expect(try Image(planes: image.planes, channels: 4, width: 3, height: 2) == image)
        #expect(throws: GraphicsError.self) { try Image(planes: [0, 1], channels: 3, width: 1, height: 1) }
        #expect(throws: GraphicsError.self) { try Image(width: 0, height: 5) }
        #expect(throws: GraphicsError.self) { try Image(width: 2, height: 2, format: .rgb, pixels: [1, 2, 3]) }
    }

    @Test func convertingDropsOrAddsAlpha() throws {
        let image = try Image(width: 1, height: 1, format: .rgba, pixels: [1, 2, 3, 4])
        #expect(image.converted(to: .rgb).pixels == [1, 2, 3])
        #expect(image.converted(to: .rgb).converted(to: .rgba).pixels == [1, 2, 3, 255])
    }
}
