import Checkpoints
import Engine
import Foundation
import Testing

@Suite struct HDF5WriterTests {
    @Test func everythingWrittenReadsBack() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/all.h5"
            let weight = sample([3, 4], seed: 1)
            try HDF5Writer.write(to: path) { file in
                try file.write(weight, to: "z_first")
                try file.write(Tensor(scalar: 2.5), to: "scalar")
                try file.write(Tensor.zeros([0, 3]), to: "empty")
                try file.write(integers: [1, -2, Int64.max, Int64.min], shape: [2, 2], to: "deep/nested/ids")
                try file.write(doubles: [0.1, 1.0 / 3.0], to: "deep/values")
                try file.setAttribute("text", .string("unicode ✓ é"))
                try file.setAttribute("count", .int(-7))
                try file.setAttribute("rate", .double(1e-4))
                try file.setAttribute("sizes", .ints([1, 2, 3]), on: "deep")
                try file.setAttribute("scales", .doubles([0.5, 2]), on: "deep/nested/ids")
                try file.setAttribute("count", .int(8))   // replaces
            }
            let file = try HDF5File(path: path)
            expectIdentical(try file.readTensor("z_first"), weight, "z_first")
            #expect(try file.readTensor("scalar").shape == [])
            #expect(try file.readTensor("scalar").item() == 2.5)
            #expect(try file.readTensor("empty").shape == [0, 3])
            #expect(try file.datasetInfo("deep/nested/ids") == HDF5DatasetInfo(name: "deep/nested/ids", shape: [2, 2], type: .int64))
            #expect(try file.readIntegers("deep/nested/ids") == [1, -2, Int64.max, Int64.min])
            #expect(try file.readDoubles("deep/values") == [0.1, 1.0 / 3.0])
            #expect(try file.attributes() == ["text": .string("unicode ✓ é"), "count": .int(8), "rate": .double(1e-4)])
            #expect(try file.attribute("sizes", of: "deep") == .ints([1, 2, 3]))
            #expect(try file.attribute("scales", of: "deep/nested/ids") == .doubles([0.5, 2]))
            // Creation order is kept, not alphabetical order.
            #expect(try file.members().map(\.name) == ["z_first", "scalar", "empty", "deep"])
            #expect(try file.datasets().map(\.name) == ["z_first", "scalar", "empty", "deep/nested/ids", "deep/values"])
        }
    }

    @Test func float16StorageRoundTripsWithinHalfPrecision() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/half.h5"
            let values = sample([64], seed: 3)
            let exact = Tensor([0, 1, -2, 0.5, 65504, -65504, 0.000061035156, 1e-7, 1e6])
            try HDF5Writer.write(to: path) { file in
                try file.write(values, to: "values", as: .float16)
                try file.write(exact, to: "exact", as: .float16)
            }
            let file = try HDF5File(path: path)
            #expect(try file.datasetInfo("values").type == .float16)
            let read = try file.readTensor("values")
            for (a, b) in zip(read.scalars, values.scalars) {
                // Half has 11 significant bits: relative error ≤ 2^-11 for normal numbers.
                #expect(abs(a - b) <= abs(b) * 0x1p-11 + 0x1p-24, "\(a) vs \(b)")
            }
            #expect(read.scalars == values.scalars.map { Float(Float16($0)) })
            // Representable values are exact; 1e-7 rounds to the nearest subnormal; 1e6 overflows.
            #expect(try file.readTensor("exact").scalars == [0, 1, -2, 0.5, 65504, -65504, 0.000061035156,
                                                             Float(Float16(Float(1e-7))), .infinity])
        }
    }

    @Test func invalidNamesAreRejected() throws {
        try withTemporaryFolder { folder throws in
            for name in ["", "a//b", "a/./b", "../up", "/"] {
                let error = #expect(throws: CheckpointError.self) {
                    try HDF5Writer.write(to: folder + "/bad.h5") { try $0.write(Tensor([1]), to: name) }
                }
                guard case .invalidName? = error else {
                    Issue.record("\(name): expected .invalidName, got \(String(describing: error))")
                    continue
                }
            }
            #expect(try temporaryLeftovers(in: folder).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: folder + "/bad.h5"))
        }
    }

    @Test func missingDestinationFolder() throws {
        let path = "/nonexistent-snoopi-folder/out.h5"
        let error = #expect(throws: CheckpointError.self) { try HDF5Writer.write(to: path) { _ in } }
        guard case let .writeFailed(errorPath, reason)? = error else {
            Issue.record("expected .writeFailed, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path && reason.contains("does not exist"))
    }

    // MARK: - Atomic writes

    struct Interrupted: Error {}

    /// Each way a write can fail midway, after some data went to the temporary file.
    static let failures: [(label: String, body: (HDF5Writer) throws -> Void)] = [
        ("throwing body", { file in
            try file.write(Tensor.ones([100]), to: "partial")
            throw Interrupted()
        }),
        ("invalid dataset name", { file in
            try file.write(Tensor.ones([100]), to: "partial")
            try file.write(Tensor.ones([1]), to: "bad//name")
        }),
        ("duplicate dataset", { file in
            try file.write(Tensor.ones([100]), to: "partial")
            try file.write(Tensor.ones([1]), to: "partial")
        }),
        ("attribute on a missing object", { file in
            try file.write(Tensor.ones([100]), to: "partial")
            try file.setAttribute("x", .int(1), on: "missing")
        }),
    ]

    @Test(arguments: 0..<failures.count)
    func failedWriteLeavesTheOldFileByteIdentical(_ index: Int) throws {
        let failure = Self.failures[index]
        try withTemporaryFolder { folder throws in
            let path = folder + "/model.h5"
            try HDF5Writer.write(to: path) { file in
                try file.write(sample([8], seed: 9), to: "original")
                try file.setAttribute("version", .int(1))
            }
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self, "\(failure.label)") { try HDF5Writer.write(to: path, failure.body) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(failure.label)")
            #expect(try temporaryLeftovers(in: folder).isEmpty, "\(failure.label)")
            #expect(try HDF5File(path: path).attribute("version") == .int(1))
        }
    }

    @Test func successfulWriteReplacesTheOldFile() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/model.h5"
            try HDF5Writer.write(to: path) { try $0.setAttribute("version", .int(1)) }
            try HDF5Writer.write(to: path) { try $0.setAttribute("version", .int(2)) }
            #expect(try HDF5File(path: path).attribute("version") == .int(2))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["model.h5"])
        }
    }

    // MARK: - h5py reads what we write

    @Test(.enabled(if: ReferencePython.available, "needs .venv/bin/python with h5py"))
    func h5pyReadsOurFiles() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/for_h5py.h5"
            try HDF5Writer.write(to: path) { file in
                try file.write(Tensor([1.5, -2, 3], shape: [1, 3]), to: "weights.a")
                try file.write(Tensor([0.1, 65504]), to: "group/half", as: .float16)
                try file.write(integers: [5, 6], to: "group/ids")
                try file.setAttribute("config", .string("{\"x\": \"é\"}"))
                try file.setAttribute("step", .int(3))
                try file.setAttribute("lr", .double(0.25))
                try file.setAttribute("shape", .ints([2, 3]), on: "group")
            }
            let output = try ReferencePython.run("""
                import h5py, json, sys
                f = h5py.File(sys.argv[1], "r")
                out = {
                  "config": [type(f.attrs["config"]).__name__, f.attrs["config"]],
                  "step": [f.attrs["step"].dtype.name, int(f.attrs["step"])],
                  "lr": float(f.attrs["lr"]),
                  "shape": [int(x) for x in f["group"].attrs["shape"]],
                  "a": [f["weights.a"].dtype.name, list(f["weights.a"].shape), [float(x) for x in f["weights.a"][0]]],
                  "half": [f["group/half"].dtype.name, [float(x) for x in f["group/half"][:]]],
                  "ids": [f["group/ids"].dtype.name, [int(x) for x in f["group/ids"][:]]],
                }
                print(json.dumps(out))
                """, arguments: [path])
            let result = try JSONDecoder().decode(JSONValue.self, from: Data(output.utf8))
            #expect(result["config"] == .array([.string("str"), .string("{\"x\": \"é\"}")]))
            #expect(result["step"] == .array([.string("int64"), .int(3)]))
            #expect(result["lr"].double == 0.25)
            #expect(result["shape"].integers == [2, 3])
            #expect(result["a"].array.first?.string == "float32")
            #expect(result["a"].array.dropFirst().first?.shape == [1, 3])
            #expect(result["a"].array.last?.floats == [1.5, -2, 3])
            #expect(result["half"].array.first?.string == "float16")
            #expect(result["half"].array.last?.floats == [Float(Float16(Float(0.1))), 65504])
            #expect(result["ids"] == .array([.string("int64"), .array([.int(5), .int(6)])]))
        }
    }
}
