import Foundation
import Testing

/// Starts `snp ARGS…` with stdout and stderr to files in `folder`; the caller waits.
private func startSnp(_ arguments: [String], in folder: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: snpPath)
    process.arguments = arguments
    _ = FileManager.default.createFile(atPath: folder + "/stdout.txt", contents: nil)
    _ = FileManager.default.createFile(atPath: folder + "/stderr.txt", contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: folder + "/stdout.txt")
    process.standardError = FileHandle(forWritingAtPath: folder + "/stderr.txt")
    try process.run()
    return process
}

/// status.json's jobs by name (nil while the runner has not written it).
private func jobStates(_ out: String) -> [String: [String: Any]]? {
    guard let data = FileManager.default.contents(atPath: out + "/status.json"),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let jobs = object["jobs"] as? [[String: Any]] else { return nil }
    return Dictionary(uniqueKeysWithValues: jobs.compactMap { job in (job["name"] as? String).map { ($0, job) } })
}

/// Polls `condition` every 20 ms for up to `seconds`.
private func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

private func record(_ out: String, _ name: String) throws -> [String: Any] {
    let data = try #require(FileManager.default.contents(atPath: "\(out)/jobs/\(name)/job.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

@Suite("snp batch", .serialized)
struct BatchTests {
    /// Passing, failing (65 and 70), crashing (killed by a signal), hanging (timed out) scripts
    /// and a 2 × 2 sweep in one batch: each recorded as what it was, the others unaffected; the
    /// rerun skips exactly the finished ones; the report lists them all.
    @Test func mixedBatchRecordsEveryOutcomeAndResumes() throws {
        let folder = try scratchFolder("batch")
        let out = folder + "/out"
        let scripts: [String: String] = [
            "pass.snp": "print(\"passing\", args)\nlet x = h5read(\"\(folder)/input.h5\", name: \"x\")\nresult({total: sum(x), label: \"ok\"})\nshow(full([3, 8, 8], 0.5))\n",
            "syntax.snp": "let x = (1 +\n",
            "runtime.snp": "print(\"before\")\nassert(false, message: \"deliberate\")\n",
            "hang.snp": "while true { }\n",
            "crash.snp": "print(\"waiting to be killed\")\nwhile true { }\n",
            "grid.snp": "#% sweep {alpha: [0, 0.5], tag: [\"a\", \"b\"]}\nresult({score: alpha * 10, tag: tag})\n",
        ]
        for (name, text) in scripts { try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8) }
        #expect(try runSnp(["-e", "h5write(\"\(folder)/input.h5\", {x: ones([3])})"]).status == 0)

        let arguments = ["batch", folder, "--jobs", "2", "--timeout", "4", "--out", out, "--args", "A", "B"]
        let batch = try startSnp(arguments, in: folder)
        // The crash job: killed from outside by SIGKILL once it runs (what the OOM killer does).
        var crashPid: Int32 = 0
        #expect(waitFor(30) {
            guard let job = jobStates(out)?["crash"], job["state"] as? String == "running", let pid = job["pid"] as? Int else { return false }
            crashPid = Int32(pid)
            return true
        })
        if crashPid > 0 { kill(crashPid, SIGKILL) }
        batch.waitUntilExit()
        #expect(batch.terminationStatus == 1)

        #expect(try record(out, "pass")["status"] as? String == "passed")
        let passResult = try #require(try record(out, "pass")["result"] as? [String: Any])
        #expect(passResult["total"] as? Double == 3 && passResult["label"] as? String == "ok")
        #expect(try String(contentsOfFile: out + "/jobs/pass/log.txt", encoding: .utf8).hasPrefix("passing [\"A\", \"B\"]\npicture: "))
        let inputs = try #require(try record(out, "pass")["inputs"] as? [[String: String]])
        #expect(inputs.map { $0["path"] } == [URL(fileURLWithPath: folder + "/input.h5").standardizedFileURL.path])
        let syntax = try record(out, "syntax"), runtime = try record(out, "runtime")
        #expect(syntax["status"] as? String == "failed" && syntax["exit_code"] as? Int == 65)
        #expect(runtime["status"] as? String == "failed" && runtime["exit_code"] as? Int == 70)
        #expect(try record(out, "hang")["status"] as? String == "timed out")
        let crash = try record(out, "crash")
        #expect(crash["status"] as? String == "crashed" && crash["signal"] as? Int == Int(SIGKILL))
        for (alpha, tag) in [("0", "a"), ("0", "b"), ("0.5", "a"), ("0.5", "b")] {
            let point = try record(out, "grid.alpha=\(alpha),tag=\(tag)")
            let result = try #require(point["result"] as? [String: Any])
            #expect(point["status"] as? String == "passed")
            #expect(result["score"] as? Double == Double(alpha)! * 10 && result["tag"] as? String == tag)
        }

        let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        for name in ["pass", "syntax", "runtime", "hang", "crash", "grid.alpha=0.5,tag=b"] { #expect(report.contains("| \(name) |")) }
        #expect(report.contains("**9 jobs: 5 passed, 4 failed**"))
        #expect(report.contains("crashed (SIGKILL)") && report.contains("failed (exit 65)") && report.contains("timed out"))
        #expect(report.contains("deliberate"))
        #expect(report.contains("<img src=\"jobs/pass/pictures/show-1.png\""))
        #expect(report.contains("| alpha | tag | label | score | total | log |"))
        // The merged table: one row per job, the sweep's values and result fields as columns.
        let csv = try String(contentsOfFile: out + "/results.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(csv.first == "job,state,seconds,alpha,tag,label,score,total" && csv.count == 10, "\(csv)")
        #expect(csv.contains { $0.hasPrefix("\"grid.alpha=0.5,tag=b\",passed,") && $0.hasSuffix(",0.5,b,,5,") }, "\(csv)")
        #expect(csv.contains { $0.hasPrefix("pass,passed,") && $0.hasSuffix(",,,ok,,3") }, "\(csv)")

        // The rerun skips the five finished jobs and reruns the four that failed.
        let again = try runSnp(["batch", folder + "/pass.snp", folder + "/syntax.snp", folder + "/grid.snp", "--out", out, "--json", "--args", "A", "B"])
        #expect(again.status == 1)
        let status = try #require(try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any])
        let states = (status["jobs"] as? [[String: Any]] ?? []).compactMap { job in (job["name"] as? String).map { ($0, job["state"] as? String ?? "") } }
        #expect(Dictionary(uniqueKeysWithValues: states) == ["pass": "cached", "syntax": "failed", "grid.alpha=0,tag=a": "cached", "grid.alpha=0,tag=b": "cached",
                                                             "grid.alpha=0.5,tag=a": "cached", "grid.alpha=0.5,tag=b": "cached"])
        // A changed input makes its job run again; other arguments too.
        #expect(try runSnp(["-e", "h5write(\"\(folder)/input.h5\", {x: ones([5])})"]).status == 0)
        let changed = try runSnp(["batch", folder + "/pass.snp", "--out", out, "--args", "A", "B"])
        #expect(changed.status == 0 && !changed.err.contains("unchanged"))
        #expect((try record(out, "pass")["result"] as? [String: Any])?["total"] as? Double == 5)
        let forced = try runSnp(["batch", folder + "/pass.snp", "--out", out, "--force", "--args", "A", "B"])
        #expect(forced.status == 0 && !forced.err.contains("unchanged"))
        let skipped = try runSnp(["batch", folder + "/pass.snp", "--out", out, "--args", "A", "B"])
        #expect(skipped.status == 0 && skipped.err.contains("1 finished before and unchanged"))
    }

    /// Ctrl-C stops the queue and lets the running job finish (exit 130); the same command then
    /// runs only what had not finished. Two Ctrl-Cs stop the running job too.
    @Test func ctrlCStopsTheQueueAndTheNextRunContinues() throws {
        let folder = try scratchFolder("batch-interrupt")
        let out = folder + "/out"
        for i in 1...4 {
            try "let t = time()\nwhile time() - t < 0.7 { }\nresult({job: \(i)})\n".write(toFile: "\(folder)/job\(i).snp", atomically: true, encoding: .utf8)
        }
        let first = try startSnp(["batch", folder, "--out", out], in: folder)
        #expect(waitFor(30) { jobStates(out)?["job1"]?["state"] as? String == "passed" })
        first.interrupt()
        first.waitUntilExit()
        #expect(first.terminationStatus == 130)
        let finished = (jobStates(out) ?? [:]).filter { $0.value["state"] as? String == "passed" }.keys.sorted()
        #expect(finished.count >= 1 && finished.count < 4)
        #expect(try String(contentsOfFile: folder + "/stderr.txt", encoding: .utf8).contains("Ctrl-C: no new jobs start"))

        let second = try runSnp(["batch", folder, "--out", out])
        #expect(second.status == 0)
        #expect(second.err.contains("\(finished.count) finished before and unchanged"))
        for name in finished { #expect(!second.err.contains("started \(name)")) }
        #expect(try String(contentsOfFile: out + "/report.md", encoding: .utf8).contains("**4 jobs: 4 passed (\(finished.count) unchanged since an earlier run)**"))

        // Two Ctrl-Cs: the running job is stopped at its next safe point and recorded as interrupted.
        let third = try startSnp(["batch", folder, "--out", out, "--force"], in: folder)
        #expect(waitFor(30) { jobStates(out)?["job1"]?["state"] as? String == "running" })
        third.interrupt()
        usleep(100_000)
        third.interrupt()
        third.waitUntilExit()
        #expect(third.terminationStatus == 130)
        #expect(try record(out, "job1")["status"] as? String == "interrupted")
    }

    @Test func slurmArrayTasksAndBadInput() throws {
        let folder = try scratchFolder("batch-slurm")
        let out = folder + "/out"
        try "#% sweep {seed: 0..<3}\nresult({seed: seed})\n".write(toFile: folder + "/seeds.snp", atomically: true, encoding: .utf8)
        try "print(1)\n".write(toFile: folder + "/plain.snp", atomically: true, encoding: .utf8)
        let emitted = try runSnp(["batch", "--sweep", folder + "/seeds.snp", "--jobs", "2", "--out", out, "--emit-slurm", folder + "/array.sh", "--args", "x"])
        #expect(emitted.status == 0)
        let script = try String(contentsOfFile: folder + "/array.sh", encoding: .utf8)
        #expect(script.contains("#SBATCH --array=0-2%2") && script.contains("--task \"$SLURM_ARRAY_TASK_ID\" --args x"))
        #expect(script.contains("--report-only"))
        // What one array task does: job 1 only; the collector then reports 1 of 3.
        let task = try runSnp(["batch", "--sweep", folder + "/seeds.snp", "--out", out, "--task", "1"])
        #expect(task.status == 0)
        #expect((try record(out, "seeds.seed=1")["result"] as? [String: Any])?["seed"] as? Double == 1)
        #expect(!FileManager.default.fileExists(atPath: out + "/jobs/seeds.seed=0/job.json"))
        let collected = try runSnp(["batch", "--sweep", folder + "/seeds.snp", "--out", out, "--report-only"])
        #expect(collected.status == 1 && collected.out.contains("1 of 3 jobs passed"))

        let noGrid = try runSnp(["batch", "--sweep", folder + "/plain.snp"])
        #expect(noGrid.status == 64 && noGrid.err.contains("no '#% sweep {…}' line"))
        #expect(try runSnp(["batch", folder + "/absent.snp"]).err.contains("absent.snp: no such file or folder"))
        #expect(try runSnp(["batch"]).status == 64)
        #expect(try runSnp(["batch", folder + "/plain.snp", "--task", "5", "--out", out]).err.contains("has 1 jobs"))
        try "#% sweep {alpha: [1, }\n".write(toFile: folder + "/broken.snp", atomically: true, encoding: .utf8)
        let broken = try runSnp(["batch", folder + "/broken.snp"])
        #expect(broken.status == 64 && broken.err.contains("broken.snp:1: the '#% sweep' grid"))
    }

    /// `--grid` replaces the named axes of a sweep's grid and keeps the others; an axis the grid
    /// lacks, an empty axis or a script without a sweep line is a usage error naming it.
    @Test func gridReplacesAxesOfASweep() throws {
        let folder = try scratchFolder("batch-grid")
        let out = folder + "/out"
        try "#% sweep {method: [\"a\", \"b\", \"c\"], seed: 0..<2}\nresult({method: method, seed: seed})\n".write(toFile: folder + "/study.snp", atomically: true, encoding: .utf8)
        let part = try runSnp(["batch", "--sweep", folder + "/study.snp", "--grid", "{method: [\"c\", \"z\"]}", "--out", out, "--json"])
        #expect(part.status == 0)
        let names = ((try JSONSerialization.jsonObject(with: Data(part.out.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names == ["study.method=c,seed=0", "study.method=c,seed=1", "study.method=z,seed=0", "study.method=z,seed=1"])
        #expect((try record(out, "study.method=z,seed=1")["result"] as? [String: Any])?["method"] as? String == "z")
        #expect(!FileManager.default.fileExists(atPath: out + "/jobs/study.method=a,seed=0"))
        let unknown = try runSnp(["batch", "--sweep", folder + "/study.snp", "--grid", "{kappa: [1]}", "--out", out])
        #expect(unknown.status == 64 && unknown.err.contains("no axis 'kappa'") && unknown.err.contains("method, seed"))
        let empty = try runSnp(["batch", "--sweep", folder + "/study.snp", "--grid", "{seed: []}", "--out", out])
        #expect(empty.status == 64 && empty.err.contains("no points"))
        try "print(1)\n".write(toFile: folder + "/plain.snp", atomically: true, encoding: .utf8)
        let plain = try runSnp(["batch", folder + "/plain.snp", "--grid", "{seed: [1]}", "--out", out])
        #expect(plain.status == 64 && plain.err.contains("no '#% sweep {…}' line to replace"))
    }

    @Test func runLetBindsVariablesAndResultChecksItsFields() throws {
        let folder = try scratchFolder("run-let")
        try "print(alpha * 2, name)\n".write(toFile: folder + "/s.snp", atomically: true, encoding: .utf8)
        let run = try runSnp(["run", "--let", "alpha=0.25", "--let", "name=\"x\"", folder + "/s.snp"])
        #expect(run.status == 0 && run.out == "0.5 x\n")
        #expect(try runSnp(["run", "--let", "2x=1", folder + "/s.snp"]).status == 64)
        #expect(try runSnp(["run", "--let", "alpha", folder + "/s.snp"]).status == 64)
        let bad = try runSnp(["-e", "result({f: print})"])
        #expect(bad.status == 70 && bad.err.contains("field 'f' is a function"))
        let merged = try runSnp(["-e", "result({a: 1})\nprint(result({b: tensor([2])}))"])
        #expect(merged.status == 0 && merged.out == "{a: 1, b: 2}\n")
    }
}
