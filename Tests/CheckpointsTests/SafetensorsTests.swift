import Checkpoints
import Engine
import Foundation
import Testing

@Suite struct SafetensorsTests {
    static let expected = Fixtures.expected["safetensors/types.safetensors"]
    static let names = expected["tensors"].object.keys.sorted()
    let path = Fixtures.path("safetensors/types.safetensors")

    // MARK: - Reading what the reference `safetensors` package wrote

    @Test(arguments: names)
    func tensorMatchesTheReferenceWriter(_ name: String) throws {
        let file = try SafetensorsFile(path: path)
        let expected = Self.expected["tensors"][name]
        let entry = try file.entry(name)
        #expect(entry.dtype.rawValue == expected["dtype"].string)
        #expect(entry.shape == expected["shape"].shape)
        let tensor = try file.readTensor(name)
        #expect(tensor.shape == expected["shape"].shape)
        #expect(tensor.scalars == expected["values"].floats)
        if entry.dtype.isInteger {
            #expect(try file.readIntegers(name) == expected["ints"].integers)
        } else {
            #expect(throws: CheckpointError.typeMismatch(path: path, name: name, expected: "integers", actual: entry.dtype.rawValue)) {
                try file.readIntegers(name)
            }
        }
    }

    @Test func headerAndMetadata() throws {
        let file = try SafetensorsFile(path: path)
        #expect(Set(file.names) == Set(Self.names))
        #expect(file.metadata == ["format": "pt", "note": "snoopi fixture"])
        // Entries come in data order, back to back.
        let ranges = file.entries.map(\.byteRange)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(try file.readIntegers("i64") == [-(1 << 40), -1, 0, (1 << 53) + 1])   // exact beyond 2^24
        #expect(try file.readTensors(only: "text_model.**").names == ["text_model.embeddings.position_ids"])
        #expect(throws: CheckpointError.notFound(path: path, name: "absent")) { try file.readTensor("absent") }
    }

    // MARK: - Writing

    @Test func writeThenReadFloat32IsExact() throws {
        try withTemporaryFolder { folder throws in
            var tensors = NamedTensors()
            tensors["b.weight"] = sample([3, 5], seed: 1)
            tensors["a.bias"] = sample([5], seed: 2)
            tensors["scalar"] = Tensor(scalar: -1.5)
            tensors["empty"] = Tensor.zeros([2, 0])
            tensors["quote\"name"] = Tensor([1])
            let path = folder + "/out.safetensors"
            try SafetensorsFile.write(tensors, to: path, metadata: ["format": "pt", "made by": "snoopi"])
            let file = try SafetensorsFile(path: path)
            #expect(file.names == tensors.names.sorted())
            #expect(file.metadata == ["format": "pt", "made by": "snoopi"])
            #expect(file.entries.allSatisfy { $0.dtype == .F32 })
            for (name, tensor) in tensors { expectIdentical(try file.readTensor(name), tensor, name) }
            #expect(try temporaryLeftovers(in: folder).isEmpty)
        }
    }

    @Test func writeFloat16RoundsToHalf() throws {
        try withTemporaryFolder { folder throws in
            var tensors = NamedTensors()
            tensors["x"] = sample([50], seed: 4)
            let path = folder + "/half.safetensors"
            try SafetensorsFile.write(tensors, to: path, as: .float16)
            let file = try SafetensorsFile(path: path)
            #expect(try file.entry("x").dtype == .F16)
            #expect(try file.readTensor("x").scalars == tensors["x"]!.scalars.map { Float(Float16($0)) })
        }
    }

    @Test func outputIsDeterministicAndAligned() throws {
        try withTemporaryFolder { folder throws in
            var forward = NamedTensors(), backward = NamedTensors()
            for name in ["c", "a", "b"] { forward[name] = sample([3], seed: UInt64(name.unicodeScalars.first!.value)) }
            for name in ["b", "a", "c"] { backward[name] = forward[name] }
            try SafetensorsFile.write(forward, to: folder + "/1.safetensors", metadata: ["k": "v", "a": "b"])
            try SafetensorsFile.write(backward, to: folder + "/2.safetensors", metadata: ["a": "b", "k": "v"])
            let first = try Data(contentsOf: URL(fileURLWithPath: folder + "/1.safetensors"))
            let second = try Data(contentsOf: URL(fileURLWithPath: folder + "/2.safetensors"))
            #expect(first == second)
            let headerLength = Int(first.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            #expect(headerLength % 8 == 0)
            let header = String(decoding: first[8..<(8 + headerLength)], as: UTF8.self)
            #expect(header.hasPrefix(#"{"__metadata__":{"a":"b","k":"v"},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}"#))
            #expect(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
            #expect(first.count == 8 + headerLength + 3 * 3 * 4)
        }
    }

    @Test(.enabled(if: ReferencePython.available, "needs .venv/bin/python with safetensors"))
    func referenceReaderReadsOurFiles() throws {
        try withTemporaryFolder { folder throws in
            var tensors = NamedTensors()
            tensors["w"] = try Tensor([1, -2.5, 3, 0.125], shape: [2, 2])
            tensors["h"] = Tensor([0.1, 2])
            try SafetensorsFile.write(tensors, to: folder + "/f32.safetensors", metadata: ["format": "pt"])
            try SafetensorsFile.write(tensors, to: folder + "/f16.safetensors", as: .float16)
            let output = try ReferencePython.run("""
                import json, sys
                from safetensors.numpy import load_file
                from safetensors import safe_open
                out = {}
                for name in sys.argv[1:]:
                    tensors = load_file(name)
                    with safe_open(name, "np") as f:
                        meta = f.metadata()
                    out[name.split("/")[-1]] = {"meta": meta or {},
                        **{k: [str(v.dtype), list(v.shape), [float(x) for x in v.reshape(-1)]] for k, v in tensors.items()}}
                print(json.dumps(out))
                """, arguments: [folder + "/f32.safetensors", folder + "/f16.safetensors"])
            let result = try JSONDecoder().decode(JSONValue.self, from: Data(output.utf8))
            #expect(result["f32.safetensors"]["meta"] == .object(["format": .string("pt")]))
            #expect(result["f32.safetensors"]["w"].array.first?.string == "float32")
            #expect(result["f32.safetensors"]["w"].array.dropFirst().first?.shape == [2, 2])
            #expect(result["f32.safetensors"]["w"].array.last?.floats == [1, -2.5, 3, 0.125])
            #expect(result["f32.safetensors"]["h"].array.last?.floats == [0.1, 2])
            #expect(result["f16.safetensors"]["h"].array.first?.string == "float16")
            #expect(result["f16.safetensors"]["h"].array.last?.floats == [Float(Float16(Float(0.1))), 2])
        }
    }

    // MARK: - Broken files

    static func broken(_ name: String) -> String { Fixtures.path("safetensors/broken/\(name).safetensors") }

    @Test func truncatedData() {
        let path = Self.broken("truncated")
        let error = #expect(throws: CheckpointError.self) { try SafetensorsFile(path: path) }
        guard case let .corruptFile(errorPath, reason)? = error else {
            Issue.record("expected .corruptFile, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path && reason.contains("tensor 'b' ends at byte"), "\(reason)")
    }

    @Test func headerLengthBeyondTheFile() {
        let path = Self.broken("header_length")
        #expect(throws: CheckpointError.corruptFile(path: path, reason: "the header length 1000000 runs past the end of the 160-byte file")) {
            try SafetensorsFile(path: path)
        }
    }

    @Test func shorterThanTheLengthField() {
        let path = Self.broken("short")
        #expect(throws: CheckpointError.corruptFile(path: path, reason: "5 bytes, shorter than the 8-byte header length")) {
            try SafetensorsFile(path: path)
        }
    }

    @Test func badJSON() {
        let path = Self.broken("bad_json")
        let error = #expect(throws: CheckpointError.self) { try SafetensorsFile(path: path) }
        guard case let .invalidSafetensors(errorPath, reason)? = error else {
            Issue.record("expected .invalidSafetensors, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path && reason.hasPrefix("the header is not valid JSON"))
        #expect(error?.description.hasPrefix("\(path): invalid safetensors file") == true)
    }

    @Test func offsetsOutOfRange() {
        let path = Self.broken("offsets_out_of_range")
        #expect(throws: CheckpointError.corruptFile(path: path,
                reason: "tensor 'b' ends at byte 4024 of the data, but the file holds only 40 data bytes")) {
            try SafetensorsFile(path: path)
        }
    }

    @Test func overlappingTensors() {
        let path = Self.broken("overlapping")
        #expect(throws: CheckpointError.invalidSafetensors(path: path,
                reason: "tensors 'a' and 'b' overlap (bytes 0..<24 and 16..<32)")) {
            try SafetensorsFile(path: path)
        }
    }

    @Test func unknownDType() {
        let path = Self.broken("unknown_dtype")
        #expect(throws: CheckpointError.unsupportedType(path: path, name: "b", type: "dtype Q4")) {
            try SafetensorsFile(path: path)
        }
    }

    @Test func sizeNotMatchingTheShapeAndMissingFile() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/lying.safetensors"
            var header = Array(#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#.utf8)
            header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
            var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
            bytes += Array(repeating: 0, count: 8)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: CheckpointError.self) { try SafetensorsFile(path: path) }
            guard case .invalidSafetensors(path, _)? = error else {
                Issue.record("expected .invalidSafetensors, got \(String(describing: error))")
                return
            }
            #expect(throws: CheckpointError.fileNotFound(path: folder + "/none.safetensors")) {
                try SafetensorsFile(path: folder + "/none.safetensors")
            }
        }
    }
}
