import Engine
import Foundation

/// The element types of the safetensors format that this reader converts.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }

    /// True for the integer types and BOOL, which `readIntegers` returns exactly.
    public var isInteger: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: return false
        default: return true
        }
    }
}

/// One tensor's header entry: dtype, shape and byte range within the data section.
public struct SafetensorsEntry: Equatable, Sendable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    /// Byte offsets relative to the start of the data (right after the header).
    public var byteRange: Range<Int>
}

/// A safetensors file (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
/// header (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
/// "__metadata__": {...}}`), then the raw little-endian tensor data. Reads need no Python.
///
/// Opening reads and checks the whole header; tensors are then read one at a time with `pread`,
/// so a large file is never held in memory at once.
///
///     let file = try SafetensorsFile(path: "model.safetensors")
///     let weight = try file.readTensor("text_model.embeddings.token_embedding.weight")
public final class SafetensorsFile {
    /// The path as given; every error names it.
    public let path: String
    /// The `__metadata__` strings (empty if none).
    public let metadata: [String: String]
    /// Every tensor, in the order of its data in the file.
    public let entries: [SafetensorsEntry]
    private let byName: [String: Int]
    private let descriptor: Int32
    /// File offset of the data section: 8 + header length.
    private let dataStart: Int

    /// The format's limit on the header length (the reference reader refuses longer headers).
    static let maximumHeaderLength = 100_000_000

