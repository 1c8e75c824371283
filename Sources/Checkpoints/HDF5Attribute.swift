import CHDF5

/// The value of an HDF5 attribute, in the few shapes checkpoints use.
///
/// Reading maps: variable- and fixed-length strings → `.string`; integer and bool scalars →
/// `.int`; float scalars → `.double`; 1-d integer / float arrays → `.ints` / `.doubles`.
/// NOTE: a uint64 value above `Int64.max` is kept as its bit pattern in `.int`;
/// `UInt64(bitPattern:)` recovers it (RNG seeds are read this way).
public enum HDF5Attribute: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case double(Double)
    case ints([Int64])
    case doubles([Double])

    /// The text of a `.string`, else nil.
    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    /// The value of an `.int`, else nil.
    public var intValue: Int64? {
        if case let .int(value) = self { return value }
        return nil
    }

    /// The value of a `.double`, or of an `.int` converted.
    public var doubleValue: Double? {
        switch self {
        case let .double(value): return value
        case let .int(value): return Double(value)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .string(value): return "\"\(value)\""
        case let .int(value): return String(value)
        case let .double(value): return String(value)
        case let .ints(values): return "[" + values.map(String.init).joined(separator: ", ") + "]"
        case let .doubles(values): return "[" + values.map { String($0) }.joined(separator: ", ") + "]"
        }
    }
}

