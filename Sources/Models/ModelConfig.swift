import Foundation

/// A diffusers / transformers `config.json` read with its architecture's rules: every key must be
/// one the architecture knows (keys starting with `_` are metadata), every value of the right
/// type; a value we cannot build (an SDXL add-on, say) is an error that says so.
public struct ModelConfig {
    public let architecture: String
    public let values: [String: Any]

    public init(architecture: String, values: [String: Any]) {
        self.architecture = architecture
        self.values = values
    }

    /// Parses JSON text.
    public init(architecture: String, json: String) throws {
        guard let data = json.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw ModelError.badConfig(architecture: architecture, reason: "config is not a JSON object")
        }
        self.init(architecture: architecture, values: dict)
    }

    /// The config as JSON text with sorted keys.
    public var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func fail(_ reason: String) -> ModelError { .badConfig(architecture: architecture, reason: reason) }

    /// Throws for keys the architecture does not know.
    func requireKnown(_ known: Set<String>) throws {
        let unknown = values.keys.filter { !$0.hasPrefix("_") && !known.contains($0) }.sorted()
        if !unknown.isEmpty { throw fail("unknown key\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", "))") }
    }

    func isNull(_ key: String) -> Bool { values[key] == nil || values[key] is NSNull }

    func int(_ key: String, _ fallback: Int) throws -> Int {
        guard !isNull(key) else { return fallback }
        guard let n = values[key] as? NSNumber, n.doubleValue == n.doubleValue.rounded() else { throw fail("\(key) must be an integer, got \(values[key]!)") }
        return n.intValue
    }

    func float(_ key: String, _ fallback: Float) throws -> Float {
        guard !isNull(key) else { return fallback }
        guard let n = values[key] as? NSNumber else { throw fail("\(key) must be a number, got \(values[key]!)") }
        return n.floatValue
    }

    func bool(_ key: String, _ fallback: Bool) throws -> Bool {
        guard !isNull(key) else { return fallback }
        guard let b = values[key] as? Bool else { throw fail("\(key) must be true or false, got \(values[key]!)") }
        return b
    }

    func string(_ key: String, _ fallback: String) throws -> String {
        guard !isNull(key) else { return fallback }
        guard let s = values[key] as? String else { throw fail("\(key) must be a string, got \(values[key]!)") }
        return s
    }

    func optionalInt(_ key: String) throws -> Int? { isNull(key) ? nil : try int(key, 0) }

    func strings(_ key: String, _ fallback: [String]) throws -> [String] {
        guard !isNull(key) else { return fallback }
        guard let list = values[key] as? [String] else { throw fail("\(key) must be a list of strings") }
        return list
    }

    /// An int repeated `count` times, or a list of exactly `count` ints.
    func ints(_ key: String, count: Int, _ fallback: Int?) throws -> [Int]? {
        if isNull(key) { return fallback.map { Array(repeating: $0, count: count) } }
        // NOTE: on Linux an NSNumber holding 0 or 1 also casts to Bool: test the dynamic type.
        if let n = values[key] as? NSNumber, type(of: values[key]!) != Bool.self { return Array(repeating: n.intValue, count: count) }
        guard let list = values[key] as? [NSNumber] else { throw fail("\(key) must be an integer or a list of integers") }
        guard list.count == count else { throw fail("\(key) has \(list.count) entries for \(count) blocks") }
        return list.map(\.intValue)
    }

    func intList(_ key: String, _ fallback: [Int]) throws -> [Int] {
        guard !isNull(key) else { return fallback }
        guard let list = values[key] as? [NSNumber] else { throw fail("\(key) must be a list of integers") }
        return list.map(\.intValue)
    }

    /// Throws unless `key` is absent, null or equal to `expected` (a feature we do not build).
    func requireDefault(_ key: String, _ expected: Any?, _ what: String) throws {
        guard !isNull(key) else { return }
        let value = values[key]!
        if let expected, "\(value)" == "\(expected)" { return }
        if let e = expected as? Bool, let v = value as? Bool, e == v { return }
        if let e = expected as? NSNumber, let v = value as? NSNumber, e == v { return }
        throw fail("\(key) = \(value) (\(what)) is not supported")
    }
}
