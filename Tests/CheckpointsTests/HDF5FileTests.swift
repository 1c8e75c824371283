import Checkpoints
import Engine
import Foundation
import Testing

/// `HDF5File` against h5py_extras.h5 (the types h5py_types.h5 does not cover) and against
/// every kind of bad input.
@Suite struct HDF5FileTests {
    static let expected = Fixtures.expected["h5py_extras.h5"]
    let path = Fixtures.path("h5py_extras.h5")

    /// bfloat16 as an opaque type tagged "bfloat16", and as an HDF5 float with its bit layout.
    @Test(arguments: ["bf16_opaque", "bf16_float"])
    func bfloat16Encodings(_ name: String) throws {
        let file = try HDF5File(path: path)
        #expect(try file.datasetInfo(name).type == .bfloat16)
        #expect(try file.readTensor(name).scalars == Self.expected["datasets"][name]["values"].floats)
        #expect(try file.readTensor(name).scalars == [1.5, -0.00390625, Float(bitPattern: 0x7F62_0000), -2])
    }

    @Test(arguments: ["uint16", "uint32", "uint64", "int64_ids"])
    func integerDatasetsReadExactly(_ name: String) throws {
        let file = try HDF5File(path: path)
        let expected = Self.expected["datasets"][name]
        let info = try file.datasetInfo(name)
        #expect(info.type.description == expected["dtype"].string)
        #expect(info.shape == expected["shape"].shape)
        #expect(try file.readIntegers(name) == expected["ints"].integers)
        #expect(try file.readTensor(name).scalars == expected["values"].floats)
    }

    @Test func chunkedGzipFloat16() throws {
        let file = try HDF5File(path: path)
        #expect(try file.datasetInfo("half_chunked").type == .float16)
        #expect(try file.readTensor("half_chunked").scalars == Self.expected["datasets"]["half_chunked"]["values"].floats)
    }

    @Test func attributesOnGroupsAndDatasets() throws {
        let file = try HDF5File(path: path)
        let attributes = try file.attributes(of: "group/inner")
        #expect(attributes["ints"] == .ints([1, -2, 3]))
        #expect(attributes["floats"] == .doubles([0.5, 1e-3]))
        #expect(attributes["flag"] == .int(1))
        #expect(attributes["f32"] == .double(0.25))
        #expect(attributes["spaced"] == .string("pad  "))
        #expect(attributes["name"] == .string("inner group ✓"))
        // A uint64 beyond Int64.max keeps its bits.
        let seed = try #require(attributes["seed"]?.intValue)
        #expect(UInt64(bitPattern: seed) == Self.expected["attributes"]["group/inner"]["seed"]["uint64"].uint64)
        #expect(try file.attributeNames(of: "group/inner") == attributes.keys.sorted())

        #expect(try file.attribute("unit", of: "uint16") == .string("count"))
        #expect(try file.attribute("scale", of: "uint16") == .int(3))
        #expect(try file.attribute("absent", of: "uint16") == nil)
        #expect(throws: CheckpointError.attributeNotFound(path: path, object: "uint16", name: "absent")) {
            try file.requiredAttribute("absent", of: "uint16")
        }
    }

    @Test func kindsAndMembers() throws {
        let file = try HDF5File(path: path)
        #expect(try file.kind(of: "group") == .group)
        #expect(try file.kind(of: "/group/inner") == .group)
        #expect(try file.kind(of: "uint16") == .dataset)
        #expect(try file.kind(of: "nothing/here") == nil)
        #expect(try file.members(of: "group").map(\.name) == ["group/inner"])
        #expect(try file.members().contains { $0.name == "bf16_opaque" && $0.kind == .dataset })
    }

    @Test func unsupportedDatasetsAreErrorsNamingThem() throws {
        let file = try HDF5File(path: path)
        #expect(throws: CheckpointError.unsupportedType(path: path, name: "text", type: "string")) {
            try file.readTensor("text")
        }
        #expect(throws: CheckpointError.unsupportedType(path: path, name: "compound", type: "compound")) {
            try file.readTensor("compound")
        }
        #expect(throws: CheckpointError.typeMismatch(path: path, name: "half_chunked", expected: "integers", actual: "float16")) {
            try file.readIntegers("half_chunked")
        }
        let error = #expect(throws: CheckpointError.self) { try file.readTensor("lzf") }
        guard case let .missingFilter(errorPath, name, filter)? = error else {
            Issue.record("expected .missingFilter, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path && name == "lzf" && filter.contains("32000"))
        #expect(error?.description.contains("lzf") == true)
    }

    // MARK: - Bad input

    @Test func missingFile() {
        #expect(throws: CheckpointError.fileNotFound(path: "/nonexistent/model.h5")) {
            try HDF5File(path: "/nonexistent/model.h5")
        }
    }

    @Test func textFileNamedH5() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/notes.h5"
            try "just some text\n".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(throws: CheckpointError.notHDF5(path: path)) { try HDF5File(path: path) }
            #expect(throws: CheckpointError.notHDF5(path: folder)) { try HDF5File(path: folder) }
            #expect(CheckpointError.notHDF5(path: path).description == "\(path): not an HDF5 file")
        }
    }

    @Test(arguments: [100, 2048, 9000])
    func truncatedFile(keeping bytes: Int) throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/truncated.h5"
            let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("h5py_types.h5")))
            try whole.prefix(bytes).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: CheckpointError.self) { try Checkpoint.load(path) }
            guard case let .corruptFile(errorPath, reason)? = error else {
                Issue.record("expected .corruptFile, got \(String(describing: error))")
                return
            }
            #expect(errorPath == path)
            #expect(reason.contains("truncated"), "\(reason)")
            #expect(error?.description.hasPrefix(path) == true)
        }
    }

    @Test func missingDataset() throws {
        let file = try HDF5File(path: path)
        #expect(throws: CheckpointError.notFound(path: path, name: "no/such/dataset")) { try file.readTensor("no/such/dataset") }
        #expect(throws: CheckpointError.notFound(path: path, name: "group")) { try file.readTensor("group") }
        #expect(throws: CheckpointError.notFound(path: path, name: "missing")) { try file.attributes(of: "missing") }
        #expect(CheckpointError.notFound(path: path, name: "x").description.contains("'x'"))
    }

    @Test func malformedNames() throws {
        let file = try HDF5File(path: path)
        #expect(throws: CheckpointError.self) { try file.readTensor("a//b") }
        #expect(throws: CheckpointError.self) { try file.readTensor("") }
    }
}
