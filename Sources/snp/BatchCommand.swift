import Engine
import Foundation
import Language

// `snp batch`: many scripts and sweep points, each its own process, at most N at a time, with
// resume, a live status line, one report and a Slurm job array. See `helpDetails["batch"]`.

/// What `snp batch` was asked to do.
struct BatchPlan {
    var jobs: [BatchJob] = []
    var out = "batch-out"
    var parallel = 1
    var threadsPerJob = 1
    var timeout: Double? = nil
    var force = false
    var json = false
    var emitSlurm: String? = nil
    var task: Int? = nil
    var reportOnly = false
    /// The files and options as `snp batch` was given them, less --emit-slurm (for Slurm).
    var commandWords: [String] = []
    /// The words after --args, given to every script.
    var scriptArguments: [String] = []
}

func batchCommand(_ words: [String]) throws -> Int32 {
    var plan = try parseBatch(words)
    try FileManager.default.createDirectory(atPath: plan.out + "/jobs", withIntermediateDirectories: true)
    if let slurm = plan.emitSlurm {
        try writeSlurmScript(plan, to: slurm)
        print("wrote \(slurm): a job array of \(plan.jobs.count) task\(plan.jobs.count == 1 ? "" : "s"); submit it with sbatch \(slurm)")
        return ExitCode.ok
    }
    if plan.reportOnly {
        let records = plan.jobs.map { JobRecord(path: $0.recordPath) }
        try BatchReport(plan: plan, records: records, running: [], started: Date(), stopping: false).write()
        let failed = records.filter { $0.map { !$0.status.isSuccess } ?? true }.count
        print("wrote \(plan.out)/report.md: \(plan.jobs.count - failed) of \(plan.jobs.count) jobs passed")
        return failed == 0 ? ExitCode.ok : 1
    }
    if let task = plan.task {
        guard task < plan.jobs.count else { throw UsageError(message: "--task \(task): this batch has \(plan.jobs.count) jobs (0…\(plan.jobs.count - 1))") }
        plan.parallel = 1
    }
    return try BatchRunner(plan: plan).run()
}

