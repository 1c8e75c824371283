/// An sRGB colour with an opacity, for drawing on a `Canvas`.
public struct Color: Equatable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    /// 0 (invisible) … 1 (covers what is below); drawing blends `source·opacity + below·(1 − opacity)`.
    public var opacity: Float

    public init(red: UInt8, green: UInt8, blue: UInt8, opacity: Float = 1) {
        self.red = red
        self.green = green
        self.blue = blue
        self.opacity = Swift.min(Swift.max(opacity, 0), 1)
    }

    /// `Color(hex: 0x1f77b4)` is matplotlib's first colour.
    public init(hex: UInt32, opacity: Float = 1) {
        self.init(red: UInt8((hex >> 16) & 0xff), green: UInt8((hex >> 8) & 0xff), blue: UInt8(hex & 0xff),
                  opacity: opacity)
    }

    /// The same colour with another opacity.
    public func withOpacity(_ opacity: Float) -> Color {
        Color(red: red, green: green, blue: blue, opacity: opacity)
    }

    public static let white = Color(hex: 0xffffff)
    public static let black = Color(hex: 0x000000)
    /// Text and axis lines: near-black reads softer than pure black.
    public static let ink = Color(hex: 0x262626)
    /// Grid lines and frames.
    public static let lightGray = Color(hex: 0xe5e5e5)

    /// matplotlib's `tab10`, the palette series colours cycle through.
    public static let tab10: [Color] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
        0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
    ].map { Color(hex: $0) }
}
