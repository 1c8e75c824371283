import CHDF5
import Foundation

/// What the HDF5 reader and writer share: silencing libhdf5's error printing, turning its error
/// stack into a message, and the identity of the predefined types.
///
/// NOTE: every `hid_t` this target opens is closed with `defer` right where it is opened: a
/// leaked id keeps the file open inside libhdf5 (a later rename or re-open then sees stale state).
enum HDF5Library {
    /// Stops libhdf5 from printing its error stack to stderr; our errors say what went wrong.
    ///
    /// NOTE: Debian's libhdf5 is built thread-safe, and there the automatic error printing is a
    /// per-thread setting: this must run on the calling thread before each use of the library,
    /// which is why every public entry point calls it (it costs a few nanoseconds).
    static func silenceErrors() {
        H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
    }

    /// The descriptions on the calling thread's error stack, innermost (most specific) last,
    /// joined into one line; clears the stack. Empty when libhdf5 recorded nothing.
    static func takeErrorMessage() -> String {
        final class Collector { var messages: [String] = [] }
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_DOWNWARD, { _, error, data in
            guard let error, let data, let desc = error.pointee.desc else { return 0 }
            let text = String(cString: desc)
            let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
            if !text.isEmpty && collector.messages.last != text { collector.messages.append(text) }
            return 0
        }, context)
        H5Eclear2(hid_t(H5E_DEFAULT))
        // The outermost entry says which API call failed, the innermost why; the middle is noise.
        let messages = collector.messages
        guard let last = messages.last else { return "" }
        return messages.count == 1 ? last : "\(messages[0]): \(last)"
    }

    /// A libhdf5 failure message, or `fallback` when the library left no message.
    static func failure(_ fallback: String) -> String {
        let message = takeErrorMessage()
        return message.isEmpty ? fallback : "\(fallback) (\(message))"
    }
}

/// An HDF5 name made of `/`-separated components, checked before it reaches libhdf5 (which would
/// quietly read `a//b` as `a/b` and `a/./b` as `a/b`).
struct HDF5Path {
    let components: [String]

    init(_ name: String) throws {
        var trimmed = Substring(name)
        if trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        guard !trimmed.isEmpty else { throw CheckpointError.invalidName(name: name, reason: "the name is empty") }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.contains(where: \.isEmpty) {
            throw CheckpointError.invalidName(name: name, reason: "it has an empty component")
        }
        if parts.contains(where: { $0 == "." || $0 == ".." }) {
            throw CheckpointError.invalidName(name: name, reason: "'.' and '..' are not allowed as components")
        }
        components = parts
    }

    /// `a/b/c`
    var text: String { components.joined(separator: "/") }
    /// The groups that must exist before this object can be created: `a`, `a/b` for `a/b/c`.
    var parents: [String] { (1..<components.count).map { components[0..<$0].joined(separator: "/") } }
}
