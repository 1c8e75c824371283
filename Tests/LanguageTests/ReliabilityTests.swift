import Foundation
import Testing

@Suite("Damaged files cannot crash snp", .serialized)
struct ReliabilityTests {
    /// A 6 KB HDF5 file (an h5write of two tensors with a few bytes changed, found by fuzzing)
    /// on which libhdf5 1.10 dies with SIGSEGV whichever way it is opened.
    let crasher = repositoryRoot.appendingPathComponent("Tests/CheckpointsTests/Fixtures/libhdf5-crash.h5").path

    @Test func aFileThatCrashesLibhdf5IsAnErrorAndTheReplSurvives() throws {
        // Opened directly, it kills the process: the fixture is a real crasher.
        let commands = [["inspect", crasher], ["-e", "h5ls(\"\(crasher)\")"], ["-e", "h5read(\"\(crasher)\")"], ["-e", "load(\"\(crasher)\")"]]
        for command in commands {
            let direct = try runSnp(command, environment: ["SNP_ISOLATE_HDF5": "0"])
            #expect(direct.signaled && direct.status == SIGSEGV, "\(command) opened directly")
        }
        // Through the isolated reader: a clear error naming the file, for every way in.
        for command in commands {
            let run = try runSnp(command, environment: [:])
            #expect(!run.signaled && run.status != 0, "\(command)")
            #expect(run.err.contains("\(crasher): the file is truncated or damaged: libhdf5 crashed (SIGSEGV) reading it in a separate process"), "\(run.err)")
        }
        // The REPL keeps its variables after trying to load it.
        let repl = try runSnp([], environment: [:], input: "let kept = 41\nload(\"\(crasher)\")\nprint(kept + 1)\n")
        #expect(!repl.signaled && repl.out.contains("42"), "\(repl.out) \(repl.err)")
    }

    /// The fuzz harness's fast mode finds no crash, hang or silent load (a short run: the CI runs
    /// a longer one in Scripts/test).
    @Test func fuzzHarnessFastMode() throws {
        let corpus = repositoryRoot.appendingPathComponent("Notebooks/checkpoints/shapes-classifier-16.h5").path
        let run = try runSnp(["fuzz", "--files", "8", "--parser", "300", "--runs", "3", "--seed", "4", "--corpus", corpus,
                              "--scripts", repositoryRoot.appendingPathComponent("Tests/LanguageTests/Scripts").path], environment: [:])
        #expect(run.status == 0, "\(run.out)\(run.err)")
        #expect(run.out.contains("damaged files (10 from") && run.out.contains("0 crashes, 0 hangs, 0 silent loads"))
        // The 10 well-formed files with wrong content: refused by load(), but the float64 copy.
        #expect(run.out.contains("crafted files: 9 clean error, 1 intact load"), "\(run.out)")
    }
}