extension HDF5File {
    /// The names of the attributes on `object` (a group or dataset path; `"/"` is the root), sorted.
    public func attributeNames(of object: String = "/") throws -> [String] {
        try withObject(object) { id in
            var info = H5O_info_t()
            guard H5Oget_info2(id, &info, UInt32(H5O_INFO_NUM_ATTRS)) >= 0 else {
                throw readFailure(object, "cannot read the object header")
            }
            return try (0..<info.num_attrs).map { position in
                let length = H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, position, nil, 0, snp_H5P_DEFAULT())
                guard length >= 0 else { throw readFailure(object, "cannot read attribute \(position)'s name") }
                var buffer = [CChar](repeating: 0, count: length + 1)
                H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, position, &buffer, length + 1, snp_H5P_DEFAULT())
                return String(cString: buffer)
            }
        }
    }

    /// Every attribute of `object` by name.
    public func attributes(of object: String = "/") throws -> [String: HDF5Attribute] {
        var result: [String: HDF5Attribute] = [:]
        for name in try attributeNames(of: object) { result[name] = try attribute(name, of: object) }
        return result
    }

    /// One attribute of `object`, or nil when `object` has no attribute of that name.
    /// - Throws: `.notFound` (no such object), `.unsupportedType` (compound, 2-d, string arrays...).
    public func attribute(_ name: String, of object: String = "/") throws -> HDF5Attribute? {
        try withObject(object) { id in
            guard H5Aexists(id, name) > 0 else {
                H5Eclear2(hid_t(H5E_DEFAULT))
                return nil
            }
            let attribute = H5Aopen(id, name, snp_H5P_DEFAULT())
            guard attribute >= 0 else { throw readFailure("\(object)@\(name)", "cannot open the attribute") }
            defer { H5Aclose(attribute) }
            return try readAttribute(attribute, label: "\(object == "/" ? "" : object)@\(name)")
        }
    }

    /// Like `attribute(_:of:)`, but a missing attribute is an error naming it.
    public func requiredAttribute(_ name: String, of object: String = "/") throws -> HDF5Attribute {
        guard let value = try attribute(name, of: object) else {
            throw CheckpointError.attributeNotFound(path: path, object: object, name: name)
        }
        return value
    }

    /// Opens a group or dataset for `body`, and closes it.
    private func withObject<R>(_ object: String, _ body: (hid_t) throws -> R) throws -> R {
        HDF5Library.silenceErrors()
        guard let kind = try kind(of: object), kind != .namedType else {
            throw CheckpointError.notFound(path: path, name: object)
        }
        let id = H5Oopen(file, object.hasPrefix("/") ? object : "/" + object, snp_H5P_DEFAULT())
        guard id >= 0 else { throw readFailure(object, "cannot open the object") }
        defer { H5Oclose(id) }
        return try body(id)
    }

    /// Decodes one open attribute.
    private func readAttribute(_ attribute: hid_t, label: String) throws -> HDF5Attribute {
        let type = H5Aget_type(attribute)
        guard type >= 0 else { throw readFailure(label, "cannot read the datatype") }
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        guard space >= 0 else { throw readFailure(label, "cannot read the dataspace") }
        defer { H5Sclose(space) }
        guard let shape = try shape(ofSpace: space, label: label), shape.count <= 1 else {
            throw CheckpointError.unsupportedType(path: path, name: label, type: "attribute that is not a scalar or 1-d array")
        }
        let count = shape.reduce(1, *)
        try checkAllocation(count: count, bytes: max(H5Tget_size(type), MemoryLayout<Double>.size), label: label)
        let isArray = shape.count == 1
        let elementType = HDF5ElementType(type: type, bfloat16Marked: false)
        func unsupported() -> CheckpointError {
            .unsupportedType(path: path, name: label, type: isArray ? "array of \(elementType)" : elementType.description)
        }

        switch elementType {
        case .string:
            guard count == 1 else { throw unsupported() }
            return .string(try readString(attribute, type: type, space: space, label: label))
        case .bool, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            let values = try readAttributeIntegers(attribute, type: type, elementType: elementType, count: count, label: label)
            return isArray ? .ints(values) : .int(values[0])
        case .float16, .float32, .float64:
            var values = [Double](repeating: 0, count: count)
            if count > 0 { try check(H5Aread(attribute, snp_H5T_NATIVE_DOUBLE(), &values), label) }
            return isArray ? .doubles(values) : .double(values[0])
        case .bfloat16, .unsupported:
            throw unsupported()
        }
    }

    private func readAttributeIntegers(_ attribute: hid_t, type: hid_t, elementType: HDF5ElementType,
                                       count: Int, label: String) throws -> [Int64] {
        guard count > 0 else { return [] }
        switch elementType {
        case .bool:
            // NOTE: libhdf5 cannot convert an enum to an integer; read its raw bytes.
            var bytes = [Int8](repeating: 0, count: count)
            try check(H5Aread(attribute, type, &bytes), label)
            return bytes.map { Int64($0) }
        case .uint64:
            var values = [UInt64](repeating: 0, count: count)
            try check(H5Aread(attribute, snp_H5T_NATIVE_UINT64(), &values), label)
            return values.map { Int64(bitPattern: $0) }
        default:
            var values = [Int64](repeating: 0, count: count)
            try check(H5Aread(attribute, snp_H5T_NATIVE_INT64(), &values), label)
            return values
        }
    }

    /// A variable-length (h5py's `str`) or fixed-length (`np.bytes_`) string attribute, as UTF-8.
    private func readString(_ attribute: hid_t, type: hid_t, space: hid_t, label: String) throws -> String {
        if H5Tis_variable_str(type) > 0 {
            let memoryType = H5Tcopy(snp_H5T_C_S1())
            guard memoryType >= 0 else { throw readFailure(label, "cannot make a string type") }
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, snp_H5T_VARIABLE())
            H5Tset_cset(memoryType, H5Tget_cset(type))
            var pointer: UnsafeMutablePointer<CChar>? = nil
            try check(H5Aread(attribute, memoryType, &pointer), label)
            // NOTE: libhdf5 allocated the string; H5Dvlen_reclaim frees it (H5Treclaim is 1.12+).
            defer { H5Dvlen_reclaim(memoryType, space, snp_H5P_DEFAULT(), &pointer) }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(type)
        let memoryType = H5Tcopy(type)
        guard memoryType >= 0 else { throw readFailure(label, "cannot copy the string type") }
        defer { H5Tclose(memoryType) }
        var bytes = [UInt8](repeating: 0, count: size)
        if size > 0 { try check(H5Aread(attribute, memoryType, &bytes), label) }
        // Null-terminated and null-padded strings end at the first NUL; space-padded ones are trimmed.
        if let end = bytes.firstIndex(of: 0) { bytes.removeSubrange(end...) }
        if H5Tget_strpad(type) == H5T_STR_SPACEPAD { while bytes.last == 0x20 { bytes.removeLast() } }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func check(_ status: herr_t, _ label: String) throws {
        guard status >= 0 else { throw readFailure(label, "H5Aread failed") }
    }
}
