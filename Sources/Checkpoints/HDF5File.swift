import CHDF5
import Engine
import Foundation

/// A read-only HDF5 file: list its datasets and groups, read datasets as tensors or integers
/// (HDF5File+Read.swift) and read attributes (HDF5Attribute.swift). Closed when released.
///
/// Names are HDF5 paths relative to the root, `a/b/c` (a leading `/` is accepted).
/// Reads files written by h5py or by `HDF5Writer` with libhdf5 1.10.
///
///     let file = try HDF5File(path: "unet.h5")
///     for info in try file.datasets() { print(info.name, info.shape, info.type) }
///     let weight = try file.readTensor("conv_in.weight")
public final class HDF5File {
    /// The path the file was opened from, as given; every error names it.
    public let path: String
    let file: hid_t

    /// Opens `path` read-only.
    /// - Throws: `.fileNotFound`, `.notHDF5` (no HDF5 signature, or a folder), `.corruptFile`
    ///   (HDF5 signature but libhdf5 cannot open it, e.g. truncated), `.readFailed` (permissions).
    public init(path: String) throws {
        HDF5Library.silenceErrors()
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw CheckpointError.notHDF5(path: path) }
        let signature = H5Fis_hdf5(path)
        if signature == 0 { throw CheckpointError.notHDF5(path: path) }
        if signature < 0 {
            throw CheckpointError.readFailed(path: path, name: "/", reason: HDF5Library.failure("cannot read the file"))
        }
        try Self.validateOnce(path)
        let id = H5Fopen(path, snp_H5F_ACC_RDONLY(), snp_H5P_DEFAULT())
        guard id >= 0 else {
            throw CheckpointError.corruptFile(path: path, reason: HDF5Library.failure("libhdf5 cannot open it"))
        }
        file = id
        FileAccessLog.read(path)
    }

    deinit { H5Fclose(file) }

    /// What kind of object `name` is, or nil when there is none (or it is a dangling link).
    public func kind(of name: String) throws -> HDF5ObjectKind? {
        HDF5Library.silenceErrors()
        let trimmed = name.hasPrefix("/") ? String(name.dropFirst()) : name
        if trimmed.isEmpty { return .group }
        let hdf5Path = try HDF5Path(name)
        // NOTE: H5Lexists("a/b") fails (rather than answering false) when "a" is missing, so
        // each prefix is checked in turn.
        for prefix in hdf5Path.parents + [hdf5Path.text] where H5Lexists(file, prefix, snp_H5P_DEFAULT()) <= 0 {
            H5Eclear2(hid_t(H5E_DEFAULT))
            return nil
        }
        var info = H5O_info_t()
        guard H5Oget_info_by_name2(file, hdf5Path.text, &info, UInt32(H5O_INFO_BASIC), snp_H5P_DEFAULT()) >= 0 else {
            H5Eclear2(hid_t(H5E_DEFAULT))
            return nil
        }
        return HDF5ObjectKind(info.type)
    }

    /// The direct members of a group (the root is `"/"`), in creation order when the group tracks
    /// it (files from `HDF5Writer` do), otherwise by name.
    public func members(of group: String = "/") throws -> [HDF5Member] {
        HDF5Library.silenceErrors()
        guard try kind(of: group) == .group else { throw CheckpointError.notFound(path: path, name: group) }
        let groupPath = group.hasPrefix("/") ? group : "/" + group
        let id = H5Gopen2(file, groupPath, snp_H5P_DEFAULT())
        guard id >= 0 else { throw readFailure(group, "cannot open the group") }
        defer { H5Gclose(id) }
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { throw readFailure(group, "cannot list the group") }
        let index = HDF5File.creationOrderIndexed(group: id) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
        let prefix = groupPath == "/" ? "" : String(groupPath.dropFirst()) + "/"
        var members: [HDF5Member] = []
        for position in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(id, ".", index, H5_ITER_INC, position, nil, 0, snp_H5P_DEFAULT())
            guard length >= 0 else { throw readFailure(group, "cannot read member \(position)'s name") }
            var buffer = [CChar](repeating: 0, count: length + 1)
            H5Lget_name_by_idx(id, ".", index, H5_ITER_INC, position, &buffer, length + 1, snp_H5P_DEFAULT())
            let name = String(cString: buffer)
            var object = H5O_info_t()
            let kind: HDF5ObjectKind?
            if H5Oget_info_by_name2(id, name, &object, UInt32(H5O_INFO_BASIC), snp_H5P_DEFAULT()) >= 0 {
                kind = HDF5ObjectKind(object.type)
            } else {
                H5Eclear2(hid_t(H5E_DEFAULT))
                kind = nil
            }
            members.append(HDF5Member(name: prefix + name, kind: kind))
        }
        return members
    }

    /// Every dataset in the file, depth first, with its full path (`a/b/c`), shape and type.
    public func datasets() throws -> [HDF5DatasetInfo] {
        var found: [HDF5DatasetInfo] = []
        var visitedGroups: Set<String> = []
        func visit(_ group: String) throws {
            for member in try members(of: group) {
                switch member.kind {
                case .dataset?: found.append(try datasetInfo(member.name))
                case .group?:
                    // NOTE: hard links can make a group its own descendant; visit each group once.
                    let address = try objectAddress(member.name)
                    if visitedGroups.insert(address).inserted { try visit(member.name) }
                default: continue
                }
            }
        }
        visitedGroups.insert(try objectAddress("/"))
        try visit("/")
        return found
    }

    /// The shape and element type of one dataset.
    public func datasetInfo(_ name: String) throws -> HDF5DatasetInfo {
        try withDataset(name) { dataset, info in info }
    }

    /// Opens dataset `name`, describes it, and hands both to `body`; closes it afterwards.
    func withDataset<R>(_ name: String, _ body: (hid_t, HDF5DatasetInfo) throws -> R) throws -> R {
        HDF5Library.silenceErrors()
        guard try kind(of: name) == .dataset else { throw CheckpointError.notFound(path: path, name: name) }
        let datasetName = try HDF5Path(name).text
        let dataset = H5Dopen2(file, datasetName, snp_H5P_DEFAULT())
        guard dataset >= 0 else { throw readFailure(name, "cannot open the dataset") }
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw readFailure(name, "cannot read the dataspace") }
        defer { H5Sclose(space) }
        guard let shape = try shape(ofSpace: space, label: datasetName) else {
            throw CheckpointError.unsupportedType(path: path, name: datasetName, type: "empty (null) dataspace")
        }
        let type = H5Dget_type(dataset)
        guard type >= 0 else { throw readFailure(name, "cannot read the datatype") }
        defer { H5Tclose(type) }
        let marked = H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 2
            && (try? attribute("dtype", of: datasetName)) == .string("bfloat16")
        let info = HDF5DatasetInfo(name: datasetName, shape: shape, type: HDF5ElementType(type: type, bfloat16Marked: marked))
        return try body(dataset, info)
    }

    /// The dimensions of a dataspace: `[]` for a scalar, nil for a null (empty) dataspace.
    /// - Throws: `.corruptFile` when the dimensions cannot be real (their product overflows).
    func shape(ofSpace space: hid_t, label: String) throws -> [Int]? {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR:
            return []
        case H5S_SIMPLE:
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank >= 0 else { throw readFailure(label, "cannot read the dataspace rank") }
            var dims = [hsize_t](repeating: 0, count: rank)
            H5Sget_simple_extent_dims(space, &dims, nil)
            // NOTE: a damaged file can claim any dimensions; check before anything multiplies them.
            var shape: [Int] = [], count = 1
            for dim in dims {
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(exactly: dim) ?? -1)
                guard let size = Int(exactly: dim), !overflow else {
                    throw CheckpointError.corruptFile(path: path, reason: "'\(label)' claims impossible dimensions \(dims)")
                }
                shape.append(size)
                count = product
            }
            return shape
        default:
            return nil
        }
    }

    /// Refuses to allocate `count` elements of `bytes` each when that exceeds the machine's
    /// memory: a damaged header claiming a huge shape must be an error, not an allocation crash.
    func checkAllocation(count: Int, bytes: Int, label: String) throws {
        let (total, overflow) = count.multipliedReportingOverflow(by: bytes)
        guard !overflow, UInt64(total) <= ProcessInfo.processInfo.physicalMemory else {
            throw CheckpointError.corruptFile(path: path,
                reason: "'\(label)' claims \(count) elements, more than this machine's memory can hold")
        }
    }

    /// Whether a group can be listed by creation order (tracked and indexed, as `HDF5Writer` makes them).
    static func creationOrderIndexed(group: hid_t) -> Bool {
        let plist = H5Gget_create_plist(group)
        guard plist >= 0 else { return false }
        defer { H5Pclose(plist) }
        var flags: UInt32 = 0
        guard H5Pget_link_creation_order(plist, &flags) >= 0 else { return false }
        return flags & UInt32(H5P_CRT_ORDER_INDEXED) != 0
    }

    /// A key identifying the object behind a path (two hard links to one group share it).
    private func objectAddress(_ name: String) throws -> String {
        var info = H5O_info_t()
        guard H5Oget_info_by_name2(file, name, &info, UInt32(H5O_INFO_BASIC), snp_H5P_DEFAULT()) >= 0 else {
            throw readFailure(name, "cannot read the object header")
        }
        return "\(info.fileno):\(info.addr)"
    }

    /// A `.readFailed` for `name` carrying libhdf5's own explanation.
    func readFailure(_ name: String, _ what: String) -> CheckpointError {
        .readFailed(path: path, name: name, reason: HDF5Library.failure(what))
    }
}

