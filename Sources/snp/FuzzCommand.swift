import Checkpoints
import Engine
import Foundation
import Language

// `snp fuzz`: the reliability harness (Scripts/fuzz). Damaged copies of a checkpoint are opened by
// child snp processes (`inspect`, `load()`, `compare` against the original), each classified as a
// clean error, a load that kept every tensor intact, a silent load of changed weights, a crash
// (death by a signal) or a hang; mutated .snp programs are parsed in this process and a sample of
// them run as children under a time limit.

func fuzzCommand(_ words: [String]) throws -> Int32 {
    var args = try Arguments(words, valued: ["files", "parser", "runs", "seed", "corpus", "scripts", "timeout", "out"])
    let fileCount = try args.integer("files", 60), parserCount = try args.integer("parser", 3000), runCount = try args.integer("runs", 30)
    let seed = UInt64(try args.integer("seed", 1))
    let corpus = args.value("corpus") ?? "Notebooks/checkpoints/shapes-teacher-unet-16.h5"
    let scriptsFolder = args.value("scripts") ?? "Tests/LanguageTests/Scripts"
    let timeout = Double(try args.float("timeout") ?? 20)
    let out = args.value("out") ?? NSTemporaryDirectory() + "snp-fuzz-\(getpid())"
    try args.finish(positionalCount: 0...0)
    guard let executable = Bundle.main.executablePath else { throw UsageError(message: "cannot find the snp executable") }
    guard let original = FileManager.default.contents(atPath: corpus) else { throw UsageError(message: "cannot read the corpus file \(corpus)") }
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let random = RandomGenerator(seed: seed)
    var bad: [String] = []
    let start = Date()

    // 1. Damaged checkpoints.
    var outcomes: [String: Int] = [:]
    for index in 0..<fileCount {
        var bytes = [UInt8](original)
        let damage: String
        switch index % 5 {
        case 0:
            let length = random.integer(below: bytes.count)
            bytes = Array(bytes[0..<length])
            damage = "truncated to \(length) bytes"
        case 1, 2, 3:
            let flips = 1 + random.integer(below: 64)
            for _ in 0..<flips { bytes[random.integer(below: bytes.count)] ^= UInt8(1 + random.integer(below: 255)) }
            damage = "\(flips) random bytes changed"
        default:
            let length = 16 + random.integer(below: 4096), at = random.integer(below: bytes.count)
            for i in at..<min(bytes.count, at + length) { bytes[i] = 0 }
            damage = "\(length) bytes zeroed at \(at)"
        }
        let path = "\(out)/damaged-\(index).h5"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let outcome = try classifyDamaged(path, original: corpus, executable: executable, timeout: timeout)
        outcomes[outcome, default: 0] += 1
        if outcome == "crash" || outcome == "hang" || outcome == "silent load" {
            bad.append("\(path) (\(damage)): \(outcome)")
        } else {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
    for special in [("empty.h5", Data()), ("text.h5", Data("not a checkpoint\n".utf8))] {
        let path = "\(out)/\(special.0)"
        try special.1.write(to: URL(fileURLWithPath: path))
        let outcome = try classifyDamaged(path, original: corpus, executable: executable, timeout: timeout)
        outcomes[outcome, default: 0] += 1
        if outcome != "clean error" { bad.append("\(path): \(outcome)") }
    }
    print("damaged files (\(fileCount + 2) from \(corpus)): " + outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))

    // 1b. Crafted files: well-formed HDF5 whose content is wrong (as h5py could write it).
    var crafted: [String: Int] = [:]
    for (label, path) in try craftedCheckpoints(from: corpus, into: out) {
        let outcome = try classifyDamaged(path, original: corpus, executable: executable, timeout: timeout, loadOnly: true)
        // A float64 copy of a tensor holds the same values: loading it intact is right.
        let expected = label == "a tensor stored as float64" ? "intact load" : "clean error"
        crafted[outcome, default: 0] += 1
        if outcome != expected { bad.append("\(path) (\(label)): \(outcome), expected \(expected)") } else { try? FileManager.default.removeItem(atPath: path) }
    }
    print("crafted files: " + crafted.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))

    // 2. Mutated programs: parsed here (a parser crash would crash the harness: that is the test),
    // a sample run as children with a time limit.
    let seeds = try FileManager.default.contentsOfDirectory(atPath: scriptsFolder).filter { $0.hasSuffix(".snp") }.sorted()
        .compactMap { try? String(contentsOfFile: scriptsFolder + "/" + $0, encoding: .utf8) }
    guard !seeds.isEmpty else { throw UsageError(message: "no .snp seed programs in \(scriptsFolder)") }
    var parsed = 0, syntaxErrors = 0
    var runOutcomes: [String: Int] = [:]
    for index in 0..<(parserCount + runCount) {
        let program = mutate(seeds[random.integer(below: seeds.count)], with: random, donors: seeds)
        if index < parserCount {
            do { _ = try Parser.parse(Source(name: "<fuzz>", text: program)); parsed += 1 } catch { syntaxErrors += 1 }
            continue
        }
        let path = "\(out)/program-\(index).snp"
        try program.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, timedOut) = try runChild(executable, ["run", path], timeout: timeout)
        let outcome = timedOut ? "hang" : ChildProcess.signal(status).map { "crash (\(signalName($0)))" } ?? "exit \(ChildProcess.exitCode(status) ?? -1)"
        runOutcomes[outcome, default: 0] += 1
        if timedOut || ChildProcess.signal(status) != nil { bad.append("\(path): \(outcome)") } else { try? FileManager.default.removeItem(atPath: path) }
    }
    print("mutated programs: \(parserCount) parsed in-process (\(parsed) valid, \(syntaxErrors) syntax errors, 0 crashes — the harness is still running), "
          + "\(runCount) run: " + runOutcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    print(String(format: "%.0f s; ", Date().timeIntervalSince(start)) + (bad.isEmpty ? "0 crashes, 0 hangs, 0 silent loads" : "\(bad.count) bad cases, kept in \(out):"))
    for line in bad { print("  " + line) }
    return bad.isEmpty ? ExitCode.ok : 1
}

