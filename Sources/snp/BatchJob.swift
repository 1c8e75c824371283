import Checkpoints
import Foundation
import Language

// The jobs of `snp batch`: what one job is, how it runs as its own process, and the record it
// leaves in its folder (job.json), from which resume and the report are made.

/// One script run of a batch: a `.snp` file with its arguments, and for a sweep point the
/// variables bound with `snp run --let`.
struct BatchJob {
    let name: String
    let script: String
    let arguments: [String]
    /// (variable, `.snp` literal) for a sweep point; empty for a plain script.
    let bindings: [(name: String, literal: String)]
    /// The job's folder: log.txt, job.json, result.json, files.log, pictures/.
    let folder: String

    var logPath: String { folder + "/log.txt" }
    var recordPath: String { folder + "/job.json" }
    var resultPath: String { folder + "/result.json" }
    var fileLogPath: String { folder + "/files.log" }
    var pictureFolder: String { folder + "/pictures" }

    /// `snp run` words that run this job.
    var runArguments: [String] {
        ["run"] + bindings.flatMap { ["--let", "\($0.name)=\($0.literal)"] } + [script] + arguments
    }

    /// A content hash of what defines the job: the script's bytes, its arguments and bindings.
    func key() throws -> String {
        guard let bytes = FileManager.default.contents(atPath: script) else {
            throw UsageError(message: "cannot read \(script)")
        }
        var hash = ContentHash()
        hash.add(bytes)
        for word in arguments { hash.add(Data(("\u{0}arg\u{0}" + word).utf8)) }
        for b in bindings { hash.add(Data(("\u{0}let\u{0}\(b.name)=\(b.literal)").utf8)) }
        return hash.hex
    }
}

/// Content hashes that tell whether a job's script or inputs changed since it last ran: the
/// checkpoints' `Checksum64` (not a defence against someone forging a collision).
struct ContentHash {
    private var sum = Checksum64()

    mutating func add(_ data: Data) { data.withUnsafeBytes { sum.add($0) } }

    var hex: String { sum.hex }

    /// The hash of a file's bytes, read in 4 MiB pieces; nil when it cannot be read. A folder
    /// (a model written as one) hashes its files' names and bytes in sorted order.
    static func of(path: String) -> String? {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return nil }
        var hash = ContentHash()
        let files: [String]
        if isFolder.boolValue {
            guard let names = FileManager.default.subpaths(atPath: path) else { return nil }
            files = names.sorted().map { path + "/" + $0 }
        } else {
            files = [path]
        }
        for file in files {
            var isSub: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isSub), !isSub.boolValue else { continue }
            guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
            defer { try? handle.close() }
            if isFolder.boolValue { hash.add(Data(file.utf8)) }
            while let piece = try? handle.read(upToCount: 4 << 20), !piece.isEmpty { hash.add(piece) }
        }
        return hash.hex
    }
}

/// How a job ended.
enum JobStatus: String {
    case passed, failed, crashed, timedOut = "timed out", interrupted, cached

    var isSuccess: Bool { self == .passed || self == .cached }
    var mark: String { isSuccess ? "✓" : (self == .interrupted ? "■" : "✗") }
}

/// What a finished job left: job.json, read and written with JSONSerialization so the result
/// record (any JSON the script gave `result(…)`) travels as it is.
struct JobRecord {
    var name: String
    var script: String
    var arguments: [String]
    var bindings: [(name: String, literal: String)]
    var key: String
    var status: JobStatus
    var exitCode: Int32?
    var signal: Int32?
    var wallSeconds: Double
    var peakMemoryMB: Double
    var finished: Date
    /// Files the job read (other than its script and what it wrote itself), with their hashes.
    var inputs: [(path: String, hash: String)]
    /// Files the job wrote, in order, each once.
    var outputs: [String]
    /// The record the script gave `result(…)`: a JSON object, or nil.
    var result: [String: Any]?

    var statusText: String {
        switch status {
        case .failed: return "failed (exit \(exitCode.map(String.init) ?? "?"))"
        case .crashed: return "crashed (\(signal.map(signalName) ?? "signal ?"))"
        default: return status.rawValue
        }
    }

    func json() -> [String: Any] {
        var object: [String: Any] = [
            "name": name, "script": script, "arguments": arguments,
            "bindings": bindings.map { ["name": $0.name, "value": $0.literal] },
            "key": key, "status": status.rawValue, "wall_seconds": wallSeconds, "peak_memory_mb": peakMemoryMB,
            "finished": ISO8601DateFormatter().string(from: finished),
            "inputs": inputs.map { ["path": $0.path, "hash": $0.hash] }, "outputs": outputs,
        ]
        if let exitCode { object["exit_code"] = Int(exitCode) }
        if let signal { object["signal"] = Int(signal) }
        if let result { object["result"] = result }
        return object
    }

    init(name: String, script: String, arguments: [String], bindings: [(name: String, literal: String)], key: String,
         status: JobStatus, exitCode: Int32?, signal: Int32?, wallSeconds: Double, peakMemoryMB: Double, finished: Date,
         inputs: [(path: String, hash: String)], outputs: [String], result: [String: Any]?) {
        (self.name, self.script, self.arguments, self.bindings, self.key) = (name, script, arguments, bindings, key)
        (self.status, self.exitCode, self.signal, self.wallSeconds, self.peakMemoryMB) = (status, exitCode, signal, wallSeconds, peakMemoryMB)
        (self.finished, self.inputs, self.outputs, self.result) = (finished, inputs, outputs, result)
    }