/// What an HDF5 path names.
public enum HDF5ObjectKind: Equatable, Sendable {
    case group, dataset, namedType

    init?(_ type: H5O_type_t) {
        switch type {
        case H5O_TYPE_GROUP: self = .group
        case H5O_TYPE_DATASET: self = .dataset
        case H5O_TYPE_NAMED_DATATYPE: self = .namedType
        default: return nil
        }
    }
}

/// One member of a group: its full path and what it is (nil for a dangling link).
public struct HDF5Member: Equatable, Sendable {
    public var name: String
    public var kind: HDF5ObjectKind?
    /// The last component of the name (`c` for `a/b/c`).
    public var baseName: String { name.split(separator: "/").last.map(String.init) ?? name }
}

/// One dataset: full path (`a/b/c`), shape (`[]` for a scalar) and element type.
public struct HDF5DatasetInfo: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var type: HDF5ElementType

    public init(name: String, shape: [Int], type: HDF5ElementType) {
        self.name = name
        self.shape = shape
        self.type = type
    }

    /// The number of elements (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
}

// MARK: - Crash isolation

extension HDF5File {
    /// Reads a whole file (`readEverything`) somewhere libhdf5 may crash without taking this
    /// process with it (snp sets it to a child process: `snp` itself with `__validate-hdf5 PATH`);
    /// throws when that reader died or found the file damaged, so this process only ever opens
    /// files that were read completely once. Nil (libraries, tests): files are opened directly.
    nonisolated(unsafe) public static var isolatedReader: ((String) throws -> Void)? = nil

