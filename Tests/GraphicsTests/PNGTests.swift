import CPNG
import Foundation
import Graphics
import Testing

@Suite struct PNGTests {
    @Test(arguments: [Image.Format.rgb, .rgba])
    func fileRoundTripIsExact(format: Image.Format) throws {
        let image = try noiseImage(width: 37, height: 23, format: format, seed: 7)
        try withTemporaryFolder { folder in
            let path = folder + "/noise.png"
            try PNG.write(image, to: path)
            #expect(try PNG.read(path) == image)
        }
    }

    @Test func memoryRoundTripIsExactAndStartsWithTheSignature() throws {
        let image = try noiseImage(width: 5, height: 9, format: .rgba, seed: 3)
        let bytes = try PNG.encode(image)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        #expect(try PNG.decode(bytes) == image)
    }

    @Test func writeReplacesTheOldFileAndLeavesNoTemporary() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/picture.png"
            try PNG.write(try noiseImage(width: 4, height: 4, format: .rgb, seed: 1), to: path)
            let second = try noiseImage(width: 6, height: 2, format: .rgb, seed: 2)
            try PNG.write(second, to: path)
            #expect(try PNG.read(path) == second)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["picture.png"])
        }
    }

    @Test func writingIntoAMissingFolderThrows() throws {
        let image = try noiseImage(width: 2, height: 2, format: .rgb, seed: 1)
        #expect(throws: GraphicsError.self) { try PNG.write(image, to: "/nonexistent/snoopi/out.png") }
    }

    @Test func readingAMissingFileThrowsFileNotFound() {
        #expect(throws: GraphicsError.fileNotFound(path: "/nonexistent/snoopi/in.png")) {
            try PNG.read("/nonexistent/snoopi/in.png")
        }
    }

    @Test func readingTextThrowsInvalidPNG() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/notes.png"
            try "not a picture".write(toFile: path, atomically: false, encoding: .utf8)
            expectInvalidPNG { try PNG.read(path) }
        }
    }

    /// Cut inside the header, inside the signature, after IHDR, inside IDAT, and 20 bytes short.
    @Test(arguments: [0, 8, 33, 60, -20])
    func truncatedFilesThrowInvalidPNG(keep: Int) throws {
        let bytes = try PNG.encode(try noiseImage(width: 20, height: 20, format: .rgb, seed: 5))
        let cut = keep >= 0 ? Array(bytes.prefix(keep)) : Array(bytes.dropLast(-keep))
        try withTemporaryFolder { folder in
            let path = folder + "/cut.png"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(cut)))
            expectInvalidPNG { try PNG.read(path) }
        }
    }

    @Test func aFileLackingOnlyItsEndChunkStillReads() throws {
        // Lenient like most decoders: every pixel arrived, only the 12-byte IEND trailer is missing.
        let image = try noiseImage(width: 20, height: 20, format: .rgb, seed: 5)
        #expect(try PNG.decode(Array(PNG.encode(image).dropLast(12))) == image)
    }

    @Test func aDamagedImageChunkThrowsInvalidPNG() throws {
        var bytes = try PNG.encode(try noiseImage(width: 20, height: 20, format: .rgb, seed: 5))
        // The IDAT data starts after the signature (8), IHDR (25) and IDAT's length and type (8).
        for index in 45..<60 { bytes[index] ^= 0x5a }
        expectInvalidPNG { try PNG.decode(bytes) }
    }

    @Test func greyFilesReadAsRGB() throws {
        // A 2×1 grey PNG made directly with libpng: the reader must widen it to RGB.
        var control = png_image()
        control.version = snp_png_image_version()
        control.width = 2
        control.height = 1
        control.format = 0  // PNG_FORMAT_GRAY
        let grey: [UInt8] = [10, 200]
        var size: png_alloc_size_t = 0
        #expect(png_image_write_to_memory(&control, nil, &size, 0, grey, 2, nil) != 0)
        var bytes = [UInt8](repeating: 0, count: Int(size))
        #expect(png_image_write_to_memory(&control, &bytes, &size, 0, grey, 2, nil) != 0)
        let image = try PNG.decode(Array(bytes.prefix(Int(size))))
        #expect(image.format == .rgb)
        #expect(image.pixels == [10, 10, 10, 200, 200, 200])
    }

    private func expectInvalidPNG(_ body: () throws -> Image, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("expected GraphicsError.invalidPNG, got a picture", sourceLocation: sourceLocation)
        } catch GraphicsError.invalidPNG(_, let reason) {
            #expect(!reason.isEmpty, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected GraphicsError.invalidPNG, got \(error)", sourceLocation: sourceLocation)
        }
    }
}