/// Well-formed copies of the checkpoint at `corpus` with one thing wrong, written into `folder`:
/// a tensor stored as int64 or float64, reshaped (flattened), renamed, declaring 2⁴⁰ elements,
/// all NaN, one infinity, a tensor missing; the architecture or config attribute replaced. Each
/// with its label.
private func craftedCheckpoints(from corpus: String, into folder: String) throws -> [(String, String)] {
    let checkpoint = try Checkpoint.load(corpus, loadTraining: false)
    guard let (target, tensor) = checkpoint.tensors.first(where: { $0.tensor.shape.count >= 2 }) else {
        throw UsageError(message: "the corpus \(corpus) holds no tensor of 2 or more dimensions to craft from")
    }
    typealias Write = (HDF5Writer, String, Tensor) throws -> Void
    let asItIs: Write = { w, n, t in try w.write(t, to: n) }
    func craft(_ label: String, architecture: String? = nil, config: String? = nil, _ write: Write) throws -> (String, String) {
        let path = "\(folder)/crafted-\(label.split(separator: " ").joined(separator: "-")).h5"
        try HDF5Writer.write(to: path) { writer in
            try writer.setAttribute("format", .string(Checkpoint.format))
            try writer.setAttribute("format_version", .int(Int64(Checkpoint.formatVersion)))
            try writer.setAttribute("architecture", .string(architecture ?? checkpoint.architecture))
            try writer.setAttribute("config", .string(config ?? checkpoint.config))
            for (name, t) in checkpoint.tensors {
                try (name == target ? write : asItIs)(writer, name, t)
            }
        }
        return (label, path)
    }
    let flat = try tensor.reshape([tensor.count])
    let inf = tensor.copy()
    inf.storage.pointer[0] = .infinity
    return [
        try craft("a tensor stored as int64") { w, n, t in try w.write(integers: t.scalars.map { Int64($0 * 1000) }, shape: t.shape, to: n) },
        try craft("a tensor stored as float64") { w, n, t in try w.write(doubles: t.scalars.map(Double.init), shape: t.shape, to: n) },
        try craft("a tensor reshaped") { w, n, _ in try w.write(flat, to: n) },
        try craft("a tensor renamed") { w, n, t in try w.write(t, to: n + "_renamed") },
        try craft("a tensor declaring 2^40 elements") { w, n, _ in try w.declare(n, shape: [1 << 20, 1 << 20]) },
        try craft("a tensor of NaN") { w, n, t in try w.write(Tensor.full(t.shape, .nan), to: n) },
        try craft("one infinite weight") { w, n, _ in try w.write(inf, to: n) },
        try craft("a tensor missing") { _, _, _ in },
        try craft("another architecture", architecture: "PixArtTransformer2DModel", asItIs),
        try craft("a config that is not JSON", config: "{not json", asItIs),
    ]
}