/// Reads the command line into a plan: files, folders and sweep files become jobs.
func parseBatch(_ words: [String]) throws -> BatchPlan {
    var words = words, scriptArguments: [String] = []
    if let split = words.firstIndex(where: { $0 == "--args" || $0 == "--" }) {
        scriptArguments = Array(words[(split + 1)...])
        words = Array(words[..<split])
    }
    var args = try Arguments(words, valued: ["jobs", "threads-per-job", "out", "timeout", "emit-slurm", "task", "grid"], repeatable: ["sweep"])
    var plan = BatchPlan()
    plan.commandWords = words
    plan.out = args.value("out") ?? "batch-out"
    plan.parallel = try args.integer("jobs", 1, minimum: 1)
    let cores = ProcessInfo.processInfo.activeProcessorCount
    plan.threadsPerJob = try args.integer("threads-per-job", max(1, cores / plan.parallel), minimum: 1)
    if let t = try args.float("timeout") {
        guard t > 0 else { throw UsageError(message: "--timeout must be > 0 seconds, got \(t)") }
        plan.timeout = Double(t)
    }
    plan.force = args.flag("force")
    plan.json = args.flag("json")
    plan.reportOnly = args.flag("report-only")
    plan.emitSlurm = args.value("emit-slurm")
    if let t = args.value("task") {
        guard let k = Int(t), k >= 0 else { throw UsageError(message: "--task must be a job index ≥ 0, got '\(t)'") }
        plan.task = k
    }
    let sweeps = args.values("sweep")
    let gridOverride = try args.value("grid").map { text in
        do { return try SweepGrid(expression: text, name: "--grid") } catch let error as LanguageError {
            throw UsageError(message: "--grid: \(error.message)")
        }
    }
    let positional = args.positional
    try args.finish(positionalCount: 0...Int.max)
    if let slurm = plan.emitSlurm {
        plan.commandWords = removing(option: "--emit-slurm", value: slurm, from: words)
    }
    plan.scriptArguments = scriptArguments

    var scripts: [(path: String, forceSweep: Bool)] = []
    for item in positional {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: item, isDirectory: &isFolder) else { throw UsageError(message: "\(item): no such file or folder") }
        if isFolder.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: item).filter { $0.hasSuffix(".snp") }.sorted()
            guard !names.isEmpty else { throw UsageError(message: "\(item): no .snp files in this folder") }
            scripts += names.map { ((item as NSString).appendingPathComponent($0), false) }
        } else {
            guard item.hasSuffix(".snp") else { throw UsageError(message: "\(item): not a .snp script") }
            scripts.append((item, false))
        }
    }
    for sweep in sweeps {
        guard FileManager.default.fileExists(atPath: sweep) else { throw UsageError(message: "--sweep \(sweep): no such file") }
        scripts.append((sweep, true))
    }
    guard !scripts.isEmpty else { throw UsageError(message: "give the scripts to run: snp batch FILE.snp… | DIR | --sweep SWEEP.snp") }

    var used: [String: Int] = [:]
    func uniqueName(_ base: String) -> String {
        let clean = String(base.map { $0.isLetter || $0.isNumber || "-_.=,".contains($0) ? $0 : "_" })
        used[clean, default: 0] += 1
        return used[clean]! == 1 ? clean : "\(clean)-\(used[clean]!)"
    }
    for (path, forceSweep) in scripts {
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw UsageError(message: "cannot read \(path)") }
        if var grid = try sweepGrid(in: text, path: path) {
            if let gridOverride {
                do { grid = try grid.replacing(gridOverride) } catch let error as LanguageError {
                    throw UsageError(message: "--grid on \(path): \(error.message)")
                }
                guard grid.count > 0 else { throw UsageError(message: "--grid on \(path): the sweep grid has no points (an empty list)") }
            }
            for index in 0..<grid.count {
                let point = grid.point(index)
                var bindings: [(name: String, literal: String)] = []
                for field in point.fields {
                    guard let literal = SweepGrid.literal(field.value) else {
                        throw UsageError(message: "\(path): sweep value \(field.key) = \(field.value.summary) has no literal form; use numbers, strings, bools or lists")
                    }
                    bindings.append((field.key, literal))
                }
                let label = point.fields.map { "\($0.key)=\($0.value.display)" }.joined(separator: ",")
                let name = uniqueName(stem + "." + label)
                plan.jobs.append(BatchJob(name: name, script: path, arguments: scriptArguments, bindings: bindings, folder: plan.out + "/jobs/" + name))
            }
        } else {
            guard gridOverride == nil else { throw UsageError(message: "--grid: \(path) has no '#% sweep {…}' line to replace axes of") }
            guard !forceSweep else { throw UsageError(message: "--sweep \(path): no '#% sweep {…}' line names its grid") }
            let name = uniqueName(stem)
            plan.jobs.append(BatchJob(name: name, script: path, arguments: scriptArguments, bindings: [], folder: plan.out + "/jobs/" + name))
        }
    }
    return plan
}

private func removing(option: String, value: String, from words: [String]) -> [String] {
    var out: [String] = [], skip = false
    for (i, w) in words.enumerated() {
        if skip { skip = false; continue }
        if w == option, i + 1 < words.count, words[i + 1] == value { skip = true; continue }
        out.append(w)
    }
    return out
}

/// The grid of a sweep script: its first line `#% sweep {axis: [values…], …}`, in the grid syntax
/// of `sweep(…, over:)`; nil when it has none.
func sweepGrid(in text: String, path: String) throws -> SweepGrid? {
    let prefix = "#% sweep"
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix(prefix) else { continue }
        let expression = String(trimmed.dropFirst(prefix.count))
        do {
            let grid = try SweepGrid(expression: expression, name: "\(path):\(number + 1)")
            guard grid.count > 0 else { throw UsageError(message: "\(path):\(number + 1): the sweep grid has no points (an empty list)") }
            return grid
        } catch let error as LanguageError {
            throw UsageError(message: "\(path):\(number + 1): the '#% sweep' grid: \(error.message)")
        }
    }
    return nil
}

