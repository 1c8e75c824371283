/// An 8-bit sRGB picture, RGB or RGBA, `width × height`, top row first.
///
/// Samples are interleaved (`r g b` or `r g b a` per pixel) in `pixels`, row-major. Float data
/// enters through `init(planes:…)` (planar `[channels, height, width]` in [0, 1]) or from an engine
/// tensor (`Image+Tensor.swift`) and is clamped and rounded to 8 bits.
public struct Image: Equatable, Sendable {
    /// The sample layout of one pixel.
    public enum Format: Int, Sendable {
        case rgb = 3
        case rgba = 4

        /// Samples per pixel.
        public var channels: Int { rawValue }
    }

    public let width: Int
    public let height: Int
    public let format: Format
    /// `height · width · format.channels` samples, interleaved, row-major, top row first.
    public var pixels: [UInt8]

    /// An image over existing samples; `pixels.count` must be `width · height · channels`.
    public init(width: Int, height: Int, format: Format, pixels: [UInt8]) throws {
        try Image.checkSize(width: width, height: height, function: "Image")
        guard pixels.count == width * height * format.channels else {
            throw GraphicsError.invalidArgument(function: "Image",
                reason: "\(pixels.count) samples do not fill \(width)×\(height) \(format)")
        }
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// An image of one colour (its opacity becomes the alpha of an RGBA image).
    public init(width: Int, height: Int, format: Format = .rgb, color: Color = .white) throws {
        try Image.checkSize(width: width, height: height, function: "Image")
        let pixel = [color.red, color.green, color.blue, UInt8((color.opacity * 255).rounded())].prefix(format.channels)
        var pixels = [UInt8](repeating: 0, count: width * height * format.channels)
        for (channel, value) in pixel.enumerated() {
            for index in stride(from: channel, to: pixels.count, by: format.channels) { pixels[index] = value }
        }
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// An image from planar floats `[channels, height, width]` in [0, 1]: 1 channel (grey, stored
    /// as RGB), 3 (RGB) or 4 (RGBA). Values are clamped to [0, 1]; NaN becomes 0.
    public init(planes: [Float], channels: Int, width: Int, height: Int) throws {
        try Image.checkSize(width: width, height: height, function: "Image(planes:)")
        guard [1, 3, 4].contains(channels) else {
            throw GraphicsError.invalidArgument(function: "Image(planes:)",
                reason: "\(channels) channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)")
        }
        let plane = width * height
        guard planes.count == channels * plane else {
            throw GraphicsError.invalidArgument(function: "Image(planes:)",
                reason: "\(planes.count) values do not fill \(channels)×\(height)×\(width)")
        }
        let format: Format = channels == 4 ? .rgba : .rgb
        var pixels = [UInt8](repeating: 0, count: plane * format.channels)
        for index in 0..<plane {
            for channel in 0..<format.channels {
                let source = channels == 1 ? index : channel * plane + index
                pixels[index * format.channels + channel] = Image.quantize(planes[source])
            }
        }
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// Planar floats `[channels, height, width]` in [0, 1], `k / 255` for the sample `k`.
    public var planes: [Float] {
        let channels = format.channels
        let plane = width * height
        var out = [Float](repeating: 0, count: plane * channels)
        for index in 0..<plane {
            for channel in 0..<channels {
                out[channel * plane + index] = Float(pixels[index * channels + channel]) / 255
            }
        }
        return out
    }

    /// The pixel at column `x`, row `y` (an RGB pixel is opaque).
    public subscript(x: Int, y: Int) -> Color {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
            let base = (y * width + x) * format.channels
            let opacity = format == .rgba ? Float(pixels[base + 3]) / 255 : 1
            return Color(red: pixels[base], green: pixels[base + 1], blue: pixels[base + 2], opacity: opacity)
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
            let base = (y * width + x) * format.channels
            pixels[base] = newValue.red
            pixels[base + 1] = newValue.green
            pixels[base + 2] = newValue.blue
            if format == .rgba { pixels[base + 3] = UInt8((newValue.opacity * 255).rounded()) }
        }
    }

    /// The same picture with its alpha dropped (`.rgb`) or made opaque (`.rgba`).
    public func converted(to format: Format) -> Image {
        guard format != self.format else { return self }
        var out = [UInt8](repeating: 255, count: width * height * format.channels)
        for index in 0..<(width * height) {
            for channel in 0..<3 {
                out[index * format.channels + channel] = pixels[index * self.format.channels + channel]
            }
        }
        return Image(checkedWidth: width, height: height, format: format, pixels: out)
    }

    /// For callers that already validated the size and made `pixels` to match.
    init(checkedWidth width: Int, height: Int, format: Format, pixels: [UInt8]) {
        precondition(pixels.count == width * height * format.channels, "pixels do not match \(width)×\(height) \(format)")
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// `round(clamp(value, 0, 1) · 255)`, NaN as 0.
    static func quantize(_ value: Float) -> UInt8 {
        guard !value.isNaN else { return 0 }
        return UInt8((Swift.min(Swift.max(value, 0), 1) * 255).rounded())
    }

    static func checkSize(width: Int, height: Int, function: String) throws {
        guard width > 0, height > 0 else {
            throw GraphicsError.invalidArgument(function: function, reason: "size \(width)×\(height) is empty")
        }
        guard width <= maximumSide, height <= maximumSide else {
            throw GraphicsError.invalidArgument(function: function,
                reason: "size \(width)×\(height) exceeds \(maximumSide) pixels a side")
        }
    }

    /// libpng's own default limit on either side (`PNG_USER_WIDTH_MAX`); keeps row strides in Int32.
    static let maximumSide = 1_000_000
}
