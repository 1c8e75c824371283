/// A typeface at one pixel size, rendering one line of text to an anti-aliased coverage bitmap.
///
/// Glyphs come from FreeType (`path`, DejaVu Sans by default). If the file is missing or is not
/// a font, the font falls back to a built-in 5×7 bitmap font (`isFallback` is then true) so that
/// plots still render with legible labels; nothing throws or crashes. No kerning is applied.
///
/// A `Font` caches rendered glyphs and is not thread-safe: use one per thread.
public final class Font {
    /// DejaVu Sans as Debian's `fonts-dejavu-core` installs it (Scripts/setup).
    public static let defaultPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    /// The requested size: roughly the em height in pixels.
    public let pixelSize: Int
    /// True when `path` could not be loaded and the built-in bitmap font draws instead.
    public let isFallback: Bool
    /// Pixels from the top of a line to its baseline, and from the baseline to the line's bottom.
    public var ascent: Int { source.ascent }
    public var descent: Int { source.descent }
    /// Height of every rendered line: `ascent + descent`.
    public var lineHeight: Int { source.ascent + source.descent }

    private let source: GlyphSource
    private var cache: [Unicode.Scalar: Glyph] = [:]

    /// Opens `path` at `pixelSize` (clamped to 4…512), or the fallback bitmap font when that fails.
    public init(path: String = Font.defaultPath, pixelSize: Int) {
        self.pixelSize = Swift.min(Swift.max(pixelSize, 4), 512)
        if let face = FreeTypeFace(path: path, pixelSize: self.pixelSize) {
            source = face
            isFallback = false
        } else {
            source = BitmapFont(pixelSize: self.pixelSize)
            isFallback = true
        }
    }

    /// The size `render(text)` will have: its advance width and `lineHeight`.
    public func measure(_ text: String) -> TextSize {
        let placed = layout(text)
        return TextSize(width: placed.width, height: lineHeight)
    }

    /// `text` (one line; newlines and tabs draw as spaces) as a coverage bitmap `lineHeight` tall,
    /// baseline at row `ascent`.
    public func render(_ text: String) -> TextBitmap {
        let placed = layout(text)
        var coverage = [UInt8](repeating: 0, count: placed.width * lineHeight)
        for (glyph, x) in placed.glyphs {
            for row in 0..<glyph.height {
                let y = ascent - glyph.top + row
                guard y >= 0 && y < lineHeight else { continue }
                for column in 0..<glyph.width {
                    let targetX = x + glyph.left + column
                    guard targetX >= 0 && targetX < placed.width else { continue }
                    let value = glyph.coverage[row * glyph.width + column]
                    // Neighbouring glyphs may overlap by a pixel: keep the stronger coverage.
                    coverage[y * placed.width + targetX] = Swift.max(coverage[y * placed.width + targetX], value)
                }
            }
        }
        return TextBitmap(checkedWidth: placed.width, height: lineHeight, coverage: coverage)
    }

    /// Each glyph with its pen x in the bitmap, and the bitmap width: from the leftmost ink (or
    /// the pen's start) to the rightmost ink (or the pen's end).
    private func layout(_ text: String) -> (glyphs: [(Glyph, Int)], width: Int) {
        var pen = 0  // 26.6 fixed point, so fractional advances do not accumulate rounding
        var inkLeft = 0
        var inkRight = 0
        var glyphs: [(Glyph, Int)] = []
        for scalar in text.unicodeScalars {
            let glyph = self.glyph(for: scalar.properties.isWhitespace ? " " : scalar)
            let x = (pen + 32) >> 6
            glyphs.append((glyph, x))
            if glyph.width > 0 {
                inkLeft = Swift.min(inkLeft, x + glyph.left)
                inkRight = Swift.max(inkRight, x + glyph.left + glyph.width)
            }
            pen += glyph.advance
        }
        // A first glyph reaching left of the pen ('j') shifts everything right instead of being cut.
        return (glyphs.map { ($0.0, $0.1 - inkLeft) }, Swift.max((pen + 32) >> 6, inkRight) - inkLeft)
    }

    private func glyph(for scalar: Unicode.Scalar) -> Glyph {
        if let glyph = cache[scalar] { return glyph }
        let glyph = source.glyph(for: scalar)
        cache[scalar] = glyph
        return glyph
    }
}

/// Width and height of rendered text, in pixels.
public struct TextSize: Equatable, Sendable {
    public var width: Int
    public var height: Int
}

/// Rendered text: coverage 0 (background) … 255 (ink) per pixel, `width × height`, row-major.
public struct TextBitmap: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let coverage: [UInt8]

    /// A bitmap over `width · height` coverage values, row-major.
    public init(width: Int, height: Int, coverage: [UInt8]) throws {
        guard width >= 0, height >= 0, coverage.count == width * height else {
            throw GraphicsError.invalidArgument(function: "TextBitmap",
                reason: "\(coverage.count) values do not fill \(width)×\(height)")
        }
        self.init(checkedWidth: width, height: height, coverage: coverage)
    }

    init(checkedWidth width: Int, height: Int, coverage: [UInt8]) {
        self.width = width
        self.height = height
        self.coverage = coverage
    }

    /// The bitmap turned a quarter turn counter-clockwise, so that text reads bottom to top
    /// (a y-axis label): column `x` of row `y` moves to column `y` of row `width − 1 − x`.
    public func rotatedCounterClockwise() -> TextBitmap {
        var rotated = [UInt8](repeating: 0, count: coverage.count)
        for y in 0..<height {
            for x in 0..<width {
                rotated[(width - 1 - x) * height + y] = coverage[y * width + x]
            }
        }
        return TextBitmap(checkedWidth: height, height: width, coverage: rotated)
    }
}
