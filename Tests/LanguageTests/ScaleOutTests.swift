import Checkpoints
import Engine
import Foundation
import Testing

/// Where `mpirun` is (Scripts/setup installs Open MPI); nil: these tests do not run.
private let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// `mpirun -np ranks snp arguments` on this machine, one thread per rank.
private func runRanks(_ ranks: Int, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let run = try runProgram(mpirun!, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", snpPath] + arguments,
                             environment: ["SNP_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"])
    return (run.status, run.out, run.err)
}

/// The largest |a − b| over the tensors two checkpoints' training states hold under `group`.
private func largestDifference(_ a: String, _ b: String, group: String) throws -> (Float, String) {
    let x = try #require(try Checkpoint.load(a).training?.tensors[group]), y = try #require(try Checkpoint.load(b).training?.tensors[group])
    #expect(x.names == y.names && !x.names.isEmpty)
    var worst: (Float, String) = (0, "")
    for name in x.names {
        let d = zip(x[name]!.scalars, y[name]!.scalars).map { abs($0 - $1) }.max() ?? 0
        if d > worst.0 { worst = (d, name) }
    }
    return worst
}

/// Data parallelism over Open MPI: N ranks with batch B train as one process with batch B (the
/// same draws, the gradients summed over the ranks), a run resumes on another rank count, a
/// sweep spreads its points over the ranks, and a rank that dies stops the job.
@Suite("Scale-out over MPI", .serialized, .enabled(if: mpirun != nil, "mpirun is not installed (Scripts/setup installs Open MPI)"))
struct ScaleOutTests {
    @Test func twoRanksTrainATeacherAsOneProcessDoes() throws {
        let folder = try scratchFolder("mpi-teacher")
        let common = ["train-teacher", "--kind", "unet", "--steps", "4", "--batch", "5", "--log-every", "1", "--eval-every", "4", "--eval-count", "8"]
        let one = try runRanks(1, common + ["--out", folder + "/one.h5"])
        #expect(one.status == 0, "\(one.err)")
        let two = try runRanks(2, common + ["--out", folder + "/two.h5"])
        #expect(two.status == 0, "\(two.err)")
        // Rank 0 alone prints: the summary once.
        #expect(two.out.components(separatedBy: "trained 4 steps").count == 2, "\(two.out)")
        let (worst, name) = try largestDifference(folder + "/one.run.h5", folder + "/two.run.h5", group: "weights")
        #expect(worst < 1e-5, "raw weight \(name) differs by \(worst)")
        let h1 = try #require(try Checkpoint.load(folder + "/one.run.h5").training?.history)
        let h2 = try #require(try Checkpoint.load(folder + "/two.run.h5").training?.history)
        #expect(h1.steps == h2.steps && h1.steps == [1, 2, 3, 4])
        for metric in ["loss", "grad_norm", "fd", "prompt_acc"] {
            let a = try #require(h1.metrics[metric]), b = try #require(h2.metrics[metric])
            for (x, y) in zip(a, b) where !x.isNaN {
                #expect(abs(x - y) <= 1e-4 * Swift.max(1, abs(x)), "\(metric): \(a) vs \(b)")
            }
        }
        // The step-4 loss is a real number that a rank computing only half the batch would miss.
        #expect(h1.metrics["loss"]!.last! > 0.1)

    }

