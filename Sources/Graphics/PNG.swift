import CPNG
import Engine
import Foundation

/// PNG files through libpng's simplified API (`png_image_*`), 8-bit sRGB RGB or RGBA.
///
/// NOTE: libpng reports errors by `longjmp`, which must never cross Swift frames. The simplified
/// API catches its own `longjmp` (`png_safe_execute`) and returns 0 with a message in the
/// `png_image`, so no error path here unwinds through Swift; do not mix in `png_create_read_struct`
/// calls without a C wrapper that owns the `setjmp`.
public enum PNG {
    /// A decoded picture larger than this many bytes is refused before allocating it, so that a
    /// damaged or hostile header cannot ask for terabytes.
    public static let maximumDecodedBytes = 1 << 30

    /// Writes `image` to `path` atomically: the PNG goes to a temporary file in the same folder,
    /// is flushed, and is renamed over `path`, so a crash never leaves a half-written picture.
    public static func write(_ image: Image, to path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try encode(image)
        } catch GraphicsError.writeFailed(_, let reason) {
            throw GraphicsError.writeFailed(path: path, reason: reason)
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// Reads the PNG at `path`. Grey and palette files come back as RGB, files with transparency
    /// (an alpha channel or `tRNS`) as RGBA, 16-bit files reduced to 8 bits.
    public static func read(_ path: String) throws -> Image {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
              let data = FileManager.default.contents(atPath: path) else {
            throw GraphicsError.fileNotFound(path: path)
        }
        FileAccessLog.read(path)
        return try decode([UInt8](data), name: path)
    }

    /// The PNG file bytes of `image` (for embedding, e.g. base64 in a notebook).
    public static func encode(_ image: Image) throws -> [UInt8] {
        var control = png_image()
        control.version = snp_png_image_version()
        control.width = png_uint_32(image.width)
        control.height = png_uint_32(image.height)
        control.format = image.format == .rgba ? snp_png_format_rgba() : snp_png_format_rgb()
        let stride = png_int_32(image.width * image.format.channels)
        return try image.pixels.withUnsafeBytes { pixels -> [UInt8] in
            // First call: no buffer, libpng only reports the size it needs.
            var size: png_alloc_size_t = 0
            guard png_image_write_to_memory(&control, nil, &size, 0, pixels.baseAddress, stride, nil) != 0 else {
                throw GraphicsError.writeFailed(path: "<memory>", reason: message(of: &control))
            }
            var out = [UInt8](repeating: 0, count: Int(size))
            let written = out.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&control, buffer.baseAddress, &size, 0, pixels.baseAddress, stride, nil)
            }
            guard written != 0 else { throw GraphicsError.writeFailed(path: "<memory>", reason: message(of: &control)) }
            out.removeLast(out.count - Int(size))
            return out
        }
    }

    /// Decodes PNG file bytes; `name` labels errors (a path, or `<memory>`). Data cut anywhere
    /// before the last pixel row, or damaged (bad CRC, bad compressed data), throws `invalidPNG`;
    /// a file missing only its 12-byte `IEND` trailer is accepted, as most decoders do.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>") throws -> Image {
        var control = png_image()
        control.version = snp_png_image_version()
        // NOTE: libpng keeps a pointer to `bytes` from begin_read until finish_read (or
        // png_image_free), so both calls stay inside this one closure.
        return try bytes.withUnsafeBytes { memory -> Image in
            guard png_image_begin_read_from_memory(&control, memory.baseAddress, memory.count) != 0 else {
                throw GraphicsError.invalidPNG(path: name, reason: message(of: &control))
            }
            // From here libpng holds memory in `control`: every exit must finish or free it.
            let format: Image.Format = snp_png_format_has_alpha(control.format) != 0 ? .rgba : .rgb
            let width = Int(control.width)
            let height = Int(control.height)
            guard width * height * format.channels <= maximumDecodedBytes else {
                png_image_free(&control)
                throw GraphicsError.invalidPNG(path: name,
                    reason: "\(width)×\(height) pixels exceed the \(maximumDecodedBytes)-byte limit")
            }
            control.format = format == .rgba ? snp_png_format_rgba() : snp_png_format_rgb()
            var pixels = [UInt8](repeating: 0, count: width * height * format.channels)
            let finished = pixels.withUnsafeMutableBytes { buffer in
                // finish_read frees the libpng state whether it succeeds or not.
                png_image_finish_read(&control, nil, buffer.baseAddress, png_int_32(width * format.channels), nil)
            }
            guard finished != 0 else { throw GraphicsError.invalidPNG(path: name, reason: message(of: &control)) }
            return Image(checkedWidth: width, height: height, format: format, pixels: pixels)
        }
    }

    private static func message(of control: inout png_image) -> String {
        let text = String(cString: snp_png_image_message(&control))
        return text.isEmpty ? "libpng failed without a message" : text
    }
}
