import CFreeType

/// A FreeType library and one face at one pixel size.
///
/// NOTE: each face gets its own `FT_Library`, because FreeType objects are not thread-safe and a
/// shared library would tie every `Font` to one thread. `deinit` frees the face, then the library.
final class FreeTypeFace: GlyphSource {
    private let library: FT_Library
    private let face: FT_Face
    let ascent: Int
    let descent: Int

    /// Nil when FreeType cannot open `path` as a font (missing, unreadable, not a font).
    init?(path: String, pixelSize: Int) {
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { return nil }
        var loaded = false
        // NOTE: on any failure below, the library (and with it a half-made face) is freed here.
        defer { if !loaded { FT_Done_FreeType(library) } }
        var face: FT_Face?
        guard FT_New_Face(library, path, 0, &face) == 0, let face,
              FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize)) == 0 else { return nil }
        let metrics = face.pointee.size.pointee.metrics
        self.library = library
        self.face = face
        // 26.6 fixed point; round outward so no glyph pokes out of the line box.
        ascent = (Int(metrics.ascender) + 63) >> 6
        descent = (-Int(metrics.descender) + 63) >> 6
        loaded = true
    }

    deinit {
        FT_Done_Face(face)
        FT_Done_FreeType(library)
    }

    /// The rendered glyph; a character the face lacks renders as its `.notdef` box, and a
    /// character FreeType fails to render becomes an empty glyph one space wide.
    func glyph(for character: Unicode.Scalar) -> Glyph {
        guard FT_Load_Char(face, FT_ULong(character.value), snp_ft_load_flags()) == 0 else {
            return Glyph(width: 0, height: 0, left: 0, top: 0, advance: (ascent + descent) * 16, coverage: [])
        }
        let slot = face.pointee.glyph.pointee
        let bitmap = slot.bitmap
        let width = Int(bitmap.width)
        let height = Int(bitmap.rows)
        var coverage = [UInt8](repeating: 0, count: width * height)
        if bitmap.pixel_mode == snp_ft_pixel_mode_gray(), let buffer = bitmap.buffer {
            // `pitch` is the byte step between rows, negative for bottom-up bitmaps.
            let pitch = Int(bitmap.pitch)
            let first = pitch < 0 ? -pitch * (height - 1) : 0
            for row in 0..<height {
                for column in 0..<width {
                    coverage[row * width + column] = buffer[first + row * pitch + column]
                }
            }
        }
        return Glyph(width: width, height: height, left: Int(slot.bitmap_left), top: Int(slot.bitmap_top),
                     advance: Int(slot.advance.x), coverage: coverage)
    }
}