    @Test func twoRanksDistilAsOneProcessDoes() throws {
        let folder = try scratchFolder("mpi-distill")
        let teacher = repositoryRoot.appendingPathComponent("Notebooks/checkpoints/shapes-teacher-unet-16.h5").path
        let common = ["distill", "--teacher", teacher, "--steps", "3", "--batch", "5", "--log-every", "1", "--eval-every", "3", "--eval-count", "8"]
        let one = try runRanks(1, common + ["--out", folder + "/one.h5"])
        #expect(one.status == 0, "\(one.err)")
        let two = try runRanks(2, common + ["--out", folder + "/two.h5"])
        #expect(two.status == 0, "\(two.err)")
        let h1 = try #require(try Checkpoint.load(folder + "/one.run.h5").training?.history)
        let h2 = try #require(try Checkpoint.load(folder + "/two.run.h5").training?.history)
        for metric in ["loss", "lora_loss", "kappa_mean", "g_rms", "fd"] {
            let a = try #require(h1.metrics[metric]), b = try #require(h2.metrics[metric])
            #expect(a.count == 3 && b.count == 3)
            for (x, y) in zip(a, b) where !x.isNaN {
                #expect(abs(x - y) <= 1e-3 * Swift.max(1e-3, abs(x)), "\(metric): \(a) vs \(b)")
            }
        }
        // The student's weights (what is sampled) agree closely; the LoRA adapters, which start at
        // zero and move by Adam's normalised steps, agree to a few parts in 10⁴ of their size.
        let s1 = try Checkpoint.load(folder + "/one.h5").tensors, s2 = try Checkpoint.load(folder + "/two.h5").tensors
        let worst = s1.names.map { n in zip(s1[n]!.scalars, s2[n]!.scalars).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 1
        #expect(worst < 1e-5, "student weights differ by \(worst)")
        let (lora, name) = try largestDifference(folder + "/one.run.h5", folder + "/two.run.h5", group: "lora")
        #expect(lora < 1e-4, "LoRA \(name) differs by \(lora)")

        // Resume on another rank count: 2 steps on two ranks, then the third on one.
        let shared = ["distill", "--teacher", teacher, "--batch", "5", "--log-every", "1", "--eval-count", "8", "--out", folder + "/mixed.h5"]
        let half = try runRanks(2, shared + ["--steps", "2", "--eval-every", "0"])
        #expect(half.status == 0, "\(half.err)")
        let rest = try runRanks(1, shared + ["--steps", "3", "--eval-every", "3", "--resume"])
        #expect(rest.status == 0, "\(rest.err)")
        let s3 = try Checkpoint.load(folder + "/mixed.h5").tensors
        let resumed = s1.names.map { n in zip(s1[n]!.scalars, s3[n]!.scalars).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 1
        #expect(resumed < 1e-5, "after resuming on one rank the student differs by \(resumed)")
        let (resumedLora, where_) = try largestDifference(folder + "/one.run.h5", folder + "/mixed.run.h5", group: "lora")
        #expect(resumedLora < 1e-4, "after resuming on one rank LoRA \(where_) differs by \(resumedLora)")
    }

    @Test func aSweepSpreadsItsPointsOverTheRanks() throws {
        let folder = try scratchFolder("mpi-sweep")
        let script = """
        let t = sweep(fn(a, b) { {v: a * 10 + b, name: "p" + str(a)} }, over: {a: [1, 2, 3], b: [0, 1]})
        print(t.v)
        print(t.name)
        t.save("\(folder)/t.csv")
        """
        let run = try runRanks(2, ["-e", script])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out == "[10, 11, 20, 21, 30, 31]\n[\"p1\", \"p1\", \"p2\", \"p2\", \"p3\", \"p3\"]\n", "\(run.out)")
        // Points 2, 4, 6 ran on rank 1.
        #expect(run.err.components(separatedBy: "(rank 1 of 2)").count == 4, "\(run.err)")
        let csv = try String(contentsOfFile: folder + "/t.csv", encoding: .utf8)
        #expect(csv.hasPrefix("a,b,v,name\n1,0,10,p1\n"), "\(csv)")
    }

    @Test func aRankThatDiesStopsTheOthersAndKeepsTheCheckpoint() throws {
        let folder = try scratchFolder("mpi-fail")
        let out = folder + "/t.h5", run = folder + "/t.run.h5"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun!)
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", snpPath, "train-teacher", "--kind", "unet", "--steps", "2000",
                             "--batch", "2", "--log-every", "2", "--checkpoint-every", "2", "--out", out]
        process.environment = ProcessInfo.processInfo.environment.merging(["SNP_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait for a checkpoint, then kill rank 1 (found by its environment).
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: run) && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        #expect(FileManager.default.fileExists(atPath: run))
        let victim = try #require(rankProcess(1, command: out))
        kill(victim, SIGKILL)
        let killed = Date()
        while process.isRunning && Date().timeIntervalSince(killed) < 30 { Thread.sleep(forTimeInterval: 0.1) }
        let stopped = !process.isRunning
        if !stopped { process.terminate() }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stopped && Date().timeIntervalSince(killed) < 15, "the job went on \(Date().timeIntervalSince(killed)) s after rank 1 died")
        #expect(process.terminationStatus != 0)
        #expect(message.contains("rank 1") || message.contains("signal 9"), "\(message.suffix(600))")
        // The last checkpoint is whole and resumable.
        let state = try #require(try Checkpoint.load(run).training)
        #expect(state.step >= 2 && state.step % 2 == 0)
    }
}

/// The pid of the process of MPI rank `rank` whose command line mentions `command`.
private func rankProcess(_ rank: Int, command: String) -> pid_t? {
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry),
              let line = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline")),
              String(decoding: line, as: UTF8.self).contains(command),
              let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/environ")) else { continue }
        let variables = String(decoding: environment, as: UTF8.self).split(separator: "\0")
        if variables.contains(where: { $0 == "OMPI_COMM_WORLD_RANK=\(rank)" }) && !String(decoding: line, as: UTF8.self).hasPrefix(mpirun!) { return pid }
    }
    return nil
}
