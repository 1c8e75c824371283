import Foundation

/// The batch's report.md (a table of every job, its failures' log tails, its pictures, its
/// files), status.json (the same for programs) and results.csv (the jobs' sweep values and
/// result fields merged into one table), rewritten whenever a job starts or ends.
struct BatchReport {
    let plan: BatchPlan
    let records: [JobRecord?]
    let running: [(index: Int, pid: pid_t, started: Date)]
    let started: Date
    let stopping: Bool

    func write() throws {
        try markdown().write(toFile: plan.out + "/report.md", atomically: true, encoding: .utf8)
        let data = try JSONSerialization.data(withJSONObject: statusJSON(), options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: plan.out + "/status.json"), options: .atomic)
        try csv().write(toFile: plan.out + "/results.csv", atomically: true, encoding: .utf8)
    }

    /// The sweeps' variables (in order of first appearance) and the union of the result fields.
    private func columns() -> (axes: [String], fields: [String]) {
        var fields = Array(Set(records.compactMap { $0 }.flatMap { ($0.result ?? [:]).keys })).sorted()
        var axes: [String] = []
        for job in plan.jobs { for b in job.bindings where !axes.contains(b.name) { axes.append(b.name) } }
        fields.removeAll { axes.contains($0) }
        return (axes, fields)
    }

    /// One row per job: name, state, wall seconds, the sweep values, the result fields (empty
    /// where a job has none yet), as the collector of a Slurm array merges them.
    func csv() -> String {
        let (axes, fields) = columns()
        func quoted(_ text: String) -> String {
            text.contains(where: { ",\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = [(["job", "state", "seconds"] + axes + fields).map(quoted).joined(separator: ",")]
        for (index, job) in plan.jobs.enumerated() {
            let record = records[index]
            var cells = [job.name, record?.status.rawValue ?? "not run", record.map { String(format: "%.2f", $0.wallSeconds) } ?? ""]
            cells += axes.map { axis in job.bindings.first { $0.name == axis }.map { unquoted($0.literal) } ?? "" }
            cells += fields.map { key in record?.result?[key].map { cellText($0, precise: true) } ?? "" }
            lines.append(cells.map(quoted).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func state(_ index: Int) -> String {
        if let r = running.first(where: { $0.index == index }) { return "running (pid \(r.pid), \(duration(Date().timeIntervalSince(r.started))))" }
        if let record = records[index] { return record.statusText }
        return stopping ? "not started" : "queued"
    }

    func statusJSON() -> [String: Any] {
        let done = records.compactMap { $0 }
        var jobs: [[String: Any]] = []
        for (index, job) in plan.jobs.enumerated() {
            var entry: [String: Any] = ["name": job.name, "script": job.script, "folder": job.folder]
            if let r = running.first(where: { $0.index == index }) {
                entry["state"] = "running"
                entry["pid"] = Int(r.pid)
                entry["elapsed_seconds"] = Date().timeIntervalSince(r.started)
            } else if let record = records[index] {
                entry.merge(record.json()) { _, new in new }
                entry["state"] = record.status.rawValue
            } else {
                entry["state"] = stopping ? "not started" : "queued"
            }
            jobs.append(entry)
        }
        return [
            "out": plan.out, "started": ISO8601DateFormatter().string(from: started), "updated": ISO8601DateFormatter().string(from: Date()),
            "stopping": stopping, "jobs": jobs,
            "summary": [
                "jobs": plan.jobs.count, "passed": done.filter { $0.status.isSuccess }.count,
                "cached": done.filter { $0.status == .cached }.count,
                "failed": done.filter { !$0.status.isSuccess && $0.status != .interrupted }.count,
                "interrupted": done.filter { $0.status == .interrupted }.count,
                "running": running.count, "queued": plan.jobs.count - done.count - running.count,
            ],
        ]
    }

    func markdown() -> String {
        let done = records.compactMap { $0 }
        let passed = done.filter { $0.status.isSuccess }.count, cached = done.filter { $0.status == .cached }.count
        let failed = done.filter { !$0.status.isSuccess && $0.status != .interrupted }
        let interrupted = done.filter { $0.status == .interrupted }.count
        var counts = ["\(passed) passed" + (cached > 0 ? " (\(cached) unchanged since an earlier run)" : "")]
        if !failed.isEmpty { counts.append("\(failed.count) failed") }
        if interrupted > 0 { counts.append("\(interrupted) interrupted") }
        if !running.isEmpty { counts.append("\(running.count) running") }
        let waiting = plan.jobs.count - done.count - running.count
        if waiting > 0 { counts.append("\(waiting) \(stopping ? "not started" : "queued")") }

        var lines = ["# Batch report", ""]
        lines.append("**\(plan.jobs.count) job\(plan.jobs.count == 1 ? "" : "s"): " + counts.joined(separator: ", ") + "**  ")
        let updated = DateFormatter()
        updated.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
        lines.append("\(plan.parallel) at a time, \(plan.threadsPerJob) thread\(plan.threadsPerJob == 1 ? "" : "s") each"
                     + (plan.timeout.map { ", timeout \(duration($0))" } ?? "")
                     + " · this run \(duration(Date().timeIntervalSince(started))) · updated \(updated.string(from: Date()))")
        lines.append("")

        // The jobs table: status, time, memory, the sweeps' values, the result fields, the log.
        let (axes, fields) = columns()
        let header = ["", "job", "status", "time", "peak memory"] + axes + fields + ["log"]
        lines.append("| " + header.joined(separator: " | ") + " |")
        lines.append("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
        for (index, job) in plan.jobs.enumerated() {
            let record = records[index]
            let isRunning = running.contains { $0.index == index }
            let mark = isRunning ? "⋯" : (record?.status.mark ?? "·")
            var cells = [mark, escape(job.name), escape(state(index)),
                         record.map { duration($0.wallSeconds) } ?? "", record.map { String(format: "%.0f MB", $0.peakMemoryMB) } ?? ""]
            cells += axes.map { axis in escape(job.bindings.first { $0.name == axis }.map { unquoted($0.literal) } ?? "") }
            cells += fields.map { key in record?.result?[key].map { escape(cellText($0)) } ?? "" }
            let log = FileManager.default.fileExists(atPath: job.logPath) ? "[log](\(relative(job.logPath)))" : ""
            cells.append(log)
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }

        if !failed.isEmpty {
            lines += ["", "## Failures"]
            for record in failed {
                guard let job = plan.jobs.first(where: { $0.name == record.name }) else { continue }
                lines += ["", "### \(record.status.mark) \(record.name): \(record.statusText) after \(duration(record.wallSeconds))", "",
                          "`snp " + job.runArguments.map(shellQuoted).joined(separator: " ") + "`", "", "```text"]
                lines += logTail(job.logPath, lines: 12)
                lines.append("```")
            }
        }

        var pictureBlocks: [String] = []
        for (index, job) in plan.jobs.enumerated() {
            guard let record = records[index] else { continue }
            let pictures = record.outputs.filter { $0.lowercased().hasSuffix(".png") && FileManager.default.fileExists(atPath: $0) }
            guard !pictures.isEmpty else { continue }
            pictureBlocks += ["", "### \(job.name)", ""]
            pictureBlocks.append(pictures.prefix(12).map { "<img src=\"\(relative($0))\" width=\"240\" alt=\"\(($0 as NSString).lastPathComponent)\">" }.joined(separator: " "))
            if pictures.count > 12 { pictureBlocks.append("… and \(pictures.count - 12) more in \(relative(job.folder))") }
        }
        if !pictureBlocks.isEmpty { lines += ["", "## Pictures"] + pictureBlocks }

        let written = plan.jobs.indices.compactMap { index -> String? in
            guard let record = records[index] else { return nil }
            let files = record.outputs.filter { !$0.lowercased().hasSuffix(".png") }
            guard !files.isEmpty else { return nil }
            return "- \(plan.jobs[index].name): " + files.map { "`\(relative($0))`" }.joined(separator: ", ")
        }
        if !written.isEmpty { lines += ["", "## Files written (besides pictures)", ""] + written }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `path` relative to the report's folder (both made absolute).
    private func relative(_ path: String) -> String {
        let base = URL(fileURLWithPath: plan.out).standardizedFileURL.pathComponents
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        var common = 0
        while common < base.count, common < target.count, base[common] == target[common] { common += 1 }
        let parts = Array(repeating: "..", count: base.count - common) + target[common...]
        return parts.joined(separator: "/")
    }

    private func logTail(_ path: String, lines count: Int) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return ["(no log)"] }
        let all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let trimmed = all.last == "" ? Array(all.dropLast()) : all
        let tail = trimmed.suffix(count).map { String($0.replacingOccurrences(of: "\r", with: "\n").split(separator: "\n").last ?? "") }
        return tail.isEmpty ? ["(empty log)"] : (trimmed.count > count ? ["…"] + tail : tail)
    }

    /// A result value as text; numbers to 4 significant digits, or every digit when `precise`.
    private func cellText(_ value: Any, precise: Bool = false) -> String {
        switch value {
        case let n as NSNumber where String(cString: n.objCType) == "c": return n.boolValue ? "true" : "false"
        case let d as Double: return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : precise ? "\(d)" : String(format: "%.4g", d)
        case let s as String: return s
        default:
            guard JSONSerialization.isValidJSONObject([value]),
                  let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "\(value)" }
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        }
    }

    private func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
}

/// A sweep value's literal as a table shows it: a plain string without its quotes.
private func unquoted(_ literal: String) -> String {
    guard literal.count >= 2, literal.hasPrefix("\""), literal.hasSuffix("\""), !literal.dropFirst().dropLast().contains("\"") else { return literal }
    return String(literal.dropFirst().dropLast())
}

/// A word as a POSIX shell reads it back.
func shellQuoted(_ word: String) -> String {
    if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// A Slurm job array for the batch: one array task per job, each running that job with the same
/// folder, log, record and report as a local run, then `--report-only` to collect.
func writeSlurmScript(_ plan: BatchPlan, to path: String) throws {
    let snp = Bundle.main.executablePath ?? "snp"
    let folder = FileManager.default.currentDirectoryPath
    let words = plan.commandWords.filter { $0 != "--json" }
    /// The batch command with `extra` options (`raw` unquoted, for shell variables) before its --args.
    func command(_ extra: [String], raw: String = "") -> String {
        let head = ([snp, "batch"] + words + extra).map(shellQuoted).joined(separator: " ") + raw
        return head + (plan.scriptArguments.isEmpty ? "" : " " + (["--args"] + plan.scriptArguments).map(shellQuoted).joined(separator: " "))
    }
    let text = """
    #!/bin/bash
    # A Slurm job array made by `snp batch … --emit-slurm \(path)`: \(plan.jobs.count) jobs, one per array
    # task, at most \(plan.parallel) at once, \(plan.threadsPerJob) CPU\(plan.threadsPerJob == 1 ? "" : "s") each. Each task runs its job exactly as a local
    # batch would (log, job.json, result, resume) under \(plan.out)/jobs/. Submit, then collect:
    #   jobid=$(sbatch --parsable \(path))
    #   sbatch --dependency=afterany:$jobid --wrap "\(command(["--report-only"]))"
    #SBATCH --job-name=snp-batch
    #SBATCH --array=0-\(plan.jobs.count - 1)%\(plan.parallel)
    #SBATCH --cpus-per-task=\(plan.threadsPerJob)
    #SBATCH --output=\(plan.out)/slurm-%A_%a.txt
    set -euo pipefail
    cd \(shellQuoted(folder))
    exec \(command(["--threads-per-job", String(plan.threadsPerJob)], raw: " --task \"$SLURM_ARRAY_TASK_ID\""))

    """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
}
