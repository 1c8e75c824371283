import Engine
import Foundation

/// What a unigram tokenizer needs from a SentencePiece `.model` file (`spiece.model`, a
/// `ModelProto` protobuf): the pieces with their scores and types (field 1: piece 1, score 2,
/// type 3: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte),
/// the trainer's model type (field 2 → model_type 3: 1 unigram, 2 BPE, 3 word, 4 char) and the
/// normaliser's precompiled charsmap (field 3 → 2). Read with a minimal protobuf wire-format
/// reader; every other field is skipped.
public struct SentencePieceModelFile: Sendable {
    public let pieces: [(piece: String, score: Float, type: Int)]
    public let modelType: Int
    public let precompiledCharsMap: [UInt8]

    /// The type of control pieces (`<pad>`, `</s>`): tokens, not text.
    public static let controlType = 3
    /// The model types by their ModelProto number, for messages.
    static let modelTypeNames = [1: "unigram", 2: "BPE", 3: "word", 4: "char"]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.badTokenizer(path: path, reason: "missing or unreadable")
        }
        FileAccessLog.read(path)
        do {
            var pieces: [(String, Float, Int)] = [], modelType = 1, charsMap: [UInt8] = []
            var model = ProtobufReader(Array(data))
            while let (field, value) = try model.next() {
                switch (field, value) {
                case (1, .bytes(let bytes)):
                    var piece = ProtobufReader(bytes), text = "", score: Float = 0, type = 1
                    while let (f, v) = try piece.next() {
                        if f == 1, case .bytes(let b) = v {
                            guard let s = String(validating: b, as: UTF8.self) else { throw ProtobufReader.Malformed(what: "a piece that is not UTF-8") }
                            text = s
                        }
                        if f == 2, case .fixed32(let bits) = v { score = Float(bitPattern: bits) }
                        if f == 3, case .varint(let n) = v { type = Int(truncatingIfNeeded: n) }
                    }
                    pieces.append((text, score, type))
                case (2, .bytes(let bytes)):
                    var trainer = ProtobufReader(bytes)
                    while let (f, v) = try trainer.next() { if f == 3, case .varint(let n) = v { modelType = Int(truncatingIfNeeded: n) } }
                case (3, .bytes(let bytes)):
                    var normalizer = ProtobufReader(bytes)
                    while let (f, v) = try normalizer.next() { if f == 2, case .bytes(let b) = v { charsMap = b } }
                default: break
                }
            }
            guard !pieces.isEmpty else { throw ProtobufReader.Malformed(what: "no pieces") }
            (self.pieces, self.modelType, precompiledCharsMap) = (pieces, modelType, charsMap)
        } catch let error as ProtobufReader.Malformed {
            throw ModelError.badTokenizer(path: path, reason: "not a SentencePiece model (\(error.what))")
        }
    }
}

/// Reads protobuf fields one at a time: (field number, value) until the end.
struct ProtobufReader {
    enum Value { case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32) }
    struct Malformed: Error { let what: String }
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard position < bytes.count, shift < 64 else { throw Malformed(what: "a truncated varint") }
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else { throw Malformed(what: "a field running past the end") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func next() throws -> (field: Int, value: Value)? {
        guard position < bytes.count else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count) else { throw Malformed(what: "a field running past the end") }
            return (field, .bytes(Array(try take(Int(length)))))
        case 5: return (field, .fixed32(try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }))
        default: throw Malformed(what: "wire type \(key & 7)")
        }
    }
}
