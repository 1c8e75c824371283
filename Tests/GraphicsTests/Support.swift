import Foundation
import Graphics
import Testing

/// Runs `body` with a fresh empty folder that is removed afterwards.
func withTemporaryFolder<R>(_ body: (String) throws -> R) throws -> R {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("graphics-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try body(folder)
}

/// With `SNOOPI_GRAPHICS_SAMPLES=/some/folder` in the environment, rendering tests also write
/// their pictures there, to look at.
func keepForInspection(_ image: Image, as name: String) throws {
    guard let folder = ProcessInfo.processInfo.environment["SNOOPI_GRAPHICS_SAMPLES"] else { return }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try PNG.write(image, to: folder + "/" + name + ".png")
}

/// A picture of deterministic pseudo-random samples.
func noiseImage(width: Int, height: Int, format: Image.Format, seed: UInt64) throws -> Image {
    var state = seed
    let pixels = (0..<(width * height * format.channels)).map { _ -> UInt8 in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
    return try Image(width: width, height: height, format: format, pixels: pixels)
}

extension Image {
    /// Pixels (x, y) in `region` for which `predicate` holds.
    func pixels(in region: (x: Range<Int>, y: Range<Int>), where predicate: (Color) -> Bool) -> [(x: Int, y: Int)] {
        var found: [(x: Int, y: Int)] = []
        for y in region.y.clamped(to: 0..<height) {
            for x in region.x.clamped(to: 0..<width) where predicate(self[x, y]) { found.append((x, y)) }
        }
        return found
    }

    var everywhere: (x: Range<Int>, y: Range<Int>) { (0..<width, 0..<height) }

    /// How many different colours the picture uses.
    var distinctColorCount: Int {
        var colors = Set<Int>()
        for base in stride(from: 0, to: pixels.count, by: format.channels) {
            let red = Int(pixels[base]) << 16
            let green = Int(pixels[base + 1]) << 8
            colors.insert(red | green | Int(pixels[base + 2]))
        }
        return colors.count
    }
}

extension Color {
    /// Text-dark: all three channels well below mid-grey.
    var isDark: Bool { Int(red) + Int(green) + Int(blue) < 300 }
    /// Same red, green and blue (opacity ignored).
    func sameRGB(_ other: Color) -> Bool { red == other.red && green == other.green && blue == other.blue }
}

/// A path where no font file exists, to force the built-in bitmap font.
let missingFontPath = "/nonexistent/snoopi-tests/NoSuchFont.ttf"
let dejaVuInstalled = FileManager.default.fileExists(atPath: Font.defaultPath)
