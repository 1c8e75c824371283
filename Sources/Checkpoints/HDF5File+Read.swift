import CHDF5
import Engine

extension HDF5File {
    /// Reads a numeric dataset as a Float32 tensor of the dataset's shape (`[]` for a scalar).
    ///
    /// Converts float16, bfloat16 (all three encodings, see `HDF5ElementType`), float64, every
    /// integer type and bool. Chunked and compressed datasets are decompressed by libhdf5.
    /// NOTE: integers beyond 2^24 and float64 values lose precision in Float32; use
    /// `readIntegers` / `readDoubles` when exact values matter (token ids, metric histories).
    /// - Throws: `.notFound`, `.unsupportedType` (strings, compounds...), `.missingFilter`, `.readFailed`.
    public func readTensor(_ name: String) throws -> Tensor {
        try withDataset(name) { dataset, info in
            try checkFilters(dataset, name: info.name)
            try checkAllocation(count: info.count, bytes: MemoryLayout<Float>.size, label: info.name)
            let tensor = Tensor(storage: Storage(count: info.count), shape: info.shape)
            let output = tensor.storage.pointer
            let count = info.count
            switch info.type {
            case .float32:
                try read(dataset, memoryType: snp_H5T_NATIVE_FLOAT(), into: output, count: count, name: info.name)
                try verifyChecksum(info, UnsafePointer(output), count: count)
            case .float64:
                let values: [Double] = try readArray(dataset, memoryType: snp_H5T_NATIVE_DOUBLE(), count: count, name: info.name)
                try verifyChecksum(info, values)
                for i in 0..<count { output[i] = Float(values[i]) }
            case .float16, .bfloat16:
                let bits = try readHalfBits(dataset, count: count, name: info.name)
                try verifyChecksum(info, bits)
                bits.withUnsafeBufferPointer {
                    HalfPrecision.decode($0.baseAddress!, count: count, bfloat16: info.type == .bfloat16, into: output)
                }
            case .uint64:
                let values: [UInt64] = try readArray(dataset, memoryType: snp_H5T_NATIVE_UINT64(), count: count, name: info.name)
                try verifyChecksum(info, values)
                for i in 0..<count { output[i] = Float(values[i]) }
            case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .bool:
                let values = try readSignedIntegers(dataset, info: info)
                try verifyChecksum(info, values)
                for i in 0..<count { output[i] = Float(values[i]) }
            case .string, .unsupported:
                throw CheckpointError.unsupportedType(path: path, name: info.name, type: info.type.description)
            }
            return tensor
        }
    }

