import Distributed
import Engine
import Foundation

/// Writes that either complete or leave the destination as it was (the same scheme as
/// Checkpoints' `AtomicWrite`, which this sibling target cannot import).
enum AtomicFile {
    /// Writes `bytes` to `folder/.NAME.tmp-PID-RANDOM`, `fsync`s it and renames it to `path`;
    /// on any failure the temporary is removed and `path` is untouched. Under several ranks the
    /// root alone writes (`Collectives.rootWrites`).
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Collectives.rootWrites { try writeHere(bytes, to: path) }
    }

    private static func writeHere(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw GraphicsError.writeFailed(path: path, reason: "folder \(folder) does not exist")
        }
        let temporary = folder + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try writeAndFlush(bytes, to: temporary, reportedAs: path)
            guard rename(temporary, path) == 0 else {
                throw GraphicsError.writeFailed(path: path, reason: "rename failed: \(errnoText())")
            }
            FileAccessLog.wrote(path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private static func writeAndFlush(_ bytes: [UInt8], to temporary: String, reportedAs path: String) throws {
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw GraphicsError.writeFailed(path: path, reason: "cannot create a temporary file: \(errnoText())")
        }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw GraphicsError.writeFailed(path: path, reason: "write failed: \(errnoText())") }
            offset += count
        }
        guard fsync(descriptor) == 0 else {
            throw GraphicsError.writeFailed(path: path, reason: "fsync failed: \(errnoText())")
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
