import Distributed
import Engine
import Foundation

/// Writes that either complete or leave the destination as it was: the content goes to a
/// temporary path in the destination's folder (same file system, so `rename` is atomic), is
/// flushed to disk, and is renamed into place; on any error the temporary is removed.
enum AtomicWrite {
    /// Counts temporaries made by this process, so two concurrent writes never share one.
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    /// `folder/.NAME.tmp-PID-N` for `folder/NAME`.
    static func temporaryPath(for destination: String) -> String {
        let url = URL(fileURLWithPath: destination)
        let sequence: Int = lock.withLock {
            counter += 1
            return counter
        }
        let name = ".\(url.lastPathComponent).tmp-\(getpid())-\(sequence)"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Runs `write` with a temporary file path, then moves the finished file to `destination`.
    /// Under several ranks the root alone writes (`Collectives.rootWrites`).
    static func file(at destination: String, _ write: (String) throws -> Void) throws {
        try Collectives.rootWrites { try fileHere(at: destination, write) }
    }

    private static func fileHere(at destination: String, _ write: (String) throws -> Void) throws {
        try checkFolder(of: destination)
        let temporary = temporaryPath(for: destination)
        do {
            try write(temporary)
            try flushToDisk(temporary, destination: destination)
            guard rename(temporary, destination) == 0 else {
                throw CheckpointError.writeFailed(path: destination, reason: "rename failed: \(errnoText())")
            }
            FileAccessLog.wrote(destination)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Runs `write` with a temporary folder (already created), then puts it at `destination`.
    ///
    /// NOTE: `rename` cannot replace a non-empty folder, so an existing destination is first
    /// moved aside and deleted only after the new folder is in place; if the process dies between
    /// the two renames the old folder survives as `.NAME.tmp-…` next to it.
    static func folder(at destination: String, _ write: (String) throws -> Void) throws {
        try Collectives.rootWrites { try folderHere(at: destination, write) }
    }

    private static func folderHere(at destination: String, _ write: (String) throws -> Void) throws {
        try checkFolder(of: destination)
        let temporary = temporaryPath(for: destination)
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            try write(temporary)
            for file in try manager.contentsOfDirectory(atPath: temporary) {
                try flushToDisk(temporary + "/" + file, destination: destination)
            }
        } catch {
            try? manager.removeItem(atPath: temporary)
            throw error
        }
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: destination, isDirectory: &isDirectory) else {
            guard rename(temporary, destination) == 0 else {
                let reason = errnoText()
                try? manager.removeItem(atPath: temporary)
                throw CheckpointError.writeFailed(path: destination, reason: "rename failed: \(reason)")
            }
            FileAccessLog.wrote(destination)
            return
        }
        guard isDirectory.boolValue else {
            try? manager.removeItem(atPath: temporary)
            throw CheckpointError.writeFailed(path: destination, reason: "a file (not a folder) is in the way")
        }
        let old = temporaryPath(for: destination)
        guard rename(destination, old) == 0 else {
            let reason = errnoText()
            try? manager.removeItem(atPath: temporary)
            throw CheckpointError.writeFailed(path: destination, reason: "cannot move the old folder aside: \(reason)")
        }
        guard rename(temporary, destination) == 0 else {
            let reason = errnoText()
            _ = rename(old, destination)
            try? manager.removeItem(atPath: temporary)
            throw CheckpointError.writeFailed(path: destination, reason: "rename failed: \(reason)")
        }
        try? manager.removeItem(atPath: old)
        FileAccessLog.wrote(destination)
    }

    /// The destination's folder must exist: a clear error instead of libhdf5's.
    private static func checkFolder(of destination: String) throws {
        let folder = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError.writeFailed(path: destination, reason: "folder \(folder) does not exist")
        }
    }

    /// `fsync`s a finished file so that the rename never exposes a file whose data is not yet on disk.
    private static func flushToDisk(_ path: String, destination: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CheckpointError.writeFailed(path: destination, reason: "cannot reopen the written file: \(errnoText())")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw CheckpointError.writeFailed(path: destination, reason: "fsync failed: \(errnoText())")
        }
    }
}

/// The current `errno` as text.
func errnoText() -> String { String(cString: strerror(errno)) }
