import Checkpoints
import Engine
import Foundation
import Testing

/// The committed fixtures (Scripts/make_checkpoint_fixtures.py, and h5py_types.h5 from its own generator).
enum Fixtures {
    static let folder: String = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures folder is missing from the test bundle")
        }
        return url.path
    }()

    static func path(_ name: String) -> String { folder + "/" + name }

    /// `expected.json`, the values the fixture generator wrote alongside the files.
    static let expected: JSONValue = json("expected.json")

    static func json(_ name: String) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path(name)),
              let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            fatalError("cannot read fixture \(name)")
        }
        return value
    }
}

/// A parsed JSON document with exact numbers.
/// NOTE: Foundation's JSONSerialization on Linux rounds some doubles in the last bit;
/// JSONDecoder is exact, so the fixtures are read through this type.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), int(Int64), uint(UInt64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(UInt64.self) { self = .uint(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    subscript(key: String) -> JSONValue { if case let .object(o) = self { return o[key] ?? .null }; return .null }
    var object: [String: JSONValue] { if case let .object(o) = self { return o }; return [:] }
    var array: [JSONValue] { if case let .array(a) = self { return a }; return [] }
    var string: String? { if case let .string(s) = self { return s }; return nil }
    var double: Double? {
        switch self {
        case let .int(v): return Double(v)
        case let .uint(v): return Double(v)
        case let .double(v): return v
        default: return nil
        }
    }
    var int64: Int64? {
        switch self {
        case let .int(v): return v
        case let .double(v): return Int64(exactly: v)
        default: return nil
        }
    }
    var uint64: UInt64? {
        switch self {
        case let .int(v): return UInt64(exactly: v)
        case let .uint(v): return v
        default: return nil
        }
    }
    /// An array of numbers as Floats (exact for values that are Float32 values).
    var floats: [Float] { array.compactMap { $0.double.map(Float.init) } }
    var doubles: [Double] { array.compactMap(\.double) }
    var integers: [Int64] { array.compactMap(\.int64) }
    var shape: [Int] { array.compactMap { $0.int64.map(Int.init) } }
}

/// Runs `body` with a fresh empty folder, removed afterwards.
func withTemporaryFolder<R>(_ body: (String) throws -> R) throws -> R {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-checkpoints-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try body(folder)
}

/// The files in `folder` whose names mark them as leftovers of an atomic write.
func temporaryLeftovers(in folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
}

/// A tensor of seeded normal values.
func sample(_ shape: [Int], seed: UInt64) -> Tensor {
    try! Tensor.randn(shape, generator: RandomGenerator(seed: seed))
}

/// Expects the same shape and bit-identical values.
func expectIdentical(_ actual: Tensor?, _ expected: Tensor, _ what: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(what): missing", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.shape == expected.shape, "\(what): shape", sourceLocation: sourceLocation)
    #expect(actual.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern), "\(what): values", sourceLocation: sourceLocation)
}

/// The repository's Python with h5py and safetensors, if this machine has one (CI does not:
/// tests that need it are skipped there).
enum ReferencePython {
    static let executable: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python),
              (try? run(python, ["-c", "import h5py, safetensors, numpy"]))?.status == 0 else { return nil }
        return python
    }()

    static var available: Bool { executable != nil }

    /// Runs a Python snippet with `arguments` as sys.argv[1...]; returns its stdout.
    static func run(_ code: String, arguments: [String] = []) throws -> String {
        let result = try run(executable!, ["-c", code] + arguments)
        guard result.status == 0 else { throw PythonFailure(output: result.output) }
        return result.output
    }

    struct PythonFailure: Error, CustomStringConvertible {
        let output: String
        var description: String { "python failed: \(output)" }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