/// Runs a plan's jobs: spawns, watches, times out, records, resumes, reports.
final class BatchRunner {
    var plan: BatchPlan
    private var records: [JobRecord?]
    private var running: [Int: RunningJob] = [:]
    private var queue: [Int] = []
    /// Each job's content key, hashed once at the start (the script is not read again to start it).
    private var keys: [Int: String] = [:]
    private let started = Date()
    private var stopping = false, stoppingJobs = false
    private var stopJobsAt: Date?
    private let executable: String
    private let terminal = isatty(2) != 0
    private var lastLine = Date(timeIntervalSince1970: 0)

    init(plan: BatchPlan) throws {
        self.plan = plan
        records = plan.jobs.map { _ in nil }
        guard let path = Bundle.main.executablePath else { throw UsageError(message: "cannot find the snp executable to run jobs with") }
        executable = path
    }

    func run() throws -> Int32 {
        // Which jobs have finished with the same script, arguments and inputs: those are skipped.
        var cached = 0
        for (index, job) in plan.jobs.enumerated() {
            // One task of a job array runs its own job; the others' records are only shown.
            if let task = plan.task, task != index {
                records[index] = JobRecord(path: job.recordPath)
                continue
            }
            let key = try job.key()
            keys[index] = key
            if !plan.force, var old = JobRecord(path: job.recordPath), old.isCurrent(for: job, key: key) {
                old.status = .cached
                records[index] = old
                cached += 1
            } else {
                queue.append(index)
            }
        }
        say("batch: \(plan.jobs.count) job\(plan.jobs.count == 1 ? "" : "s")" + (cached > 0 ? " (\(cached) finished before and unchanged: skipped; --force reruns them)" : "")
            + ", \(plan.parallel) at a time, \(plan.threadsPerJob) thread\(plan.threadsPerJob == 1 ? "" : "s") each → \(plan.out)/report.md")
        try writeReport()

        Interruption.installHandler()
        defer { Interruption.removeHandler() }
        // A closed terminal or pipe must not kill the runner while its jobs run.
        signal(SIGPIPE, SIG_IGN)
        while true {
            reap()
            enforceTimeouts()
            handleInterruption()
            while !stopping, running.count < plan.parallel, !queue.isEmpty {
                let index = queue.removeFirst()
                try start(index)
            }
            if running.isEmpty && (queue.isEmpty || stopping) { break }
            statusLine()
            usleep(50_000)
        }
        if terminal { writeStandardError("\r\u{1B}[2K") }
        try writeReport()
        let done = (plan.task.map { [records[$0]] } ?? records).compactMap { $0 }
        let failed = done.filter { !$0.status.isSuccess && $0.status != .interrupted }
        let summary = summaryText()
        if plan.json {
            let data = try JSONSerialization.data(withJSONObject: BatchReport(plan: plan, records: records, running: [], started: started, stopping: stopping).statusJSON(),
                                                  options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(summary)
            for r in failed { print("  \(r.status.mark) \(r.name): \(r.statusText), log \(plan.out)/jobs/\(r.name)/log.txt") }
            print("report: \(plan.out)/report.md")
        }
        if stopping {
            say("batch: stopped by Ctrl-C; run the same command again to continue where it stopped")
            return ExitCode.interrupted
        }
        return failed.isEmpty ? ExitCode.ok : 1
    }

    private func start(_ index: Int) throws {
        let job = plan.jobs[index]
        try FileManager.default.createDirectory(atPath: job.folder, withIntermediateDirectories: true)
        let environment = [
            "SNP_THREADS": String(plan.threadsPerJob), "OPENBLAS_NUM_THREADS": "1",
            "SNP_RESULT": job.resultPath, "SNP_FILE_LOG": job.fileLogPath, "SNP_PICTURE_DIR": job.pictureFolder,
            "SNP_BATCH_JOB": job.name, "SNP_BATCH_PARENT": String(getpid()),
        ]
        running[index] = try RunningJob(job: job, key: keys[index] ?? job.key(), executable: executable, environment: environment)
        if !terminal { say("batch: started \(job.name)") }
        try writeReport()
    }

    private func reap() {
        for (index, job) in running {
            guard let ended = job.poll() else { continue }
            running[index] = nil
            let record = job.record(waitStatus: ended.status, peakKB: ended.peakKB)
            records[index] = record
            do { try record.write(to: job.job.recordPath) } catch { say("batch: cannot write \(job.job.recordPath): \(error)") }
            let done = records.compactMap { $0 }.count
            say(String(format: "batch: %@ %@ %@ in %@ (%d/%d)", record.status.mark, record.name, record.statusText, duration(record.wallSeconds), done, plan.jobs.count), clearLine: true)
            try? writeReport()
        }
    }

    private func enforceTimeouts() {
        let now = Date()
        for job in running.values {
            if let timeout = plan.timeout, !job.timedOut, now.timeIntervalSince(job.started) > timeout {
                job.timedOut = true
                job.stopSent = now
                job.send(SIGTERM)
            }
            // A job that ignores the polite signal for 5 s is killed.
            if let sent = job.stopSent, now.timeIntervalSince(sent) > 5 {
                job.killed = true
                job.send(SIGKILL)
            }
        }
    }

    private func handleInterruption() {
        let count = Interruption.count
        if count >= 1, !stopping {
            stopping = true
            say("batch: Ctrl-C: no new jobs start; \(running.count) running job\(running.count == 1 ? "" : "s") may finish (Ctrl-C again stops them)", clearLine: true)
            queue.removeAll()
        }
        if count >= 2, !stoppingJobs {
            stoppingJobs = true
            say("batch: stopping the running jobs (they stop at their next safe point; killed after 10 s)", clearLine: true)
            stopJobsAt = Date()
            for job in running.values { job.killed = true; job.send(SIGINT) }
        }
        if let at = stopJobsAt, count >= 3 || Date().timeIntervalSince(at) > 10 {
            for job in running.values { job.send(SIGKILL) }
        }
    }

    private func statusLine() {
        guard terminal, Date().timeIntervalSince(lastLine) > 0.25 else { return }
        lastLine = Date()
        let names = running.keys.sorted().map { plan.jobs[$0].name }
        let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", …" : "")
        let line = summaryText() + " · running: " + shown
        writeStandardError("\r\u{1B}[2K" + String(line.prefix(160)))
    }

