/// Every way making, reading or writing a picture can fail. Nothing in this target traps on a bad
/// file or a bad argument: a missing font falls back to the built-in bitmap font, and everything
/// else is one of these, naming the file or the argument.
public enum GraphicsError: Error, Equatable, CustomStringConvertible {
    /// Nothing readable exists at `path`.
    case fileNotFound(path: String)
    /// libpng rejected the data: not a PNG, truncated or damaged. `reason` is libpng's message.
    case invalidPNG(path: String, reason: String)
    /// Writing `path` failed; the previous file there, if any, is unchanged.
    case writeFailed(path: String, reason: String)
    /// A tensor whose shape is not one of the image layouts `expected` lists.
    case unsupportedTensorShape(shape: [Int], expected: String)
    /// An argument out of range or inconsistent with another; `function` names the call.
    case invalidArgument(function: String, reason: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "no file at \(path)"
        case let .invalidPNG(path, reason):
            return "\(path) is not a readable PNG: \(reason)"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        case let .unsupportedTensorShape(shape, expected):
            return "a tensor of shape [\(shape.map(String.init).joined(separator: ", "))] is not an image (expected \(expected))"
        case let .invalidArgument(function, reason):
            return "\(function): \(reason)"
        }
    }
}
