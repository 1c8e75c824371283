@testable import Checkpoints
import Foundation
import Testing

/// The temporary-then-rename mechanism under every writer, failing at the worst moment: after
/// part of the new content exists.
@Suite struct AtomicWriteTests {
    struct Interrupted: Error {}

    @Test func temporaryPathIsAHiddenSiblingUniqueToThisProcess() {
        let first = AtomicWrite.temporaryPath(for: "/data/run/model.h5")
        let second = AtomicWrite.temporaryPath(for: "/data/run/model.h5")
        #expect(first.hasPrefix("/data/run/.model.h5.tmp-\(getpid())-"))
        #expect(first != second)
    }

    @Test func failedFileWriteKeepsTheOldFile() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/notes.txt"
            try "old".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(throws: Interrupted.self) {
                try AtomicWrite.file(at: path) { temporary in
                    try "new, half writ".write(toFile: temporary, atomically: false, encoding: .utf8)
                    throw Interrupted()
                }
            }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
            #expect(try temporaryLeftovers(in: folder).isEmpty)
        }
    }

    @Test func failedFolderWriteKeepsTheOldFolder() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/model"
            try AtomicWrite.folder(at: path) { try "old".write(toFile: $0 + "/config.json", atomically: false, encoding: .utf8) }
            #expect(throws: Interrupted.self) {
                try AtomicWrite.folder(at: path) { temporary in
                    try "new".write(toFile: temporary + "/config.json", atomically: false, encoding: .utf8)
                    throw Interrupted()
                }
            }
            #expect(try String(contentsOfFile: path + "/config.json", encoding: .utf8) == "old")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["model"])
        }
    }

    @Test func aFileInTheWayOfAFolderIsAnError() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/model"
            try "i am a file".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(throws: CheckpointError.writeFailed(path: path, reason: "a file (not a folder) is in the way")) {
                try AtomicWrite.folder(at: path) { _ in }
            }
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "i am a file")
            #expect(try temporaryLeftovers(in: folder).isEmpty)
        }
    }
}