    /// Reads a job.json; nil when it is absent or not one (a damaged record means the job reruns).
    init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object["name"] as? String, let script = object["script"] as? String,
              let key = object["key"] as? String, let statusText = object["status"] as? String,
              let status = JobStatus(rawValue: statusText) else { return nil }
        self.name = name
        self.script = script
        self.key = key
        self.status = status
        arguments = object["arguments"] as? [String] ?? []
        bindings = (object["bindings"] as? [[String: String]] ?? []).compactMap { b in
            b["name"].flatMap { name in b["value"].map { (name, $0) } }
        }
        exitCode = (object["exit_code"] as? Int).map(Int32.init)
        signal = (object["signal"] as? Int).map(Int32.init)
        wallSeconds = object["wall_seconds"] as? Double ?? 0
        peakMemoryMB = object["peak_memory_mb"] as? Double ?? 0
        finished = (object["finished"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date(timeIntervalSince1970: 0)
        inputs = (object["inputs"] as? [[String: String]] ?? []).compactMap { i in
            i["path"].flatMap { path in i["hash"].map { (path, $0) } }
        }
        outputs = object["outputs"] as? [String] ?? []
        result = object["result"] as? [String: Any]
    }

    func write(to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: json(), options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Whether this passed record still stands for `job`: same key, every input unchanged.
    func isCurrent(for job: BatchJob, key currentKey: String) -> Bool {
        guard status.isSuccess, key == currentKey else { return false }
        return inputs.allSatisfy { ContentHash.of(path: $0.path) == $0.hash }
    }
}

/// `SIGKILL` for 9 and the like.
func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGABRT: "SIGABRT",
                                  SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE",
                                  SIGTERM: "SIGTERM", SIGTRAP: "SIGTRAP", SIGXCPU: "SIGXCPU"]
    return names[signal] ?? "signal \(signal)"
}

/// A job running as its own process in its own process group, its stdout and stderr in its log.
final class RunningJob {
    let job: BatchJob
    let key: String
    let pid: pid_t
    let started = Date()
    /// When the runner sent SIGTERM/SIGINT (timeout, second Ctrl-C), and whether the job timed out.
    var stopSent: Date?
    var timedOut = false
    var killed = false

    /// Starts `executable run …` for `job` with `environment` added to this process's.
    init(job: BatchJob, key: String, executable: String, environment: [String: String]) throws {
        self.job = job
        self.key = key
        let manager = FileManager.default
        try manager.createDirectory(atPath: job.pictureFolder, withIntermediateDirectories: true)
        for stale in [job.resultPath, job.fileLogPath] { try? manager.removeItem(atPath: stale) }
        pid = try ChildProcess.spawn(executable, job.runArguments, environment: environment, output: job.logPath, ownGroup: true).pid
    }

    /// Sends `signal` to the job's whole process group.
    func send(_ signal: Int32) { kill(-pid, signal) }

    /// The exit status and peak memory if the job has ended (reaped), else nil.
    func poll() -> (status: Int32, peakKB: Int)? { ChildProcess(pid: pid).poll() }

    /// The record of the ended job, from its wait status, logs and files.
    func record(waitStatus: Int32, peakKB: Int) -> JobRecord {
        let exitCode = ChildProcess.exitCode(waitStatus), signal = ChildProcess.signal(waitStatus)
        let status: JobStatus
        if timedOut { status = .timedOut }
        else if exitCode == 0 { status = .passed }
        else if exitCode == ExitCode.interrupted || (killed && signal != nil) { status = .interrupted }
        else if signal != nil { status = .crashed }
        else { status = .failed }

        let (reads, writes) = Self.fileLog(job.fileLogPath)
        let folder = URL(fileURLWithPath: job.folder).standardizedFileURL.path + "/"
        let script = URL(fileURLWithPath: job.script).standardizedFileURL.path
        let written = Set(writes)
        let inputs = reads.filter { !written.contains($0) && $0 != script && !$0.hasPrefix(folder) }
            .compactMap { path in ContentHash.of(path: path).map { (path, $0) } }
        var result: [String: Any]? = nil
        if let data = FileManager.default.contents(atPath: job.resultPath) {
            result = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
        return JobRecord(name: job.name, script: job.script, arguments: job.arguments, bindings: job.bindings, key: key,
                         status: status, exitCode: exitCode, signal: signal, wallSeconds: Date().timeIntervalSince(started),
                         peakMemoryMB: Double(peakKB) / 1024, finished: Date(), inputs: inputs, outputs: writes, result: result)
    }

    /// The distinct paths read and written, in first-seen order.
    static func fileLog(_ path: String) -> (reads: [String], writes: [String]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return ([], []) }
        var reads: [String] = [], writes: [String] = [], seenR: Set<String> = [], seenW: Set<String> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            if parts[0] == "R", seenR.insert(parts[1]).inserted { reads.append(parts[1]) }
            if parts[0] == "W", seenW.insert(parts[1]).inserted { writes.append(parts[1]) }
        }
        return (reads, writes)
    }
}
