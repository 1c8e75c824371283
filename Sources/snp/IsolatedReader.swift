import Checkpoints
import Foundation

// Crash isolation for untrusted HDF5 files: before this process opens a file, a child (snp
// itself, `__validate-hdf5 PATH`) reads all of it. A damaged file that makes libhdf5 crash kills
// the child, which becomes a clear error here; the REPL and its variables survive.

/// The hidden subcommand the child runs.
let isolatedReaderCommand = "__validate-hdf5"

/// The child: reads everything in the file; exit 0, or 65 with the clean error on stderr.
func isolatedRead(_ words: [String]) -> Int32 {
    guard words.count == 1 else { return ExitCode.usage }
    do {
        try HDF5File.readEverything(words[0])
        return ExitCode.ok
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        return ExitCode.dataError
    }
}

/// The parent's side (`HDF5File.isolatedReader`): a child that dies by a signal, or that found
/// the file damaged (exit 65, its error on its output), is an error naming the file; only a file
/// the child read completely is opened here. Without the snp executable (or if the child cannot
/// start) the file is opened directly.
func readInChildProcess(_ path: String) throws {
    let output = NSTemporaryDirectory() + "snp-isolated-read-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
    defer { try? FileManager.default.removeItem(atPath: output) }
    guard let executable = Bundle.main.executablePath,
          let child = try? ChildProcess.spawn(executable, [isolatedReaderCommand, path], output: output, ownGroup: false) else { return }
    let ended = child.wait()
    // A crash, not a stop from outside (Ctrl-C, SIGTERM, the OOM killer's SIGKILL): then the file
    // is opened here as it would have been without isolation.
    if let signal = ChildProcess.signal(ended.status), [SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTRAP].contains(signal) {
        throw CheckpointError.corruptFile(path: path, reason: "libhdf5 crashed (\(signalName(signal))) reading it in a separate process, so this one was spared")
    }
    if ChildProcess.exitCode(ended.status) == ExitCode.dataError {
        let message = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        throw CheckpointError.damaged(path: path, message: message.isEmpty ? "\(path): the file is damaged" : message)
    }
}
