import Checkpoints
import Engine
import Foundation
import Testing

/// Reads `h5py_types.h5`, written by h5py with every dtype and attribute kind a checkpoint may
/// hold, and compares every dataset and attribute with `h5py_types.json` from the same script.
@Suite struct H5pyTypesFixtureTests {
    static let fixture = Fixtures.json("h5py_types.json")
    static var datasets: [JSONValue] { fixture["datasets"].array }
    static var datasetPaths: [String] { datasets.compactMap { $0["path"].string } }

    let file: HDF5File
    init() throws { file = try HDF5File(path: Fixtures.path("h5py_types.h5")) }

    @Test func listsExactlyTheDatasetsH5pyWrote() throws {
        let listed = try file.datasets()
        #expect(Set(listed.map(\.name)) == Set(Self.datasetPaths))
        #expect(listed.count == Self.datasetPaths.count)
    }

    @Test(arguments: datasetPaths)
    func datasetMatchesH5py(_ path: String) throws {
        let expected = try #require(Self.datasets.first { $0["path"].string == path })
        let info = try file.datasetInfo(path)
        #expect(info.shape == expected["shape"].shape)
        #expect(info.type.description == expected["dtype"].string)

        let tensor = try file.readTensor(path)
        #expect(tensor.shape == expected["shape"].shape)
        // Every value converts to Float32 the same way on both sides: compare with ==.
        #expect(tensor.scalars == expected["values"].floats, "\(path)")

        if info.type.isInteger {
            #expect(try file.readIntegers(path) == expected["values"].integers, "\(path) as integers")
        }
        if info.type == .float64 {
            #expect(try file.readDoubles(path) == expected["values"].doubles)
        }
        for (name, value) in expected["attributes"].object {
            #expect(try file.attribute(name, of: path)?.stringValue == value.string, "\(path)@\(name)")
        }
    }

    @Test func bfloat16BitsMatchRawBits() throws {
        let expected = try #require(Self.datasets.first { $0["path"].string == "bfloat16" })
        let bits = expected["raw_bits"].integers.map { UInt16($0) }
        let tensor = try file.readTensor("bfloat16")
        #expect(tensor.scalars.map { UInt16($0.bitPattern >> 16) } == bits)
        #expect(tensor.scalars.allSatisfy { $0.bitPattern & 0xFFFF == 0 })
    }

    @Test func gzipChunkedDatasetIsDecompressed() throws {
        let expected = try #require(Self.datasets.first { $0["compression"].string == "gzip" })
        let path = try #require(expected["path"].string)
        #expect(try file.datasetInfo(path).shape == [8, 16])
        #expect(try file.readTensor(path).scalars == expected["values"].floats)
    }

    @Test func rootAttributesMatchH5py() throws {
        let expected = Self.fixture["attributes"]
        let attributes = try file.attributes()
        #expect(Set(attributes.keys) == Set(expected.object.keys))
        #expect(attributes["utf8_string"] == .string(try #require(expected["utf8_string"]["value"].string)))
        #expect(attributes["utf8_string"] == .string("café ✓"))
        #expect(attributes["fixed_bytes"] == .string(try #require(expected["fixed_bytes"]["value"].string)))
        #expect(attributes["int_attr"] == .int(try #require(expected["int_attr"]["value"].int64)))
        #expect(attributes["float_attr"] == .double(try #require(expected["float_attr"]["value"].double)))
        let config = try #require(attributes["config"]?.stringValue)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(config.utf8)) == expected["config"]["parsed"])
    }

    @Test func loadsAsACheckpointWithNestedAndDottedNames() throws {
        let checkpoint = try Checkpoint.load(Fixtures.path("h5py_types.h5"))
        #expect(checkpoint.tensors["a.b.c"]?.shape == [2, 2, 2])
        #expect(checkpoint.tensors["down_blocks.0.resnets.0.conv1.weight"]?.shape == [4, 2, 3, 3])
        #expect(checkpoint.tensors.count == Self.datasetPaths.count)
        #expect(checkpoint.architecture == "")
        #expect(try checkpoint.configDictionary()["model_type"] as? String == "tiny")
        #expect(checkpoint.training == nil)
    }
}
