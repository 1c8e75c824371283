import Checkpoints
import Foundation
import Testing
@testable import Language

/// The diffusion, world and distillation builtins from Swift: exact error messages, pictures
/// of runs, checkpoints written and read back.
@Suite("World and distillation builtins", .serialized)
struct WorldBuiltinTests {
    static let teacherPath = repositoryRoot.appendingPathComponent("Notebooks/checkpoints/shapes-teacher-unet-16.h5").path

    /// An interpreter with `teacher` (the shipped UNet teacher) and `student` defined.
    func session() throws -> Interpreter {
        let interpreter = Interpreter()
        interpreter.pictureDirectory = try scratchFolder("world-pictures")
        let (_, error) = runScript("let teacher = load(\"\(Self.teacherPath)\")\nlet student = student_of(teacher)", interpreter: interpreter)
        #expect(error == nil, "\(error.map(String.init(describing:)) ?? "")")
        return interpreter
    }

    @Test func mistakesNameTheBuiltinTheArgumentAndWhatCame() throws {
        let interpreter = try session()
        let cases: [(String, String)] = [
            ("vsd(teacher, kappa: \"four\")", "vsd(): kappa must be a number or a distribution, got string \"four\""),
            ("vsd(teacher, kappa_lora: [1, 2])", "vsd(): kappa_lora must be a number or a distribution, got list of 2"),
            ("sample(teacher, \"a\", sampler: \"heun\")", "sample(): sampler must be one of \"ddim\", \"dpmsolver\", \"euler\", got string \"heun\""),
            ("distill(student, vsd(teacher), method: \"magic\")", "distill(): method must be one of \"sb\", \"sb-ttur\", \"pgsb\", \"frozen-only\", \"lora-only\", \"sbv2\", got string \"magic\""),
            ("generate(student, \"a\", method: \"magic\")", "generate(): method must be one of \"none\", \"nasa\", \"cfg\", \"embed_sub\", got string \"magic\""),
            ("vsd(zeros([2]))", "vsd(): teacher must be a teacher (load a teacher checkpoint), got tensor [2]"),
            ("distill(teacher, vsd(teacher))", "distill(): student must be a student (from student_of or load), got teacher"),
            ("sample(student, \"a\")", "sample(): teacher must be a multi-step teacher; a one-step student draws with generate()"),
            ("eps(\"teacher\", zeros([1, 3, 16, 16]), 1, \"a\")", "eps(): model must be a teacher, a student or a LoRA teacher, got string \"teacher\""),
            ("schedule(kind: \"cosine\")", "schedule(): kind must be one of \"linear\", \"scaled_linear\", \"squaredcos_cap_v2\", got string \"cosine\""),
            ("noise(teacher, zeros([1, 3, 16, 16]), 1000, zeros([1, 3, 16, 16]))", "noise(): t must be an integer timestep 0…999 or a list of them, got 1000"),
            ("teacher.schedule.sigma(2.5)", "schedule.sigma(): t must be an integer timestep 0…999 or a list of them, got 2.5"),
            ("dist(fn(rng) { \"x\" })", "dist(): the function fn must return a number, got string \"x\""),
            ("eps(teacher, zeros([2, 3, 16, 16]), 3, [\"a\", \"b\", \"c\"])", "eps(): prompts must be one prompt or 2 (one per sample), got 3"),
            ("eps(teacher, zeros([2, 3, 8, 8]), 3, \"a\")", "eps(): xt must be [B, 3, 16, 16] for this model, got tensor [2,3,8,8]"),
            ("cfg(zeros([2, 1]), ones([2, 1]), [1, 2, 3])", "cfg(): kappa must be one number or one per sample (2), got 3"),
            ("vsd(teacher, t: [0.5, 0.1])", "vsd(): t must be [min, max] with 0 ≤ min ≤ max ≤ 1"),
            ("vsd(teacher, weighting: \"two\")", "vsd(): weighting must be one of \"sigma2\", \"one\", \"dmd\", got string \"two\""),
            ("generate(teacher, \"a\", negative: \"b\", method: \"embed_sub\", steps: 1)", "generate(): method \"embed_sub\" is for one-step students"),
            ("distill(student, vsd(teacher), prompts: [\"a red circle\"])", "distill(): a list of 1 prompt has no real images to evaluate against: set eval_every: 0, or give a dataset"),
            ("distill(student, vsd(teacher), prompts: [1, 2])", "distill(): prompts must be a list of strings"),
            ("distill(student, vsd(teacher), prompts: dataset(zeros([4, 3, 8, 8]), captions: [\"a\", \"b\", \"c\", \"d\"]), eval_every: 0)", "distill(): a dataset of 4 images holds 8×8 pictures, the teacher draws 16×16"),
            ("dataset(zeros([4, 3, 8, 8]), captions: [\"a\"])", "has 4 images but 1 captions"),
            ("dataset(\"/nonexistent/data.h5\")", "no such file or folder"),
            ("dataset(\"x.h5\", captions: [\"a\"])", "dataset(): a file or folder brings its own captions"),
            ("train_teacher(dataset(zeros([4, 3, 16, 16]), captions: [\"a\", \"b\", \"c\", \"d\"]), steps: 1)", "train_teacher(): a dataset needs a text encoder that knows its words"),
            ("train_clip(dataset(zeros([4, 3, 6, 6]), captions: [\"a\", \"b\", \"c\", \"d\"]), steps: 1, batch: 2)", "side must be a multiple of 4"),
            ("evaluate(teacher, zeros([4, 3, 16, 16]))", "evaluate(): needs at least 8 images, got 4"),
            ("removal_rate(zeros([1, 3, 16, 16]), \"shiny\")", "removal_rate(): negative must name one attribute"),
            ("save(teacher, \"/nonexistent/x.h5\", dtype: \"float16\")", "save(): dtype must be \"float32\" for a teacher or student, got string \"float16\""),
            ("shapes(size: 12)", "shapes(): size must be a multiple of 8 from 8 to 64 (16 or 32 usual), got number 12"),
            ("shapes().render({colour: \"mauve\"})", "world.render(): colour must be one of \"red\", \"orange\""),
            ("uniform(4, 1)", "uniform(): guidance scale: uniform needs finite low < high"),
            ("train_teacher(shapes(), kind: \"vit\")", "train_teacher(): kind must be \"unet\" or \"pixart\", got string \"vit\""),
            ("train_teacher(shapes(), kind: \"pixart\", steps: 1, config: {patch_sise: 1})", "unknown key patch_sise"),
            ("sparkline(student)", "sparkline(): values must be a list of numbers or a tensor, got student"),
            ("distill(student, vsd(teacher), regression: 1, regression_schedule: \"step\")", "distill(): regression_schedule must be \"constant\" or \"cosine\""),
            ("distill(student, vsd(teacher), regression_weight: -1)", "distill(): regression_weight must be a number ≥ 0"),
            ("distill(student, vsd(teacher), regression: 1, regression_pair_seed: -2)", "distill(): regression_pair_seed must be a non-negative integer"),
            ("distill(student, vsd(teacher), regression: 1, regression_beta1: 1)", "distill(): regression_beta1 must be a number in [0, 1)"),
        ]
        for (text, message) in cases {
            let (_, error) = runScript(text, interpreter: interpreter)
            #expect(error?.kind == .runtime, "\(text): \(error.map(String.init(describing:)) ?? "no error")")
            #expect(error?.message.contains(message) == true, "\(text): got \(error?.message ?? "no error")")
        }
    }

