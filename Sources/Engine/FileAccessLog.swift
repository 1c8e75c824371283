import Foundation

/// The files a process reads and writes, for a batch runner that wants to know a job's inputs
/// and outputs without asking the script. When `SNP_FILE_LOG` names a file, every read of a
/// model, image or table file and every finished write appends one line to it,
///
///     R<TAB>/absolute/path
///     W<TAB>/absolute/path
///
/// with `O_APPEND` (one `write` per line, so concurrent writers never interleave). Unset: free.
/// The readers and writers call it where the path is known to be a whole file (after an
/// atomic rename, before a read), so a log line always names a complete file.
public enum FileAccessLog {
    nonisolated(unsafe) private static var destination: String? = ProcessInfo.processInfo.environment["SNP_FILE_LOG"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether a log is being kept.
    public static var isEnabled: Bool { destination != nil }

    /// Notes that `path` was read.
    public static func read(_ path: String) { append("R", path) }

    /// Notes that `path` was written (a file, or a folder written as one).
    public static func wrote(_ path: String) { append("W", path) }

    private static func append(_ kind: String, _ path: String) {
        guard let destination else { return }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let line = Array("\(kind)\t\(absolute)\n".utf8)
        let descriptor = open(destination, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = line.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress!, $0.count) }
    }
}
