/// A position in canvas pixels: x to the right, y down; pixel `(i, j)` covers `[i, i+1) × [j, j+1)`,
/// so its centre is `(i + 0.5, j + 0.5)`.
public struct Point: Equatable, Sendable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// An axis-aligned rectangle in canvas pixels, `x, y` its top-left corner.
public struct Rect: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var minX: Double { x }
    public var minY: Double { y }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var center: Point { Point(x: x + width / 2, y: y + height / 2) }

    /// Whether `point` lies inside (edges included).
    public func contains(_ point: Point) -> Bool {
        point.x >= minX && point.x <= maxX && point.y >= minY && point.y <= maxY
    }
}

/// Where a text box sits relative to the point it is drawn at.
public struct TextAlignment: Equatable, Sendable {
    public enum Horizontal: Sendable { case left, center, right }
    /// Relative to the line box (`Font.lineHeight`), so texts drawn at one y share a baseline.
    public enum Vertical: Sendable { case top, center, bottom }

    public var horizontal: Horizontal
    public var vertical: Vertical

    public init(horizontal: Horizontal, vertical: Vertical) {
        self.horizontal = horizontal
        self.vertical = vertical
    }

    public static let topLeft = TextAlignment(horizontal: .left, vertical: .top)
    public static let topCenter = TextAlignment(horizontal: .center, vertical: .top)
    public static let centerLeft = TextAlignment(horizontal: .left, vertical: .center)
    public static let centerRight = TextAlignment(horizontal: .right, vertical: .center)
    public static let center = TextAlignment(horizontal: .center, vertical: .center)
}