    /// Reads a 1-d dataset of variable-length strings (h5py's `str` / `h5py.string_dtype()`) as UTF-8.
    /// - Throws: `.typeMismatch` for any other type, `.readFailed`.
    public func readStrings(_ name: String) throws -> [String] {
        try withDataset(name) { dataset, info in
            let type = H5Dget_type(dataset)
            guard type >= 0 else { throw readFailure(info.name, "cannot read its type") }
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_STRING, H5Tis_variable_str(type) > 0 else {
                throw CheckpointError.typeMismatch(path: path, name: info.name, expected: "variable-length strings", actual: info.type.description)
            }
            let memoryType = H5Tcopy(snp_H5T_C_S1())
            guard memoryType >= 0 else { throw readFailure(info.name, "cannot make a string type") }
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, snp_H5T_VARIABLE())
            H5Tset_cset(memoryType, H5Tget_cset(type))
            try checkAllocation(count: info.count, bytes: MemoryLayout<UnsafeMutablePointer<CChar>?>.size, label: info.name)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: info.count)
            guard info.count > 0 else { return [] }
            guard H5Dread(dataset, memoryType, snp_H5S_ALL(), snp_H5S_ALL(), snp_H5P_DEFAULT(), &pointers) >= 0 else {
                throw readFailure(info.name, "H5Dread failed")
            }
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            // NOTE: libhdf5 allocated the strings; H5Dvlen_reclaim frees them.
            defer { H5Dvlen_reclaim(memoryType, space, snp_H5P_DEFAULT(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
    }

    /// Reads an integer or bool dataset exactly, flattened row-major (token ids, step lists).
    /// - Throws: `.typeMismatch` for float data, `.readFailed` for uint64 values above `Int64.max`.
    public func readIntegers(_ name: String) throws -> [Int64] {
        try withDataset(name) { dataset, info in
            try checkFilters(dataset, name: info.name)
            try checkAllocation(count: info.count, bytes: MemoryLayout<Int64>.size, label: info.name)
            switch info.type {
            case .uint64:
                let values: [UInt64] = try readArray(dataset, memoryType: snp_H5T_NATIVE_UINT64(), count: info.count, name: info.name)
                try verifyChecksum(info, values)
                return try values.map { value in
                    guard let exact = Int64(exactly: value) else {
                        throw CheckpointError.readFailed(path: path, name: info.name, reason: "uint64 value \(value) does not fit Int64")
                    }
                    return exact
                }
            case _ where info.type.isInteger:
                let values = try readSignedIntegers(dataset, info: info)
                try verifyChecksum(info, values)
                return values
            default:
                throw CheckpointError.typeMismatch(path: path, name: info.name, expected: "integers", actual: info.type.description)
            }
        }
    }

    /// Reads a numeric dataset as Float64, flattened row-major; exact for float64 and float32 data
    /// (metric histories are stored as float64 for this).
    public func readDoubles(_ name: String) throws -> [Double] {
        let info = try datasetInfo(name)
        switch info.type {
        case .float64:
            return try withDataset(name) { dataset, info in
                try checkFilters(dataset, name: info.name)
                try checkAllocation(count: info.count, bytes: MemoryLayout<Double>.size, label: info.name)
                let values: [Double] = try readArray(dataset, memoryType: snp_H5T_NATIVE_DOUBLE(), count: info.count, name: info.name)
                try verifyChecksum(info, values)
                return values
            }
        case _ where info.type.isInteger && info.type != .uint64:
            return try readIntegers(name).map { Double($0) }
        default:
            return try readTensor(name).scalars.map { Double($0) }
        }
    }

    // MARK: - Integrity

    /// The attribute in which `HDF5Writer` stores each numeric dataset's `Checksum64`.
    public static let checksumAttribute = "snp_checksum"

    /// Throws `.checksumMismatch` when the dataset carries a checksum (Snoopi wrote it) that the
    /// `count` values just read at `values` do not match; datasets without one (h5py's) pass.
    func verifyChecksum<T>(_ info: HDF5DatasetInfo, _ values: UnsafePointer<T>, count: Int) throws {
        try verifyChecksum(info, UnsafeRawBufferPointer(start: values, count: count * MemoryLayout<T>.stride))
    }

    func verifyChecksum<T>(_ info: HDF5DatasetInfo, _ values: [T]) throws {
        try values.withUnsafeBytes { try verifyChecksum(info, $0) }
    }

    private func verifyChecksum(_ info: HDF5DatasetInfo, _ bytes: UnsafeRawBufferPointer) throws {
        let stored: HDF5Attribute?
        do {
            stored = try attribute(Self.checksumAttribute, of: info.name)
        } catch {
            // An attribute that exists but cannot be read is damage too.
            throw CheckpointError.checksumMismatch(path: path, name: info.name)
        }
        guard let stored else { return }
        var sum = Checksum64()
        sum.add(bytes)
        guard case .string(let expected) = stored, expected == sum.hex else {
            throw CheckpointError.checksumMismatch(path: path, name: info.name)
        }
    }

    // MARK: - Raw reads

    /// Reads every element of `dataset`, converted by libhdf5 to `memoryType`, into `buffer`.
    func read<T>(_ dataset: hid_t, memoryType: hid_t, into buffer: UnsafeMutablePointer<T>, count: Int, name: String) throws {
        guard count > 0 else { return }
        guard H5Dread(dataset, memoryType, snp_H5S_ALL(), snp_H5S_ALL(), snp_H5P_DEFAULT(), buffer) >= 0 else {
            throw readFailure(name, "H5Dread failed")
        }
    }

    /// `read` into a new array of `count` elements.
    func readArray<T>(_ dataset: hid_t, memoryType: hid_t, count: Int, name: String) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(dataset, memoryType: memoryType, into: buffer.baseAddress!, count: count, name: name)
            initialized = count
        }
    }