    /// Every new builtin, called with one or two arguments of the wrong kinds, fails with a
    /// language error (never a crash, never another error type).
    @Test func wrongArgumentsNeverCrash() throws {
        let interpreter = Interpreter()
        interpreter.pictureDirectory = try scratchFolder("world-junk")
        let junk = ["nil", "-1", "1e12", "\"x\"", "[]", "[1, \"a\"]", "{a: 1}", "zeros([1, 3, 16, 16])", "fn(x) { x }"]
        let names = ["schedule", "noise", "eps_to_x0", "x0_to_eps", "encode", "eps", "cfg", "sample", "train_teacher", "shapes", "evaluate", "fd",
                     "precision_recall", "clip_score", "removal_rate", "classify", "constant", "uniform", "normal", "loguniform", "choice", "dist",
                     "student_of", "vsd", "vsd_loss", "distill", "generate", "attend", "lora", "plot", "sparkline"]
        // Objects first, junk second (none of these calls starts a long run).
        _ = runScript("""
            let teacher = load("\(Self.teacherPath)")
            let student = student_of(teacher)
            let world = shapes()
            let k = uniform(1, 2)
            let s = teacher.schedule
            """, interpreter: interpreter)
        for name in names {
            #expect(interpreter.registry[name] != nil, "\(name) is missing")
            var calls = junk.map { "\(name)(\($0))" }
            for a in junk { for b in junk { calls.append("\(name)(\(a), \(b))") } }
            for object in ["teacher", "student", "world", "k", "s"] { for b in junk { calls.append("\(name)(\(object), \(b))") } }
            for call in calls {
                do { try interpreter.run(call) } catch is LanguageError {} catch { Issue.record("\(call): \(type(of: error)): \(error)") }
            }
        }
    }

