/// What one image of the shapes world shows: the ground truth every metric is measured against.
public struct ShapeAttributes: Hashable, Sendable, CustomStringConvertible {
    public enum Shape: String, CaseIterable, Sendable { case circle, square, triangle, diamond, cross }
    public enum Colour: String, CaseIterable, Sendable { case red, orange, yellow, green, cyan, blue, purple, pink }
    public enum Size: String, CaseIterable, Sendable { case small, large }
    public enum Position: String, CaseIterable, Sendable { case center, left, right, top, bottom }
    public enum Background: String, CaseIterable, Sendable { case white, black, gray }

    public var shape: Shape
    public var colour: Colour
    public var size: Size
    public var position: Position
    public var background: Background

    public init(shape: Shape, colour: Colour, size: Size, position: Position, background: Background) {
        (self.shape, self.colour, self.size, self.position, self.background) = (shape, colour, size, position, background)
    }

    public var description: String {
        "\(size.rawValue) \(colour.rawValue) \(shape.rawValue) at \(position.rawValue) on \(background.rawValue)"
    }

    /// Every combination (5 · 8 · 2 · 5 · 3 = 1,200).
    public static var all: [ShapeAttributes] {
        Shape.allCases.flatMap { s in Colour.allCases.flatMap { c in Size.allCases.flatMap { z in
            Position.allCases.flatMap { p in Background.allCases.map { ShapeAttributes(shape: s, colour: c, size: z, position: p, background: $0) } } } } }
    }

    /// The attribute names a caption may mention, by kind (for negative prompts like "red").
    public enum Kind: String, CaseIterable, Sendable { case shape, colour, size, position, background }

    /// The value of one attribute kind as a word.
    public func value(of kind: Kind) -> String {
        switch kind {
        case .shape: return shape.rawValue
        case .colour: return colour.rawValue
        case .size: return size.rawValue
        case .position: return position.rawValue
        case .background: return background.rawValue
        }
    }
}

/// RGB in [0, 1] of each colour.
extension ShapeAttributes.Colour {
    public var rgb: (Float, Float, Float) {
        switch self {
        case .red: return (0.90, 0.10, 0.10)
        case .orange: return (1.00, 0.55, 0.00)
        case .yellow: return (0.95, 0.90, 0.10)
        case .green: return (0.10, 0.70, 0.20)
        case .cyan: return (0.10, 0.85, 0.90)
        case .blue: return (0.10, 0.25, 0.90)
        case .purple: return (0.55, 0.15, 0.75)
        case .pink: return (1.00, 0.50, 0.75)
        }
    }
}

extension ShapeAttributes.Background {
    public var rgb: (Float, Float, Float) {
        switch self {
        case .white: return (0.97, 0.97, 0.97)
        case .black: return (0.05, 0.05, 0.05)
        case .gray: return (0.50, 0.50, 0.50)
        }
    }
}