    nonisolated(unsafe) private static var validated: [String: String] = [:]
    private static let validatedLock = NSLock()

    /// Runs `isolatedReader` on `path` unless this very file (path, size, modification time,
    /// inode) passed already in this process.
    static func validateOnce(_ path: String) throws {
        guard let reader = isolatedReader else { return }
        let attributes = (try? FileManager.default.attributesOfItem(atPath: path)) ?? [:]
        let stamp = [FileAttributeKey.size, .modificationDate, .systemFileNumber].map { "\(attributes[$0] ?? "?")" }.joined(separator: "|")
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        if validatedLock.withLock({ validated[key] == stamp }) { return }
        try reader(path)
        validatedLock.withLock { validated[key] = stamp }
    }

    /// Reads everything in the file — every dataset (as its type reads), the attributes of the
    /// root, the groups and the datasets — as the isolated reader does, so that a crash on a
    /// damaged file happens there. What this reader cannot convert (compound types, missing
    /// filters) is skipped: that is not damage. Any other error is: the first one is thrown.
    public static func readEverything(_ path: String) throws {
        func tolerant(_ body: () throws -> Void) throws {
            do { try body() } catch let error as CheckpointError {
                switch error {
                case .unsupportedType, .missingFilter, .typeMismatch: return
                default: throw error
                }
            }
        }
        let file = try HDF5File(path: path)
        try tolerant { _ = try file.attributes() }
        for info in try file.datasets() {
            try tolerant { _ = try file.attributes(of: info.name) }
            try tolerant {
                switch info.type {
                case .string: _ = try file.readStrings(info.name)
                case .unsupported: return
                case _ where info.type.isInteger: _ = try file.readIntegers(info.name)
                default: _ = try file.readTensor(info.name)
                }
            }
        }
        for group in try file.groups() { try tolerant { _ = try file.attributes(of: group) } }
    }

    /// Every group below the root, depth first.
    func groups() throws -> [String] {
        var found: [String] = [], seen: Set<String> = [try objectAddress("/")]
        func visit(_ group: String) throws {
            for member in try members(of: group) where member.kind == .group {
                guard seen.insert(try objectAddress(member.name)).inserted else { continue }
                found.append(member.name)
                try visit(member.name)
            }
        }
        try visit("/")
        return found
    }
}