    /// Every element of an integer, bool or enum dataset as Int64 (uint64 excluded: it may not fit).
    private func readSignedIntegers(_ dataset: hid_t, info: HDF5DatasetInfo) throws -> [Int64] {
        guard info.type == .bool else {
            return try readArray(dataset, memoryType: snp_H5T_NATIVE_INT64(), count: info.count, name: info.name)
        }
        // NOTE: libhdf5 does not convert enums to integers; read the raw enum bytes (one each) instead.
        let type = H5Dget_type(dataset)
        guard type >= 0 else { throw readFailure(info.name, "cannot read the datatype") }
        defer { H5Tclose(type) }
        let bytes: [Int8] = try readArray(dataset, memoryType: type, count: info.count, name: info.name)
        return bytes.map { Int64($0) }
    }

    /// The little-endian 16-bit patterns of a float16 or bfloat16 dataset, whichever way it is stored.
    private func readHalfBits(_ dataset: hid_t, count: Int, name: String) throws -> [UInt16] {
        let fileType = H5Dget_type(dataset)
        guard fileType >= 0 else { throw readFailure(name, "cannot read the datatype") }
        defer { H5Tclose(fileType) }
        switch H5Tget_class(fileType) {
        case H5T_INTEGER:
            // bfloat16 stored as uint16: ask for little-endian uint16, the raw bit pattern.
            return try readArray(dataset, memoryType: snp_H5T_STD_U16LE(), count: count, name: name)
        case H5T_FLOAT:
            // A 16-bit float: read it as itself in little-endian order, so libhdf5 only swaps
            // bytes (if at all) and the bits reach us untouched.
            let memoryType = H5Tcopy(fileType)
            guard memoryType >= 0 else { throw readFailure(name, "cannot copy the datatype") }
            defer { H5Tclose(memoryType) }
            H5Tset_order(memoryType, H5T_ORDER_LE)
            return try readArray(dataset, memoryType: memoryType, count: count, name: name)
        default:
            // An opaque type has no byte order: the bytes are as h5py wrote them, little-endian.
            return try readArray(dataset, memoryType: fileType, count: count, name: name)
        }
    }

    /// Throws `.missingFilter` when the dataset is stored with a filter libhdf5 cannot run
    /// (h5py's LZF, Blosc plugins...), rather than letting H5Dread fail with a vague message.
    func checkFilters(_ dataset: hid_t, name: String) throws {
        let plist = H5Dget_create_plist(dataset)
        guard plist >= 0 else { return }
        defer { H5Pclose(plist) }
        let filters = H5Pget_nfilters(plist)
        guard filters > 0 else { return }
        for index in 0..<UInt32(filters) {
            var flags: UInt32 = 0
            var valueCount = 0
            var filterName = [CChar](repeating: 0, count: 256)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(plist, index, &flags, &valueCount, nil, filterName.count, &filterName, &config)
            if filter >= 0 && H5Zfilter_avail(filter) <= 0 {
                H5Eclear2(hid_t(H5E_DEFAULT))
                let label = String(cString: filterName)
                throw CheckpointError.missingFilter(path: path, name: name,
                                                    filter: label.isEmpty ? "filter \(filter)" : "\(label) (filter \(filter))")
            }
        }
    }
}
