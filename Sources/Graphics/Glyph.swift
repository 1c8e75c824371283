/// One rendered character: a coverage bitmap placed relative to the pen on the baseline.
struct Glyph {
    /// Bitmap size in pixels.
    let width: Int
    let height: Int
    /// Offset of the bitmap's left column from the pen position (may be negative).
    let left: Int
    /// Rows of the bitmap above the baseline (its top row is `top` pixels above the baseline).
    let top: Int
    /// Pen advance in 1/64 pixel (FreeType's 26.6 fixed point).
    let advance: Int
    /// `width · height` coverage values, 0 (none) … 255 (full), row-major.
    let coverage: [UInt8]
}

/// Where glyphs come from: a FreeType face or the built-in bitmap font.
protocol GlyphSource: AnyObject {
    /// Pixels from the baseline up to the top of the tallest glyphs, and down to the lowest.
    var ascent: Int { get }
    var descent: Int { get }
    func glyph(for character: Unicode.Scalar) -> Glyph
}