    @Test func runsPlotAndSaveAndLoadBack() throws {
        let interpreter = try session()
        let folder = try scratchFolder("world-files")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (output, error) = runScript("""
            let run = distill(student, vsd(teacher, lora_rank: 2), steps: 2, batch: 1, eval_every: 0, out: "\(folder)/s.h5")
            print(run)
            let png = plot(run, ["loss", "lora_loss"], to: "\(folder)/curves.png")
            print(png == "\(folder)/curves.png", len(sparkline(run, "loss")) > 0, run.metrics[0])
            save(student, "\(folder)/student.h5")
            let back = load("\(folder)/student.h5")
            print(type(back), allclose(params(back)["conv_out.weight"], params(student)["conv_out.weight"]))
            print(type(load("\(folder)/s.h5")))
            save(teacher, "\(folder)/teacher.h5")
            print(type(load("\(folder)/teacher.h5")), type(load("\(Self.teacherPath.replacingOccurrences(of: "teacher-unet", with: "clip"))")))
            print(type(load("\(Self.teacherPath.replacingOccurrences(of: "teacher-unet", with: "classifier"))")))
            """, interpreter: interpreter)
        #expect(error == nil, "\(error.map(String.init(describing:)) ?? "")")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 6, "\(output)")
        #expect(lines.first?.hasPrefix("run: 2 steps, loss ") == true)
        #expect(Array(lines.dropFirst()) == ["true true loss", "student true", "student", "teacher encoder", "classifier"])
        #expect(FileManager.default.fileExists(atPath: folder + "/curves.png"))
        #expect(interpreter.pictures.contains(folder + "/curves.png"))
    }

    /// The regression warm-up's knobs from the language: pairs kept in a cache file (with their own
    /// seed), the term kept on beside VSD after the warm-up.
    @Test func regressionKnobs() throws {
        let interpreter = try session()
        let folder = try scratchFolder("world-regression")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (output, error) = runScript("""
            let run = distill(student_of(teacher, t: 250), vsd(teacher, lora_rank: 2), steps: 2, batch: 1, eval_every: 0, seed: 3,
                              regression: 1, regression_pairs: 2, regression_sampler_steps: 2, regression_weight: 0.5,
                              regression_schedule: "cosine", regression_beta1: 0.9, regression_cache: "\(folder)/pairs.h5", regression_pair_seed: 0)
            print(run.step, run.last("regression_loss") > 0, run.last("loss") >= 0)
            """, interpreter: interpreter)
        #expect(error == nil, "\(error.map(String.init(describing:)) ?? "")")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "2 true true", "\(output)")
        // The cache holds 2 pairs made with seed 0 (not the run's 3).
        let attribute = try HDF5File(path: folder + "/pairs.h5").attribute("regression_pairs")?.stringValue ?? ""
        #expect(attribute.hasPrefix("seed 0, pairs 2, kappa 3.0, steps 2"), "\(attribute)")
    }

    @Test func modelBuiltinsTakeTeachersAndStudents() throws {
        let interpreter = try session()
        let (output, error) = runScript("""
            print(len(attention_layers(student).rows) == len(attention_layers(teacher.network).rows))
            let on = nasa(student, layers: "**", alpha: 0.5)
            print(len(on) > 0, student)
            nasa_off(student)
            print(student)
            print(len(layers(teacher, pattern: "**")) > 10, len(params(teacher, pattern: "conv_in")))
            let layer = teacher.network["down_blocks.1.attentions.0.transformer_blocks.0.attn2"]
            let h = randn([1, 64, 64], seed: 0)
            let plain = attend(layer, h, encode(teacher, "a circle"))
            print(allclose(attend(layer, h, encode(teacher, "a circle"), negative: encode(teacher, "red")), plain))
            nasa(teacher, layers: "down_blocks.1.**", alpha: 0.5)
            print(allclose(attend(layer, h, encode(teacher, "a circle"), negative: encode(teacher, "red")), plain))
            nasa_off(teacher)
            # A NASA negative prompt acts even with NASA switched off (every layer, α = 0.5, for the call).
            let a = sample(teacher, "a circle", steps: 2)
            print(allclose(sample(teacher, "a circle", steps: 2, nasa_negative: "red"), a), teacher)
            print(type(lora(teacher)), type(lora(teacher.network, rank: 2)))
            """, interpreter: interpreter)
        #expect(error == nil, "\(error.map(String.init(describing:)) ?? "")")
        #expect(output == """
            true
            true student (one-step): UNet2DConditionModel 1.00M params, 16×16, scaled_linear T=1000, NASA on 4 layers
            student (one-step): UNet2DConditionModel 1.00M params, 16×16, scaled_linear T=1000
            true 2
            true
            false
            false teacher: UNet2DConditionModel 1.00M params, 16×16, scaled_linear T=1000
            lora_teacher model

            """)
    }
}
