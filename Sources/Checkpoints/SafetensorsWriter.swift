import Engine
import Foundation

/// The precision float tensors are written in.
public enum SafetensorsFloatType: Sendable {
    case float32
    /// IEEE half (`F16`): half the size; values beyond ±65504 become infinite.
    case float16

    var dtype: SafetensorsDType { self == .float32 ? .F32 : .F16 }
}

extension SafetensorsFile {
    /// Writes `tensors` as a safetensors file at `path`, atomically (temporary file + rename).
    ///
    /// The output is deterministic: tensors sorted by name in both the header and the data,
    /// `__metadata__` first when there is any, and the header padded with spaces to a multiple
    /// of 8 bytes so the data starts aligned (as the format asks).
    public static func write(_ tensors: NamedTensors, to path: String, as type: SafetensorsFloatType = .float32,
                             metadata: [String: String] = [:]) throws {
        let names = tensors.names.sorted()
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            let byteCount = tensor.count * type.dtype.size
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(name)):{\"dtype\":\"\(type.dtype.rawValue)\",\"shape\":[\(shape)],"
                          + "\"data_offsets\":[\(offset),\(offset + byteCount)]}")
            offset += byteCount
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        header.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        try AtomicWrite.file(at: path) { temporary in
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else {
                throw CheckpointError.writeFailed(path: path, reason: "cannot create \(temporary): \(errnoText())")
            }
            defer { close(descriptor) }
            func write(_ bytes: UnsafeRawBufferPointer) throws {
                var done = 0
                while done < bytes.count {
                    let written = Foundation.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { throw CheckpointError.writeFailed(path: path, reason: errnoText()) }
                    done += written
                }
            }
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try write($0) }
            try header.withUnsafeBytes { try write($0) }
            for name in names {
                let tensor = tensors[name]!
                switch type {
                case .float32:
                    try tensor.withBuffer { try write(UnsafeRawBufferPointer($0)) }
                case .float16:
                    let bits = tensor.withBuffer { $0.map { HalfPrecision.halfBits($0).littleEndian } }
                    try bits.withUnsafeBytes { try write($0) }
                }
            }
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, the rest UTF-8.
    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
