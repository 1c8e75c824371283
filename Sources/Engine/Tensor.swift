import Foundation

/// An n-dimensional Float32 array with optional reverse-mode gradient, like `torch.Tensor`.
///
/// A `Tensor` is a reference type: operations return new tensors and never change their inputs;
/// the data of a tensor changes only through the explicit in-place calls (`assign`, the
/// optimizers), and then every holder of that tensor sees the change — as in PyTorch.
/// Storage is always contiguous and row-major. `reshape` and `detach` share storage.
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    /// Leaves with `requiresGrad` collect `grad` in `backward()`; op outputs carry a `gradNode`.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf after `backward()`, same shape as the tensor.
    public var grad: Tensor?
    /// The op that made this tensor and how to push a gradient through it (nil for leaves).
    var gradNode: GradNode?

    public init(storage: Storage, shape: [Int], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == storage.count, "storage does not match shape")
        self.storage = storage
        self.shape = shape
        self.requiresGrad = requiresGrad
    }

    /// Uninitialised tensor, for kernels that write every element.
    init(uninitializedShape shape: [Int]) {
        self.shape = shape
        self.storage = Storage(count: shape.reduce(1, *))
        self.requiresGrad = false
    }

    /// A tensor holding `scalars` in row-major order.
    public convenience init(_ scalars: [Float], shape: [Int]) throws {
        try Tensor.checkShape(shape, op: "tensor")
        guard shape.reduce(1, *) == scalars.count else {
            throw EngineError.invalidArgument(op: "tensor",
                reason: "\(scalars.count) values do not fill shape \(shapeString(shape))")
        }
        let storage = Storage(count: scalars.count)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: scalars.count) }
        self.init(storage: storage, shape: shape)
    }

    /// A 1-d tensor of `scalars`.
    public convenience init(_ scalars: [Float]) {
        try! self.init(scalars, shape: [scalars.count])
    }

    /// A 0-d tensor holding one number.
    public convenience init(scalar: Float) {
        let storage = Storage(repeating: scalar, count: 1)
        self.init(storage: storage, shape: [])
    }

    // MARK: - Basic properties

    public var rank: Int { shape.count }
    public var count: Int { storage.count }
    /// Row-major strides, in elements.
    public var strides: [Int] { Tensor.contiguousStrides(shape) }
    public var isScalar: Bool { storage.count == 1 }

    /// The elements as a Swift array (a copy), row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single element of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw EngineError.notAScalar(op: "item", shape: shape) }
        return storage.pointer[0]
    }

    /// The element at a full multi-index (negative indices count from the end).
    public func scalar(at index: [Int]) throws -> Float {
        guard index.count == rank else {
            throw EngineError.invalidArgument(op: "scalar(at:)",
                reason: "index has \(index.count) entries for a tensor of rank \(rank) \(shapeString(shape))")
        }
        var offset = 0
        for (axis, i) in index.enumerated() {
            let n = shape[axis]
            let j = i < 0 ? i + n : i
            guard j >= 0 && j < n else {
                throw EngineError.invalidArgument(op: "scalar(at:)",
                    reason: "index \(i) is out of range for axis \(axis) of size \(n)")
            }
            offset = offset * n + j
        }
        return storage.pointer[offset]
    }

    /// Read-only access to the elements.
    @inlinable public func withBuffer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The first element that is NaN or ±∞ (its flat index and value), or nil when all are finite:
    /// how trainers and loaders name what went non-finite.
    public func firstNonFinite() -> (index: Int, value: Float)? {
        withBuffer { buffer in buffer.firstIndex { !$0.isFinite }.map { ($0, buffer[$0]) } }
    }

    /// In-place write access. NOTE: bypasses autodiff, every holder of this tensor sees the change.
    @inlinable public func withMutableBuffer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Overwrites this tensor's elements with `other`'s (same shape). Outside autodiff.
    public func assign(_ other: Tensor) throws {
        guard other.shape == shape else {
            throw EngineError.shapeMismatch(op: "assign", shapes: [shape, other.shape], reason: "shapes differ")
        }
        if other.storage !== storage { storage.pointer.update(from: other.storage.pointer, count: count) }
    }

    /// A copy with its own storage and no gradient history.
    public func copy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        out.storage.pointer.update(from: storage.pointer, count: count)
        return out
    }

    // MARK: - Shape helpers

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    static func checkShape(_ shape: [Int], op: String) throws {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw EngineError.invalidArgument(op: op, reason: "negative dimension \(bad) in shape \(shapeString(shape))")
        }
    }

    /// Resolves a possibly negative axis against a rank.
    static func normalizeAxis(_ axis: Int, rank: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < Swift.max(rank, 1) else {
            throw EngineError.invalidArgument(op: op, reason: "axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }
}

extension Tensor: CustomStringConvertible {
    /// `Tensor[2,3] [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]`, eliding the middle of long axes.
    public var description: String {
        var text = "Tensor\(shapeString(shape))"
        if requiresGrad { text += " requiresGrad" } else if gradNode != nil { text += " (grad)" }
        return text + " " + Tensor.format(storage.pointer, shape: shape[...], strides: strides[...])
    }

    private static func format(_ p: UnsafeMutablePointer<Float>, shape: ArraySlice<Int>, strides: ArraySlice<Int>) -> String {
        guard let n = shape.first else { return formatNumber(p[0]) }
        let edge = 3
        let indices = n <= 2 * edge ? Array(0..<n) : Array(0..<edge) + [-1] + Array((n - edge)..<n)
        let parts = indices.map { i -> String in
            i < 0 ? "..." : format(p + i * strides.first!, shape: shape.dropFirst(), strides: strides.dropFirst())
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    static func formatNumber(_ x: Float) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        let a = Swift.abs(x)
        if a != 0 && (a < 1e-3 || a >= 1e5) { return String(format: "%.4e", Double(x)) }
        return String(format: "%.4f", Double(x))
    }
}