    /// Opens `path` and validates its header.
    /// - Throws: `.fileNotFound`; `.corruptFile` (shorter than 8 bytes, header length past the
    ///   end, tensor data past the end: truncated); `.invalidSafetensors` (bad JSON, bad entry,
    ///   overlapping tensors, size not matching the shape); `.unsupportedType` (unknown dtype).
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw CheckpointError.fileNotFound(path: path)
        }
        descriptor = open(path, O_RDONLY)
        FileAccessLog.read(path)
        guard descriptor >= 0 else { throw CheckpointError.readFailed(path: path, name: "header", reason: errnoText()) }
        do {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                throw CheckpointError.readFailed(path: path, name: "header", reason: errnoText())
            }
            let fileSize = Int(status.st_size)
            guard fileSize >= 8 else {
                throw CheckpointError.corruptFile(path: path, reason: "\(fileSize) bytes, shorter than the 8-byte header length")
            }
            var lengthBytes = [UInt8](repeating: 0, count: 8)
            try SafetensorsFile.readExactly(descriptor, into: &lengthBytes, count: 8, at: 0, path: path, name: "header length")
            let headerLength = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard headerLength <= UInt64(SafetensorsFile.maximumHeaderLength) else {
                throw CheckpointError.invalidSafetensors(path: path,
                    reason: "header length \(headerLength) exceeds the format's limit of \(SafetensorsFile.maximumHeaderLength) bytes")
            }
            guard Int(headerLength) <= fileSize - 8 else {
                throw CheckpointError.corruptFile(path: path,
                    reason: "the header length \(headerLength) runs past the end of the \(fileSize)-byte file")
            }
            var header = [UInt8](repeating: 0, count: Int(headerLength))
            try SafetensorsFile.readExactly(descriptor, into: &header, count: header.count, at: 8, path: path, name: "header")
            dataStart = 8 + Int(headerLength)
            let parsed = try SafetensorsHeader(json: header, dataSize: fileSize - dataStart, path: path)
            (metadata, entries) = (parsed.metadata, parsed.entries)
            byName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// The names of every tensor, in data order.
    public var names: [String] { entries.map(\.name) }

    /// The header entry of tensor `name`.
    public func entry(_ name: String) throws -> SafetensorsEntry {
        guard let index = byName[name] else { throw CheckpointError.notFound(path: path, name: name) }
        return entries[index]
    }

    /// Reads tensor `name` as Float32 (every dtype converts; BOOL gives 0 and 1).
    public func readTensor(_ name: String) throws -> Tensor {
        let entry = try self.entry(name)
        let count = entry.shape.reduce(1, *)
        let tensor = Tensor(storage: Storage(count: count), shape: entry.shape)
        let output = tensor.storage.pointer
        if entry.dtype == .F32 {
            // NOTE: safetensors data is little-endian, as is every machine Snoopi runs on.
            try SafetensorsFile.readExactly(descriptor, into: output, count: entry.byteRange.count,
                                            at: dataStart + entry.byteRange.lowerBound, path: path, name: name)
            return tensor
        }
        let bytes = try readBytes(entry)
        bytes.withUnsafeBytes { raw in
            switch entry.dtype {
            case .F64: for i in 0..<count { output[i] = Float(Double(bitPattern: raw.loadLE(UInt64.self, i))) }
            case .F16, .BF16:
                for i in 0..<count {
                    let bits = raw.loadLE(UInt16.self, i)
                    output[i] = entry.dtype == .F16 ? HalfPrecision.float(halfBits: bits) : HalfPrecision.float(bfloat16Bits: bits)
                }
            case .U64: for i in 0..<count { output[i] = Float(raw.loadLE(UInt64.self, i)) }
            default:
                for (i, value) in SafetensorsFile.integers(raw, dtype: entry.dtype, count: count).enumerated() { output[i] = Float(value) }
            }
        }
        return tensor
    }

    /// Reads an integer or BOOL tensor exactly, flattened (token ids, position ids).
    /// - Throws: `.typeMismatch` for float tensors, `.readFailed` for U64 values above `Int64.max`.
    public func readIntegers(_ name: String) throws -> [Int64] {
        let entry = try self.entry(name)
        guard entry.dtype.isInteger else {
            throw CheckpointError.typeMismatch(path: path, name: name, expected: "integers", actual: entry.dtype.rawValue)
        }
        let count = entry.shape.reduce(1, *)
        let bytes = try readBytes(entry)
        if entry.dtype == .U64 {
            return try bytes.withUnsafeBytes { raw in
                try (0..<count).map { i in
                    let value = raw.loadLE(UInt64.self, i)
                    guard let exact = Int64(exactly: value) else {
                        throw CheckpointError.readFailed(path: path, name: name, reason: "U64 value \(value) does not fit Int64")
                    }
                    return exact
                }
            }
        }
        return bytes.withUnsafeBytes { SafetensorsFile.integers($0, dtype: entry.dtype, count: count) }
    }

    /// Every tensor (or those whose name matches `only`), as Float32, in data order.
    public func readTensors(only: NameGlob? = nil) throws -> NamedTensors {
        var tensors = NamedTensors()
        for entry in entries where only?.matches(entry.name) ?? true {
            tensors[entry.name] = try readTensor(entry.name)
        }
        return tensors
    }

    // MARK: - Bytes

    private func readBytes(_ entry: SafetensorsEntry) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: entry.byteRange.count)
        try SafetensorsFile.readExactly(descriptor, into: &bytes, count: bytes.count,
                                        at: dataStart + entry.byteRange.lowerBound, path: path, name: entry.name)
        return bytes
    }

    /// Signed and unsigned integers up to 32 bits, I64 and BOOL, widened to Int64.
    private static func integers(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType, count: Int) -> [Int64] {
        (0..<count).map { i -> Int64 in
            switch dtype {
            case .I64: return Int64(bitPattern: raw.loadLE(UInt64.self, i))
            case .I32: return Int64(Int32(bitPattern: raw.loadLE(UInt32.self, i)))
            case .I16: return Int64(Int16(bitPattern: raw.loadLE(UInt16.self, i)))
            case .I8: return Int64(Int8(bitPattern: raw[i]))
            case .U64: return Int64(bitPattern: raw.loadLE(UInt64.self, i))
            case .U32: return Int64(raw.loadLE(UInt32.self, i))
            case .U16: return Int64(raw.loadLE(UInt16.self, i))
            case .U8: return Int64(raw[i])
            case .BOOL: return raw[i] == 0 ? 0 : 1
            case .F64, .F32, .F16, .BF16: preconditionFailure("float dtype \(dtype) passed as integers")
            }
        }
    }

    /// `pread` until `count` bytes arrived; a short file is a `.corruptFile`.
    static func readExactly(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int,
                            path: String, name: String) throws {
        var done = 0
        while done < count {
            let got = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.readFailed(path: path, name: name, reason: errnoText())
            }
            guard got > 0 else {
                throw CheckpointError.corruptFile(path: path, reason: "the file ends inside '\(name)'")
            }
            done += got
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Element `index` of a packed little-endian array of `T` (unaligned loads are fine).
    @inline(__always) func loadLE<T: FixedWidthInteger>(_ type: T.Type, _ index: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }
}