/// What child processes make of a damaged file: "crash", "hang", "clean error" (the children
/// refused it with an error; "… (a libhdf5 crash, isolated)" when the error came from the crash
/// isolation), "intact load" (it loads and every tensor equals the original's) or "silent load"
/// (it loads with changed weights).
/// `loadOnly`: judge by `load()` alone (a crafted file's listing is fine for `inspect` to show;
/// loading it as a model must fail).
private func classifyDamaged(_ path: String, original: String, executable: String, timeout: Double, loadOnly: Bool = false) throws -> String {
    var loaded = false, isolated = false
    let log = NSTemporaryDirectory() + "snp-fuzz-child-\(getpid()).txt"
    defer { try? FileManager.default.removeItem(atPath: log) }
    for command in (loadOnly ? [] : [["inspect", path]]) + [["-e", "load(\"\(path)\")"]] {
        let (status, timedOut) = try runChild(executable, command, timeout: timeout, output: log)
        if timedOut { return "hang" }
        if ChildProcess.signal(status) != nil { return "crash" }
        if ChildProcess.exitCode(status) == 0 { loaded = true }
        // The crash isolation at work: libhdf5 died in the reader process, the command did not.
        if ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("libhdf5 crashed") { isolated = true }
    }
    if isolated { return "clean error (a libhdf5 crash, isolated)" }
    guard loaded else { return "clean error" }
    let (status, timedOut) = try runChild(executable, ["compare", original, path], timeout: timeout, output: log)
    if timedOut { return "hang" }
    if ChildProcess.signal(status) != nil { return "crash" }
    guard ChildProcess.exitCode(status) == 0 else { return "clean error" }
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    let changed = text.split(separator: "\n").contains { !$0.contains("max abs difference 0, ") }
    return changed ? "silent load" : "intact load"
}

/// Runs a child to its end or `timeout` (then SIGKILL): its wait status and whether it timed out.
private func runChild(_ executable: String, _ arguments: [String], timeout: Double, output: String? = nil) throws -> (Int32, Bool) {
    let child = try ChildProcess.spawn(executable, arguments, output: output, ownGroup: true)
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let ended = child.poll() { return (ended.status, false) }
        usleep(5_000)
    }
    kill(-child.pid, SIGKILL)
    return (child.wait().status, true)
}

/// A program with 1–8 edits: a byte changed, a span deleted or duplicated, a span from another
/// program spliced in, brackets or quotes inserted.
private func mutate(_ text: String, with random: RandomGenerator, donors: [String]) -> String {
    var bytes = Array(text.utf8)
    for _ in 0..<(1 + random.integer(below: 8)) {
        guard !bytes.isEmpty else { bytes = Array("(".utf8); continue }
        let at = random.integer(below: bytes.count)
        switch random.integer(below: 5) {
        case 0: bytes[at] = UInt8(32 + random.integer(below: 95))
        case 1: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.integer(below: 16)))
        case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 1 + random.integer(below: 32))], at: at)
        case 3:
            let donor = Array(donors[random.integer(below: donors.count)].utf8)
            let from = random.integer(below: max(donor.count, 1))
            bytes.insert(contentsOf: donor[from..<min(donor.count, from + random.integer(below: 64))], at: at)
        default: bytes.insert(Array("([{\"'}])\\#".utf8)[random.integer(below: 10)], at: at)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
