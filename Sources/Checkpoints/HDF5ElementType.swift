import CHDF5

/// The element type of a dataset, named as NumPy names it (`float16`, `int64`, `bool`, ...).
///
/// h5py has no native bfloat16; files mark it either as `uint16` data with a dataset attribute
/// `dtype = "bfloat16"` or as an opaque 2-byte type tagged `bfloat16`. Both read as `.bfloat16`,
/// as does a 2-byte HDF5 float with 8 exponent and 7 mantissa bits.
public enum HDF5ElementType: Equatable, Hashable, Sendable, CustomStringConvertible {
    case float16, bfloat16, float32, float64
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    /// h5py's bool: an enum over int8 with members FALSE = 0 and TRUE = 1.
    case bool
    case string
    /// Anything else (compound, array, reference, other enums, odd float layouts), described.
    case unsupported(String)

    public var description: String {
        switch self {
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .bool: return "bool"
        case .string: return "string"
        case let .unsupported(what): return what
        }
    }

    /// True for the types `readIntegers` returns exactly (every integer type and bool).
    public var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .bool: return true
        default: return false
        }
    }

    /// True for the types that convert to a Float32 tensor.
    public var isNumeric: Bool {
        switch self {
        case .string, .unsupported: return false
        default: return true
        }
    }
}

extension HDF5ElementType {
    /// Classifies an HDF5 datatype. `bfloat16Marked` says whether the dataset carries the
    /// attribute `dtype = "bfloat16"` that turns `uint16` data into bfloat16 bit patterns.
    init(type: hid_t, bfloat16Marked: Bool) {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            self = HDF5ElementType.float(type: type, size: size)
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): self = .int8
            case (2, true): self = .int16
            case (4, true): self = .int32
            case (8, true): self = .int64
            case (1, false): self = .uint8
            case (2, false): self = bfloat16Marked ? .bfloat16 : .uint16
            case (4, false): self = .uint32
            case (8, false): self = .uint64
            default: self = .unsupported("\(size)-byte integer")
            }
        case H5T_ENUM:
            self = HDF5ElementType.isBoolEnum(type) ? .bool : .unsupported("enum")
        case H5T_OPAQUE:
            let tag = H5Tget_tag(type).map { pointer -> String in
                defer { H5free_memory(pointer) }
                return String(cString: pointer)
            } ?? ""
            self = size == 2 && tag.lowercased() == "bfloat16" ? .bfloat16 : .unsupported("opaque '\(tag)' of \(size) bytes")
        case H5T_STRING:
            self = .string
        case H5T_COMPOUND: self = .unsupported("compound")
        case H5T_ARRAY: self = .unsupported("array")
        case H5T_REFERENCE: self = .unsupported("reference")
        case H5T_VLEN: self = .unsupported("variable-length sequence")
        case H5T_BITFIELD: self = .unsupported("bitfield")
        case H5T_TIME: self = .unsupported("time")
        default: self = .unsupported("unknown HDF5 type class")
        }
    }

    /// IEEE half, bfloat16, single or double by size and bit layout.
    private static func float(type: hid_t, size: Int) -> HDF5ElementType {
        var (signPosition, exponentPosition, exponentSize, mantissaPosition, mantissaSize) = (0, 0, 0, 0, 0)
        guard H5Tget_fields(type, &signPosition, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize) >= 0
        else { return .unsupported("\(size)-byte float") }
        switch (size, exponentSize, mantissaSize) {
        case (2, 5, 10): return .float16
        case (2, 8, 7): return .bfloat16
        case (4, 8, 23): return .float32
        case (8, 11, 52): return .float64
        default: return .unsupported("\(size)-byte float with \(exponentSize) exponent and \(mantissaSize) mantissa bits")
        }
    }

    /// h5py's bool: a 1-byte integer enum whose members are exactly FALSE = 0 and TRUE = 1.
    private static func isBoolEnum(_ type: hid_t) -> Bool {
        guard H5Tget_size(type) == 1, H5Tget_nmembers(type) == 2 else { return false }
        var names: [String: Int8] = [:]
        for index in 0..<UInt32(2) {
            guard let name = H5Tget_member_name(type, index) else { return false }
            defer { H5free_memory(name) }
            var value: Int8 = 0
            guard H5Tget_member_value(type, index, &value) >= 0 else { return false }
            names[String(cString: name)] = value
        }
        return names == ["FALSE": 0, "TRUE": 1]
    }
}
