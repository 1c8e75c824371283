@testable import Checkpoints
import Engine
import Foundation
import Testing

@Suite struct IntegrityTests {
    /// Single-word changes always change the checksum (each step is a bijection of the state);
    /// the value is fixed (files written today must verify tomorrow).
    @Test func checksumSeesEveryWordAndIsStable() {
        var bytes = [UInt8](repeating: 0, count: 37)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        let reference = bytes.withUnsafeBufferPointer { Checksum64.of($0.baseAddress!, count: $0.count) }
        // The value Scripts/checksum_reference.py (the algorithm transcribed in Python) prints.
        #expect(reference == "fb4684123cf3e34e")
        for i in bytes.indices {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[i] ^= UInt8(1 << bit)
                #expect(damaged.withUnsafeBufferPointer { Checksum64.of($0.baseAddress!, count: $0.count) } != reference)
            }
        }
        // Pieces of whole words give the same result as one piece.
        var pieces = Checksum64()
        bytes.withUnsafeBytes { all in
            pieces.add(UnsafeRawBufferPointer(rebasing: all[0..<16]))
            pieces.add(UnsafeRawBufferPointer(rebasing: all[16...]))
        }
        #expect(pieces.hex == reference)
        #expect([UInt8]().withUnsafeBufferPointer { Checksum64.of($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: 0) } != reference)
    }

    /// Every byte of a Snoopi-written tensor's data, flipped, makes reading it fail with an error
    /// naming the tensor; so does a damaged checksum; the undamaged file reads back.
    @Test func everyFlippedDataByteIsDetected() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/weights.h5"
            let weight = sample([8, 16], seed: 3)
            try HDF5Writer.write(to: path) { file in
                try file.write(weight, to: "block.weight")
                try file.write(weight, to: "block.half", as: .float16)
                try file.write(integers: [3, 1, 4, 1, 5, 9, 2, 6], to: "ids")
                try file.write(doubles: [0.25, 1e-7, -3], to: "history")
            }
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let file = try HDF5File(path: path)
            expectIdentical(try file.readTensor("block.weight"), weight, "block.weight")
            #expect(try file.attribute(HDF5File.checksumAttribute, of: "block.weight") != nil)

            // The data's bytes are found by their values (contiguous storage, little-endian).
            let regions: [(String, [UInt8])] = [
                ("block.weight", weight.scalars.withUnsafeBytes { Array($0) }),
                ("block.half", weight.scalars.map(HalfPrecision.halfBits).withUnsafeBytes { Array($0) }),
                ("ids", [Int64]([3, 1, 4, 1, 5, 9, 2, 6]).withUnsafeBytes { Array($0) }),
                ("history", [0.25, 1e-7, -3.0].withUnsafeBytes { Array($0) }),
            ]
            let damagedPath = folder + "/damaged.h5"
            for (name, data) in regions {
                let start = try #require(find(data, in: original), "the data of \(name) is in the file")
                for offset in start..<(start + data.count) {
                    var bytes = original
                    bytes[offset] ^= 0x5a
                    try Data(bytes).write(to: URL(fileURLWithPath: damagedPath))
                    let damaged = try HDF5File(path: damagedPath)
                    #expect(throws: CheckpointError.checksumMismatch(path: damagedPath, name: name)) {
                        if name == "ids" { _ = try damaged.readIntegers(name) }
                        else if name == "history" { _ = try damaged.readDoubles(name) }
                        else { _ = try damaged.readTensor(name) }
                    }
                }
            }
            // A flipped digit of the stored checksum is damage too.
            let stored = try #require(try file.attribute(HDF5File.checksumAttribute, of: "block.weight"))
            guard case .string(let hex) = stored else { Issue.record("checksum is not a string"); return }
            let at = try #require(find(Array(hex.utf8), in: original))
            var bytes = original
            bytes[at] = bytes[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            try Data(bytes).write(to: URL(fileURLWithPath: damagedPath))
            #expect(throws: CheckpointError.checksumMismatch(path: damagedPath, name: "block.weight")) {
                _ = try HDF5File(path: damagedPath).readTensor("block.weight")
            }
            #expect(CheckpointError.checksumMismatch(path: "m.h5", name: "w").description.contains("'w' does not match its checksum"))
        }
    }
}

private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
    }
    return nil
}

@Suite struct CraftedCheckpointTests {
    /// Well-formed files with wrong content: a Snoopi checkpoint's tensor stored as integers, a
    /// non-finite weight, a tensor declaring more elements than memory holds — each a clear error
    /// naming the tensor; an h5py-style file's integer buffer (no Snoopi format attribute) and a
    /// float64 tensor still load.
    @Test func wrongContentIsAnErrorNamingTheTensor() throws {
        try withTemporaryFolder { folder throws in
            let weight = sample([4, 3], seed: 1)
            func write(_ name: String, snoopi: Bool = true, _ body: (HDF5Writer) throws -> Void) throws -> String {
                let path = "\(folder)/\(name).h5"
                try HDF5Writer.write(to: path) { file in
                    if snoopi { try file.setAttribute("format", .string(Checkpoint.format)) }
                    try file.write(weight, to: "conv.bias")
                    try body(file)
                }
                return path
            }
            func message(_ path: String) -> String {
                do { _ = try Checkpoint.load(path); return "(loaded)" } catch { return String(describing: error) }
            }
            let integers = try write("integers") { try $0.write(integers: [1, 2, 3], to: "conv.weight") }
            #expect(message(integers).contains("tensor conv.weight is stored as int64, but Snoopi writes tensors as floating point"), "\(message(integers))")
            let nan = try write("nan") { try $0.write(Tensor.full([2, 2], .nan), to: "conv.weight") }
            #expect(message(nan).contains("tensor conv.weight holds nan at element 0: weights must be finite"), "\(message(nan))")
            let infinite = weight.copy()
            infinite.storage.pointer[5] = -.infinity
            let inf = try write("inf") { try $0.write(infinite, to: "conv.weight") }
            #expect(message(inf).contains("tensor conv.weight holds -inf at element 5"), "\(message(inf))")
            let huge = try write("huge") { try $0.declare("conv.weight", shape: [1 << 20, 1 << 20]) }
            #expect(message(huge).contains("'conv.weight' claims 1099511627776 elements, more than this machine's memory can hold"), "\(message(huge))")
            #expect((try FileManager.default.attributesOfItem(atPath: huge)[.size] as? Int ?? .max) < 100_000)
            // What h5py files may hold.
            let buffer = try write("buffer", snoopi: false) { try $0.write(integers: [0, 1, 2], to: "position_ids") }
            #expect(try Checkpoint.load(buffer).tensors["position_ids"]?.scalars == [0, 1, 2])
            let double = try write("double") { try $0.write(doubles: [0.5, -2], to: "conv.weight") }
            #expect(try Checkpoint.load(double).tensors["conv.weight"]?.scalars == [0.5, -2])
        }
    }
}
