import Foundation
import Testing
@testable import Language

/// Runs the `snp` built next to the test binary (feeding `input` on stdin); returns status, stdout, stderr.
func runSnp(_ arguments: [String], input: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let run = try runSnp(arguments, environment: [:], input: input ?? "")
    return (run.status, run.out, run.err)
}

/// The same with `environment` added to this process's; `signaled`: it died by signal `status`.
func runSnp(_ arguments: [String], environment: [String: String], input: String = "") throws -> (status: Int32, signaled: Bool, out: String, err: String) {
    try runProgram(snpPath, arguments, environment: environment, input: input)
}

/// The snp binary beside the test bundle.
let snpPath = Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("snp").path

/// Any program (`mpirun`, `snp`) with `environment` added to this process's, its output collected.
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:], input: String = "") throws
    -> (status: Int32, signaled: Bool, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let (out, err, stdin) = (Pipe(), Pipe(), Pipe())
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, process.terminationReason == .uncaughtSignal,
            String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

@Suite("snp and .snp files", .serialized)
struct LanguageCommandLineTests {
    @Test func exitCodes() throws {
        let folder = try scratchFolder("cli")
        let good = folder + "/good.snp", bad = folder + "/bad.snp", failing = folder + "/failing.snp"
        try "print(\"args\", args)\nprint(sum([1, 2]))\n".write(toFile: good, atomically: true, encoding: .utf8)
        try "let x = (1 +\n".write(toFile: bad, atomically: true, encoding: .utf8)
        try "print(\"start\")\nassert(false, message: \"nope\")\n".write(toFile: failing, atomically: true, encoding: .utf8)

        let run = try runSnp(["run", good, "a", "b"])
        #expect(run.status == 0 && run.out == "args [\"a\", \"b\"]\n3\n")
        #expect(try runSnp([good]).status == 0)
        let syntax = try runSnp(["run", bad])
        #expect(syntax.status == 65 && syntax.err.contains("bad.snp:2:1: error: expected an expression"))
        let runtime = try runSnp([failing])
        #expect(runtime.status == 70 && runtime.out == "start\n" && runtime.err.contains("failing.snp:2:7: error: nope"))
        #expect(try runSnp(["check", good]).status == 0)
        #expect(try runSnp(["check", failing]).status == 0)
        #expect(try runSnp(["check", good, bad]).status == 65)
        #expect(try runSnp(["run", folder + "/absent.snp"]).status == 74)
        #expect(try runSnp(["check", folder + "/absent.snp"]).status == 74)
        #expect(try runSnp(["run"]).status == 64)
        #expect(try runSnp(["-e"]).status == 64)
        let inline = try runSnp(["-e", "print(2 ** 10, args)", "x"])
        #expect(inline.status == 0 && inline.out == "1024 [\"x\"]\n")
        #expect(try runSnp(["-e", "nope("]).status == 65)
        #expect(try runSnp(["-e", "zeros([2]) @ zeros([3])"]).status == 70)
        let piped = try runSnp(["-"], input: "print(\"from stdin\")\n")
        #expect(piped.status == 0 && piped.out == "from stdin\n")
    }

    @Test func notebookCommand() throws {
        let folder = try scratchFolder("cli-notebook")
        let notebook = folder + "/demo.snp"
        try "#%% md\n# # Demo\n#%%\nprint(\"hello\")\nplot([3, 1, 2])\n#%%\nundefined_name\n#%%\nprint(\"later\")\n"
            .write(toFile: notebook, atomically: true, encoding: .utf8)
        let stopped = try runSnp(["notebook", notebook, "-o", folder + "/out/demo.md"])
        #expect(stopped.status == 70)
        let page = try String(contentsOfFile: folder + "/out/demo.md", encoding: .utf8)
        #expect(page.contains("# Demo") && page.contains("```text\nhello\n```") && page.contains("![cell1-1.png](demo.assets/cell1-1.png)"))
        #expect(FileManager.default.fileExists(atPath: folder + "/out/demo.assets/cell1-1.png"))
        #expect(!page.contains("later\n```"))
        let kept = try runSnp(["notebook", notebook, "--keep-going"])
        #expect(kept.status == 70)
        #expect(try String(contentsOfFile: folder + "/demo.md", encoding: .utf8).contains("```text\nlater\n```"))
        #expect(try runSnp(["help-language"]).out == Builtins.markdown())
    }
}

@Suite("Model, file and picture builtins through snp", .serialized)
struct ModelBuiltinTests {
    /// Converts the Models tests' tiny diffusers UNet with `snp convert`, then drives it from .snp.
    @Test func loadInspectAdaptSave() throws {
        let folder = try scratchFolder("models")
        let fixture = repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/unet_linear").path
        try #require(FileManager.default.fileExists(atPath: fixture))
        #expect(try runSnp(["convert", fixture, folder + "/unet.h5"]).status == 0)
        let script = folder + "/models.snp"
        try """
            let m = load(args[0])
            print(type(m), m)
            print(keys(params(m, pattern: "conv_in")))
            print(freeze(m) > 0, unfreeze(m, pattern: "conv_in"), m.conv_in.weight.requires_grad, m.conv_out.weight.requires_grad)
            print(attention_layers(m).rows[1])
            print(len(nasa(m, layers: "down_blocks.**", alpha: 0.5)), m)
            nasa_off(m)
            m.lora(layers: "**.attn2.to_q", rank: 2, alpha: 2)
            print(m)
            print(m.conv_in.weight.shape, m["down_blocks.0"])
            save(m, args[1], dtype: "float16")
            print(allclose(load(args[1]).conv_in.weight, m.conv_in.weight, atol: 1e-3), h5ls(args[1]).rows[0].dtype)
            h5write(args[2], {a: ones([2, 2]), b: [1, 2, 3]})
            print(h5read(args[2], name: "b"), keys(h5read(args[2])))
            save_png(randn([3, 8, 8], seed: 1), args[3])
            print(load_png(args[3]).shape)
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let result = try runSnp(["run", script, folder + "/unet.h5", folder + "/copy.h5", folder + "/t.h5", folder + "/x.png"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == """
            model UNet2DConditionModel (793.0K parameters)
            ["conv_in.weight", "conv_in.bias"]
            true 2 true false
            {name: "down_blocks.0.attentions.0.transformer_blocks.0.attn2", kind: "cross", processor: "standard"}
            1 UNet2DConditionModel (793.0K parameters), NASA on 1 layer
            UNet2DConditionModel (793.6K parameters), LoRA on 4 layers
            [32, 4, 3, 3] down_blocks.0: CrossAttnDownBlock2D (55.3K parameters), LoRA on 1 layer
            true float16
            tensor[3] [1, 2, 3] ["a", "b"]
            [3, 8, 8]

            """)
        let wrong = try runSnp(["-e", "nasa(load(\"\(folder)/unet.h5\"), layers: \"nothing.*\")"])
        #expect(wrong.status == 70 && wrong.err.contains("nasa(): "))
    }
}

@Suite("snp train-teacher --init", .serialized)
struct TeacherInitTests {
    /// A warm start continues from a teacher's weights with its own embedded encoder (the file is
    /// copied alone into an empty folder first) and refuses what cannot go together.
    @Test func warmStartFromATeacherFile() throws {
        let folder = try scratchFolder("teacher-init")
        let encoder = repositoryRoot.appendingPathComponent("Notebooks/checkpoints/shapes-clip-16-attr.h5").path
        let first = try runSnp(["train-teacher", "--kind", "unet", "--encoder", encoder, "--steps", "1", "--batch", "2",
                                "--eval-every", "0", "--out", folder + "/first.h5"])
        #expect(first.status == 0, "\(first.err)")
        let alone = try scratchFolder("teacher-init-alone")
        try FileManager.default.copyItem(atPath: folder + "/first.h5", toPath: alone + "/first.h5")
        let warm = try runSnp(["train-teacher", "--kind", "unet", "--init", alone + "/first.h5", "--steps", "1", "--batch", "2",
                               "--eval-every", "0", "--out", folder + "/second.h5"])
        #expect(warm.status == 0 && warm.out.contains("starting from the weights of \(alone)/first.h5"), "\(warm.err)")
        #expect(FileManager.default.fileExists(atPath: folder + "/second.h5"))
        let wrongKind = try runSnp(["train-teacher", "--kind", "pixart", "--init", alone + "/first.h5", "--out", folder + "/x.h5"])
        #expect(wrongKind.status == 64 && wrongKind.err.contains("is a unet teacher, not a pixart"))
        let withResume = try runSnp(["train-teacher", "--init", alone + "/first.h5", "--resume", "--out", folder + "/x.h5"])
        #expect(withResume.status == 64 && withResume.err.contains("cannot be combined with --resume"))
        let withEncoder = try runSnp(["train-teacher", "--init", alone + "/first.h5", "--encoder", encoder, "--out", folder + "/x.h5"])
        #expect(withEncoder.status == 64 && withEncoder.err.contains("drop --encoder"))
    }
}

@Suite("snp distill --init", .serialized)
struct DistillInitTests {
    /// A fresh distillation run from a one-step student's weights takes the student's t_s, refuses
    /// a --student-t that disagrees with it, and refuses --resume.
    @Test func freshRunFromAStudentFile() throws {
        let folder = try scratchFolder("distill-init")
        let student = repositoryRoot.appendingPathComponent("Notebooks/checkpoints/shapes-student-unet-16.h5").path
        let run = try runSnp(["distill", "--init", student, "--steps", "1", "--batch", "1", "--lora-rank", "2",
                              "--eval-every", "0", "--out", folder + "/s.h5"])
        #expect(run.status == 0 && run.out.contains("starting from the student \(student) (t_s = 250)"), "\(run.out) \(run.err)")
        let inspect = try runSnp(["inspect", folder + "/s.h5"])
        #expect(inspect.out.contains("\"_snoopi_student_timestep\":250"), "\(inspect.out)")
        let other = try runSnp(["distill", "--init", student, "--student-t", "500", "--steps", "1", "--batch", "1", "--lora-rank", "2",
                                "--eval-every", "0", "--out", folder + "/t.h5"])
        #expect(other.status != 0 && other.err.contains("conditioned at t = 250, but the options ask for t = 500"), "\(other.err)")
        let withResume = try runSnp(["distill", "--init", student, "--resume", "--out", folder + "/x.h5"])
        #expect(withResume.status == 64 && withResume.err.contains("--init starts a new run"), "\(withResume.err)")
    }
}
