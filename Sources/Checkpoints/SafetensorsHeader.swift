import Foundation

/// The parsed and checked JSON header of a safetensors file.
struct SafetensorsHeader {
    var metadata: [String: String] = [:]
    /// Sorted by data offset.
    var entries: [SafetensorsEntry] = []

    /// Parses `json` and checks every entry against the format and against `dataSize`, the
    /// number of bytes after the header.
    init(json: [UInt8], dataSize: Int, path: String) throws {
        func invalid(_ reason: String) -> CheckpointError { .invalidSafetensors(path: path, reason: reason) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw invalid("the header is not valid JSON (\(error.localizedDescription))")
        }
        guard let header = object as? [String: Any] else { throw invalid("the header is not a JSON object") }

        for (name, value) in header {
            if name == "__metadata__" {
                guard let strings = value as? [String: String] else { throw invalid("__metadata__ must map strings to strings") }
                metadata = strings
                continue
            }
            guard let fields = value as? [String: Any] else { throw invalid("entry '\(name)' is not an object") }
            guard let dtypeText = fields["dtype"] as? String else { throw invalid("entry '\(name)' has no dtype") }
            guard let dtype = SafetensorsDType(rawValue: dtypeText) else {
                throw CheckpointError.unsupportedType(path: path, name: name, type: "dtype \(dtypeText)")
            }
            guard let shape = SafetensorsHeader.integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw invalid("entry '\(name)' has no valid shape")
            }
            guard let offsets = SafetensorsHeader.integers(fields["data_offsets"]), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw invalid("entry '\(name)' has no valid data_offsets [begin, end]")
            }
            let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let byteCount = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, !byteCount.overflow, byteCount.partialValue == offsets[1] - offsets[0] else {
                throw invalid("entry '\(name)': data_offsets \(offsets) hold \(offsets[1] - offsets[0]) bytes, "
                              + "but \(dtypeText) of shape \(shape) needs \(count) × \(dtype.size)")
            }
            guard offsets[1] <= dataSize else {
                throw CheckpointError.corruptFile(path: path,
                    reason: "tensor '\(name)' ends at byte \(offsets[1]) of the data, but the file holds only \(dataSize) data bytes")
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1]))
        }

        entries.sort { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        for (previous, next) in zip(entries, entries.dropFirst())
        where next.byteRange.lowerBound < previous.byteRange.upperBound && !next.byteRange.isEmpty {
            throw invalid("tensors '\(previous.name)' and '\(next.name)' overlap (bytes \(previous.byteRange) and \(next.byteRange))")
        }
    }

    /// A JSON array of non-fractional numbers as Ints, or nil.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let numbers = value as? [NSNumber] else { return nil }
        var result: [Int] = []
        for number in numbers {
            // NOTE: NSNumber's intValue truncates 1.5 to 1; only exact integers pass.
            guard let exact = Int(exactly: number.doubleValue) else { return nil }
            result.append(exact)
        }
        return result
    }
}
