import Engine

/// How an engine tensor's values map to pixel intensity.
public enum PixelRange: Sendable {
    /// [-1, 1], the diffusion convention: `x0` from a sampler or a VAE decoder.
    case minusOneToOne
    /// [0, 1].
    case zeroToOne

    /// A tensor value as a [0, 1] intensity (not yet clamped).
    func unit(_ value: Float) -> Float {
        switch self {
        case .minusOneToOne: return (value + 1) / 2
        case .zeroToOne: return value
        }
    }

    /// A [0, 1] intensity as a tensor value.
    func value(_ unit: Float) -> Float {
        switch self {
        case .minusOneToOne: return unit * 2 - 1
        case .zeroToOne: return unit
        }
    }
}

extension Image {
    static let tensorLayouts = "[3, H, W] (RGB), [4, H, W] (RGBA), [1, H, W] or [H, W] (grey)"

    /// An image from one picture tensor: `[3, H, W]` (RGB), `[4, H, W]` (RGBA), `[1, H, W]` or
    /// `[H, W]` (grey, stored as RGB). Values outside `range` are clamped; NaN becomes black.
    public init(tensor: Tensor, range: PixelRange = .minusOneToOne) throws {
        let shape = tensor.shape
        let channels: Int
        switch shape.count {
        case 2: channels = 1
        case 3 where [1, 3, 4].contains(shape[0]): channels = shape[0]
        default: throw GraphicsError.unsupportedTensorShape(shape: shape, expected: Image.tensorLayouts)
        }
        let unit = tensor.scalars.map(range.unit)
        try self.init(planes: unit, channels: channels, width: shape[shape.count - 1], height: shape[shape.count - 2])
    }

    /// One image per item of a batch `[B, C, H, W]` (C = 1, 3 or 4); a single picture tensor
    /// (`[C, H, W]` or `[H, W]`) gives one image.
    public static func images(fromBatch tensor: Tensor, range: PixelRange = .minusOneToOne) throws -> [Image] {
        let shape = tensor.shape
        guard shape.count == 4 else { return [try Image(tensor: tensor, range: range)] }
        guard [1, 3, 4].contains(shape[1]) else {
            throw GraphicsError.unsupportedTensorShape(shape: shape, expected: "[B, C, H, W] with C = 1, 3 or 4")
        }
        let itemCount = shape[1] * shape[2] * shape[3]
        let scalars = tensor.scalars
        return try (0..<shape[0]).map { item in
            let unit = scalars[(item * itemCount)..<((item + 1) * itemCount)].map(range.unit)
            return try Image(planes: unit, channels: shape[1], width: shape[3], height: shape[2])
        }
    }

    /// The picture as a tensor `[channels, height, width]` with values in `range`.
    public func tensor(range: PixelRange = .minusOneToOne) -> Tensor {
        let values = planes.map(range.value)
        let storage = Storage(count: values.count)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
        return Tensor(storage: storage, shape: [format.channels, height, width])
    }
}