    private func summaryText() -> String {
        let done = records.compactMap { $0 }
        let passed = done.filter { $0.status.isSuccess }.count
        let failed = done.filter { !$0.status.isSuccess && $0.status != .interrupted }.count
        let interrupted = done.filter { $0.status == .interrupted }.count
        let queued = plan.jobs.count - done.count - running.count
        var parts = ["\(passed) passed"]
        if failed > 0 { parts.append("\(failed) failed") }
        if interrupted > 0 { parts.append("\(interrupted) interrupted") }
        if !running.isEmpty { parts.append("\(running.count) running") }
        if queued > 0 { parts.append("\(queued) \(stopping ? "not started" : "queued")") }
        return "batch: " + parts.joined(separator: " · ") + " of \(plan.jobs.count) · " + duration(Date().timeIntervalSince(started))
    }

    private func writeReport() throws {
        let now = running.map { (index: $0.key, pid: $0.value.pid, started: $0.value.started) }
        try BatchReport(plan: plan, records: records, running: now, started: started, stopping: stopping).write()
    }

    private func say(_ text: String, clearLine: Bool = false) {
        writeStandardError((terminal && clearLine ? "\r\u{1B}[2K" : "") + text + "\n")
    }
}

/// Writes to stderr, ignoring failure (a closed pipe must not stop the batch).
private func writeStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress!, $0.count) }
}

/// `1.2 s`, `3m05s`, `1h02m`.
func duration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1f s", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}
