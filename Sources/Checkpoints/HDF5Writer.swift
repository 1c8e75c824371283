import CHDF5
import Engine
import Foundation

/// How float tensors are stored on disk. Reading always gives Float32 back.
public enum HDF5FloatStorage: Sendable {
    case float32
    /// IEEE half, as h5py writes `np.float16`: half the size, ~3 significant digits, |x| ≤ 65504.
    case float16
}

/// Writes an HDF5 file atomically: `HDF5Writer.write(to:)` hands the body a writer on a
/// temporary file next to the destination and renames it into place only when the body returns;
/// if the body (or any write) throws, the temporary is removed and an existing file at the
/// destination is untouched.
///
///     try HDF5Writer.write(to: "model.h5") { file in
///         try file.setAttribute("format", .string("snoopi-checkpoint"))
///         try file.write(weight, to: "conv_in.weight")
///         try file.write(integers: [1, 2, 3], to: "training/history/steps")
///     }
///
/// Groups keep their members in creation order (read back in that order by `HDF5File`); the
/// files are plain HDF5 that h5py reads, strings included.
public final class HDF5Writer {
    /// Where the finished file goes.
    public let destination: String
    private let file: hid_t
    private var groups: Set<String> = [""]

    private init(creating temporary: String, destination: String) throws {
        self.destination = destination
        let creation = H5Pcreate(snp_H5P_FILE_CREATE())
        guard creation >= 0 else { throw CheckpointError.writeFailed(path: destination, reason: HDF5Library.failure("H5Pcreate")) }
        defer { H5Pclose(creation) }
        H5Pset_link_creation_order(creation, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED))
        let id = H5Fcreate(temporary, snp_H5F_ACC_TRUNC(), creation, snp_H5P_DEFAULT())
        guard id >= 0 else {
            throw CheckpointError.writeFailed(path: destination, reason: HDF5Library.failure("cannot create the file"))
        }
        file = id
    }

    /// Writes the file at `path` through `body`, atomically (see the type's summary).
    /// - Throws: whatever `body` throws, or `.writeFailed`; either way nothing changed at `path`.
    public static func write(to path: String, _ body: (HDF5Writer) throws -> Void) throws {
        HDF5Library.silenceErrors()
        try AtomicWrite.file(at: path) { temporary in
            let writer = try HDF5Writer(creating: temporary, destination: path)
            do {
                try body(writer)
            } catch {
                writer.close()
                throw error
            }
            guard writer.close() else {
                throw CheckpointError.writeFailed(path: path, reason: HDF5Library.failure("closing the file failed"))
            }
        }
    }

    /// Flushes and closes; false when libhdf5 reports an error (then the file must not be used).
    @discardableResult
    private func close() -> Bool { H5Fclose(file) >= 0 }

    // MARK: - Groups and datasets

    /// Creates group `name` and any missing parents (`a/b/c` makes `a`, `a/b`, `a/b/c`).
    /// Creating a group that exists is allowed.
    public func createGroup(_ name: String) throws {
        let path = try HDF5Path(name)
        for group in path.parents + [path.text] where !groups.contains(group) {
            let plist = H5Pcreate(snp_H5P_GROUP_CREATE())
            guard plist >= 0 else { throw failure("H5Pcreate for group \(group)") }
            defer { H5Pclose(plist) }
            H5Pset_link_creation_order(plist, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED))
            let id = H5Gcreate2(file, group, snp_H5P_DEFAULT(), plist, snp_H5P_DEFAULT())
            guard id >= 0 else { throw failure("cannot create group '\(group)'") }
            H5Gclose(id)
            groups.insert(group)
        }
    }

    /// Writes `tensor` as dataset `name` (parents created), in float32 or float16.
    public func write(_ tensor: Tensor, to name: String, as storage: HDF5FloatStorage = .float32) throws {
        switch storage {
        case .float32:
            try createDataset(name, shape: tensor.shape, fileType: snp_H5T_IEEE_F32LE(),
                              memoryType: snp_H5T_NATIVE_FLOAT(), data: tensor.storage.pointer,
                              checksum: Checksum64.of(UnsafePointer(tensor.storage.pointer), count: tensor.count))
        case .float16:
            let half = try makeFloat16Type()
            defer { H5Tclose(half) }
            let bits = tensor.withBuffer { $0.map(HalfPrecision.halfBits) }
            try bits.withUnsafeBufferPointer {
                try createDataset(name, shape: tensor.shape, fileType: half, memoryType: half, data: $0.baseAddress,
                                  checksum: Checksum64.of($0.baseAddress!, count: $0.count))
            }
        }
    }

    /// Creates a float32 dataset `name` of `shape` and writes no data (libhdf5 allocates none, so
    /// the file stays small whatever the shape claims): how the reliability harness makes files
    /// that declare more elements than any machine holds.
    public func declare(_ name: String, shape: [Int]) throws {
        try createDataset(name, shape: shape, fileType: snp_H5T_IEEE_F32LE(), memoryType: snp_H5T_NATIVE_FLOAT(), data: nil)
    }

    /// Writes integers as an int64 dataset `name` of `shape` (default: 1-d).
    public func write(integers: [Int64], shape: [Int]? = nil, to name: String) throws {
        let shape = shape ?? [integers.count]
        try checkCount(integers.count, shape: shape, name: name)
        try integers.withUnsafeBufferPointer {
            try createDataset(name, shape: shape, fileType: snp_H5T_STD_I64LE(), memoryType: snp_H5T_NATIVE_INT64(),
                              data: $0.baseAddress, checksum: $0.baseAddress.map { Checksum64.of($0, count: integers.count) })
        }
    }

    /// Writes doubles as a float64 dataset `name` of `shape` (default: 1-d).
    public func write(doubles: [Double], shape: [Int]? = nil, to name: String) throws {
        let shape = shape ?? [doubles.count]
        try checkCount(doubles.count, shape: shape, name: name)
        try doubles.withUnsafeBufferPointer {
            try createDataset(name, shape: shape, fileType: snp_H5T_IEEE_F64LE(), memoryType: snp_H5T_NATIVE_DOUBLE(),
                              data: $0.baseAddress, checksum: $0.baseAddress.map { Checksum64.of($0, count: doubles.count) })
        }
    }

    /// Writes strings as a 1-d dataset `name` of variable-length UTF-8 strings (h5py reads it as
    /// an object array of `bytes`, `.asstr()` gives `str`).
    public func write(strings: [String], to name: String) throws {
        let type = H5Tcopy(snp_H5T_C_S1())
        guard type >= 0 else { throw failure("cannot make a string type") }
        defer { H5Tclose(type) }
        H5Tset_size(type, snp_H5T_VARIABLE())
        H5Tset_cset(type, H5T_CSET_UTF8)
        H5Tset_strpad(type, H5T_STR_NULLTERM)
        let copies = strings.map { strdup($0) }
        defer { for c in copies { free(c) } }
        var pointers = copies.map { UnsafePointer<CChar>($0) }
        try pointers.withUnsafeMutableBufferPointer {
            try createDataset(name, shape: [strings.count], fileType: type, memoryType: type, data: $0.baseAddress)
        }
    }

    private func checkCount(_ count: Int, shape: [Int], name: String) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw CheckpointError.writeFailed(path: destination, reason: "\(count) values do not fill shape \(shapeString(shape)) of '\(name)'")
        }
    }

    /// Creates a contiguous dataset and writes all of `data` (already in `memoryType` layout;
    /// nil only when the shape has no elements), with `checksum` (of the stored values, see
    /// `Checksum64`) as its attribute `snp_checksum`, which `HDF5File` verifies on every read.
    private func createDataset(_ name: String, shape: [Int], fileType: hid_t, memoryType: hid_t,
                               data: UnsafeRawPointer?, checksum: String? = nil) throws {
        let path = try HDF5Path(name)
        if let parent = path.parents.last { try createGroup(parent) }
        let space = try makeSpace(shape)
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(file, path.text, fileType, space, snp_H5P_DEFAULT(), snp_H5P_DEFAULT(), snp_H5P_DEFAULT())
        guard dataset >= 0 else { throw failure("cannot create dataset '\(path.text)'") }
        defer { H5Dclose(dataset) }
        if let checksum { try setAttribute(HDF5File.checksumAttribute, .string(checksum), on: path.text) }
        guard let data, shape.reduce(1, *) > 0 else { return }
        guard H5Dwrite(dataset, memoryType, snp_H5S_ALL(), snp_H5S_ALL(), snp_H5P_DEFAULT(), data) >= 0 else {
            throw failure("cannot write dataset '\(path.text)'")
        }
    }

    // MARK: - Attributes

    /// Sets attribute `name` on `object` (a group or dataset path; `"/"` is the root), replacing
    /// an existing one. Strings are variable-length UTF-8, as h5py writes `str`; ints int64;
    /// doubles float64; arrays 1-d.
    public func setAttribute(_ name: String, _ value: HDF5Attribute, on object: String = "/") throws {
        let objectPath = object == "/" ? "/" : "/" + (try HDF5Path(object)).text
        let id = H5Oopen(file, objectPath, snp_H5P_DEFAULT())
        guard id >= 0 else { throw failure("no object '\(object)' to set attribute '\(name)' on") }
        defer { H5Oclose(id) }
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        switch value {
        case let .string(text):
            let type = H5Tcopy(snp_H5T_C_S1())
            defer { H5Tclose(type) }
            H5Tset_size(type, snp_H5T_VARIABLE())
            H5Tset_cset(type, H5T_CSET_UTF8)
            H5Tset_strpad(type, H5T_STR_NULLTERM)
            try text.withCString { pointer in
                var pointers: [UnsafePointer<CChar>?] = [pointer]
                try createAttribute(name, on: id, shape: nil, type: type, memoryType: type, data: &pointers)
            }
        case let .int(number):
            var value = number
            try createAttribute(name, on: id, shape: nil, type: snp_H5T_STD_I64LE(), memoryType: snp_H5T_NATIVE_INT64(), data: &value)
        case let .double(number):
            var value = number
            try createAttribute(name, on: id, shape: nil, type: snp_H5T_IEEE_F64LE(), memoryType: snp_H5T_NATIVE_DOUBLE(), data: &value)
        case let .ints(numbers):
            var values = numbers
            try createAttribute(name, on: id, shape: [numbers.count], type: snp_H5T_STD_I64LE(),
                                memoryType: snp_H5T_NATIVE_INT64(), data: &values)
        case let .doubles(numbers):
            var values = numbers
            try createAttribute(name, on: id, shape: [numbers.count], type: snp_H5T_IEEE_F64LE(),
                                memoryType: snp_H5T_NATIVE_DOUBLE(), data: &values)
        }
    }

    /// Creates a scalar (`shape` nil) or 1-d attribute and writes `data`.
    private func createAttribute(_ name: String, on object: hid_t, shape: [Int]?, type: hid_t, memoryType: hid_t,
                                 data: UnsafeMutableRawPointer) throws {
        let space = try makeSpace(shape ?? [])
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(object, name, type, space, snp_H5P_DEFAULT(), snp_H5P_DEFAULT())
        guard attribute >= 0 else { throw failure("cannot create attribute '\(name)'") }
        defer { H5Aclose(attribute) }
        guard H5Awrite(attribute, memoryType, data) >= 0 else { throw failure("cannot write attribute '\(name)'") }
    }

    // MARK: - Types and spaces

    /// A dataspace of `shape`; `[]` is a scalar.
    private func makeSpace(_ shape: [Int]) throws -> hid_t {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            let dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), dims, nil)
        }
        guard space >= 0 else { throw failure("cannot make a dataspace of shape \(shapeString(shape))") }
        return space
    }

    /// IEEE half precision, built exactly as h5py builds its float16 type (copy the 32-bit
    /// float, then set bit fields, size and exponent bias), so h5py reads it as `float16`.
    private func makeFloat16Type() throws -> hid_t {
        let type = H5Tcopy(snp_H5T_IEEE_F32LE())
        guard type >= 0 else { throw failure("cannot copy the float32 type") }
        guard H5Tset_fields(type, 15, 10, 5, 0, 10) >= 0, H5Tset_size(type, 2) >= 0, H5Tset_ebias(type, 15) >= 0 else {
            H5Tclose(type)
            throw failure("cannot make the float16 type")
        }
        return type
    }

    private func failure(_ what: String) -> CheckpointError {
        .writeFailed(path: destination, reason: HDF5Library.failure(what))
    }
}
