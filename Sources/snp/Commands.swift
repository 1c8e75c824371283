import Foundation

/// Exit codes shared by every subcommand (sysexits.h, as LANGUAGE.md lays out).
enum ExitCode {
    static let ok: Int32 = 0, usage: Int32 = 64, dataError: Int32 = 65, software: Int32 = 70, ioError: Int32 = 74, interrupted: Int32 = 130
}

/// The subcommand table: name → (one-line help, run).
enum SnpCommand {
    struct Entry {
        let summary: String
        let run: ([String]) throws -> Int32
    }

    nonisolated(unsafe) static var table: [(name: String, entry: Entry)] = [
        ("help", Entry(summary: "this list") { _ in print(usage); return ExitCode.ok }),
        ("compare", Entry(summary: "A.h5 B.h5 [--name DATASET] — max difference between two files' tensors", run: compareCommand)),
        ("convert", Entry(summary: "MODEL_DIR OUT.h5 | PIPELINE_DIR OUT.h5 (a diffusers pipeline as one file) | --to-diffusers IN.h5 OUT_DIR [--dtype float16]", run: convertCommand)),
        ("world", Entry(summary: "[--side 32] [--count 16] [--split train|test] [--grid OUT.png] [--out REAL.h5] — samples of the shapes world", run: worldCommand)),
        ("train-classifier", Entry(summary: "[--side 16] [--steps 1000] [--batch 64] [--data PATH] --out PATH.h5 — the removal-rate judge (a label classifier on your labelled data)", run: trainClassifierCommand)),
        ("train-clip", Entry(summary: "[--side 16] [--steps 1000] [--attribute-weight 1] [--contrastive-only] [--data PATH] [--text-encoder CLIP_TEXT.h5 [--tokenizer DIR]] --out PATH.h5 — the shapes world's (or your data's) contrastive encoder; --text-encoder: a real CLIP text tower, frozen", run: trainCLIPCommand)),
        ("train-teacher", Entry(summary: "--kind unet|pixart [--steps 4000] --out PATH.h5 — a multi-step teacher of the shapes world", run: trainTeacherCommand)),
        ("sample", Entry(summary: "--teacher T.h5 --prompt TEXT… | --data PATH [--negative TEXT] [--kappa 3] --grid OUT.png — teacher samples", run: sampleCommand)),
        ("eval", Entry(summary: "--teacher T.h5 | --student S.h5 [--kappas …] [--features CLIP_VISION.h5] [--json FILE] — FD, CLIP score, precision, recall, HF, prompt accuracy (Table 1)", run: evalCommand)),
        ("distill", Entry(summary: "--teacher T.h5 [--method pgsb|sb|sb-ttur|…] [--steps 300] --out S.h5 — a one-step student by VSD; --pipeline DIR|FILE.h5 --prompts FILE [--student-lora RANK] --out STUDENT.h5 — in a latent pipeline's latent space", run: distillCommand)),
        ("generate", Entry(summary: "--student S.h5 --prompt TEXT | --data PATH [--negative TEXT --method nasa|cfg|embed_sub|none --alpha 0.5] [--grid OUT.png] [--out IMAGES.h5] | --pipeline DIR|FILE.h5 --prompt TEXT [--kappa 7.5 (PixArt-α 4.5) --steps 20 --sampler scheduler|ddim|dpmsolver|euler --height H --width W --count N --seed S --negative TEXT --method nasa|cfg --alpha 0.5 --layers GLOB]", run: generateCommand)),
        ("diagnose", Entry(summary: "[--teacher T.h5] [--timesteps 999,…] [--count 256] — where a one-step student's static comes from (teacher error by t, student by t_s, VSD gradient SNR)", run: diagnoseCommand)),
        ("experiment", Entry(summary: "e1|e2|e3|e4|e5|nasa|all [--steps 200 --seeds 3] — the paper's experiments in miniature", run: experimentCommand)),
        ("fuzz", Entry(summary: "[--files 60] [--parser 3000] [--runs 30] [--seed 1] [--corpus M.h5] — the reliability harness: damaged checkpoints and mutated programs (Scripts/fuzz)", run: fuzzCommand)),
        ("kernels", Entry(summary: "the OpenBLAS kernels in use and why, the thread count", run: kernelsCommand)),
        ("inspect", Entry(summary: "M.h5 — architecture, config, tensor and parameter counts", run: inspectCommand)),
        ("forward", Entry(summary: "--checkpoint M.h5 --inputs IN.h5 --out OUT.h5 [--nasa-alpha A] [--nasa-layers GLOB]", run: forwardCommand)),
        ("run", Entry(summary: "[--let NAME=EXPR]… [-i] FILE.snp [ARGS…] — run a .snp script, with -i then the REPL (also: snp FILE.snp, snp -e CODE, snp - for stdin; snp alone: the REPL)", run: runCommand)),
        ("batch", Entry(summary: "FILE.snp… | DIR | --sweep S.snp [--grid G] [--jobs N] [--out DIR] [--timeout S] [--force] [--args …] — many scripts as one resumable batch, one report", run: batchCommand)),
        ("check", Entry(summary: "FILE.snp… — parse only, report syntax errors", run: checkCommand)),
        ("notebook", Entry(summary: "FILE.snp [-o FILE.md] [--keep-going] [ARGS…] — run a notebook, write Markdown with outputs and pictures", run: notebookCommand)),
        ("help-language", Entry(summary: "the .snp language reference (Docs/language.md)", run: helpLanguageCommand)),
    ]

    static var usage: String {
        "usage: snp COMMAND [ARGS…]\n\ncommands:\n" + table.map { "  \($0.name.padding(toLength: 16, withPad: " ", startingAt: 0))\($0.entry.summary)" }.joined(separator: "\n")
    }

    static func main(_ arguments: [String]) -> Int32 {
        guard let name = arguments.first else { return startRepl() }
        if let status = languageInvocation(arguments) { return status }
        let command = name == "-h" || name == "--help" ? "help" : name
        guard let entry = table.first(where: { $0.name == command })?.entry else {
            FileHandle.standardError.write(Data("snp: unknown command '\(name)'\n\(usage)\n".utf8))
            return ExitCode.usage
        }
        let rest = Array(arguments.dropFirst())
        if command != "help" && (rest.contains("--help") || rest.contains("-h")) {
            print("usage: snp \(command) \(entry.summary)")
            if let details = helpDetails[command] { print("\n" + details) }
            return ExitCode.ok
        }
        do {
            return try entry.run(rest)
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("snp \(command): \(error.message)\n".utf8))
            return ExitCode.usage
        } catch {
            FileHandle.standardError.write(Data("snp \(command): error: \(error)\n".utf8))
            return ExitCode.software
        }
    }
}

/// A mistake in how a command was called (exit 64).
struct UsageError: Error { let message: String }
