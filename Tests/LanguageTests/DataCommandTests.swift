import Checkpoints
import Foundation
import Testing

/// One's own data through the command line, as the tutorial walks it: an h5py-style file (written
/// by the language's `dataset().save`) → `snp train-clip --data` → `snp train-teacher --data` →
/// `snp train-classifier --data` → `snp distill --data` → `snp eval --data --classifier` →
/// `snp generate --data` and `snp sample --data`. A few steps each: what is checked is that every
/// command takes the data, reads its held-out captions and writes what it says.
@Suite("snp with --data", .serialized)
struct DataCommandTests {
    @Test func ownDataThroughEveryCommand() throws {
        let folder = try scratchFolder("data-commands")
        let data = folder + "/data.h5"
        let make = """
        let b = shapes(size: 8, seed: 3).sample(48)
        let names = {circle: 0, square: 1, triangle: 2, diamond: 3, cross: 4}
        let captions = []
        let labels = []
        for a in b.attributes { captions = captions + ["ein " + a.shape]
                                labels = labels + [names[a.shape]] }
        dataset(b.images, captions: captions, labels: tensor(labels)).save("\(data)")
        """
        #expect(try runSnp(["-e", make]).status == 0)
        let split = ["--data", data, "--held-out", "0.25", "--data-seed", "1"]

        let clip = try runSnp(["train-clip", "--steps", "2", "--batch", "8", "--out", folder + "/enc.h5"] + split)
        #expect(clip.status == 0, "\(clip.err)")
        #expect(clip.out.contains("48 images of 8×8, 36 for training, 12 held out") && clip.out.contains("image → caption retrieval"))

        let teacher = try runSnp(["train-teacher", "--kind", "unet", "--encoder", folder + "/enc.h5", "--steps", "2", "--batch", "4",
                                  "--log-every", "1", "--eval-every", "2", "--eval-count", "8", "--checkpoint-every", "2",
                                  "--out", folder + "/teacher.h5"] + split)
        #expect(teacher.status == 0, "\(teacher.err)")

        let judge = try runSnp(["train-classifier", "--steps", "2", "--batch", "8", "--out", folder + "/judge.h5"] + split)
        #expect(judge.status == 0, "\(judge.err)")
        #expect(judge.out.contains("label accuracy on the 12 held-out images"))

        let student = try runSnp(["distill", "--teacher", folder + "/teacher.h5", "--steps", "2", "--batch", "2", "--log-every", "1",
                                  "--eval-every", "2", "--eval-count", "8", "--checkpoint-every", "2", "--out", folder + "/student.h5"] + split)
        #expect(student.status == 0, "\(student.err)")

        let eval = try runSnp(["eval", "--student", folder + "/student.h5", "--count", "8", "--classifier", folder + "/judge.h5",
                               "--json", folder + "/eval.json"] + split)
        #expect(eval.status == 0, "\(eval.err)")
        #expect(eval.out.contains("label acc ↑"))
        let document = try jsonObject(at: folder + "/eval.json")
        let row = (document?["rows"] as? [[String: Any]])?.first
        let labelAccuracy = row?["label_acc"] as? Double
        #expect(labelAccuracy.map { $0 >= 0 && $0 <= 1 } == true, "\(String(describing: row))")

        let generated = try runSnp(["generate", "--student", folder + "/student.h5", "--count", "4", "--out", folder + "/gen.h5",
                                    "--grid", folder + "/gen.png"] + split)
        #expect(generated.status == 0, "\(generated.err)")
        let written = try ImageSetFile.load(folder + "/gen.h5")
        let heldOut = try runSnp(["-e", "print(dataset(\"\(data)\", held_out: 0.25, seed: 1).eval_prompts(4))"])
        #expect(written.images.shape == [4, 3, 8, 8] && written.prompts.allSatisfy { $0.hasPrefix("ein ") })
        #expect(heldOut.out == "[" + written.prompts.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n", "\(written.prompts) vs \(heldOut.out)")
        #expect(FileManager.default.fileExists(atPath: folder + "/gen.png"))

        let sampled = try runSnp(["sample", "--teacher", folder + "/teacher.h5", "--steps", "2", "--count", "2", "--grid", folder + "/sample.png"] + split)
        #expect(sampled.status == 0 && FileManager.default.fileExists(atPath: folder + "/sample.png"), "\(sampled.err)")

        // Bad combinations are usage errors naming what was wrong.
        let both = try runSnp(["generate", "--student", folder + "/student.h5", "--prompt", "ein circle", "--grid", folder + "/x.png"] + split)
        #expect(both.status == 64 && both.err.contains("not both"))
        let worldJudge = try runSnp(["eval", "--student", folder + "/student.h5", "--count", "8",
                                     "--classifier", "Notebooks/checkpoints/shapes-classifier-16.h5"] + split)
        #expect(worldJudge.status != 0 && worldJudge.err.contains("label classifier"), "\(worldJudge.err)")
        let unlabelled = folder + "/unlabelled.h5"
        #expect(try runSnp(["-e", "dataset(shapes(size: 8).sample(16).images, captions: shapes(size: 8).sample(16).captions).save(\"\(unlabelled)\")"]).status == 0)
        let noLabels = try runSnp(["train-classifier", "--steps", "1", "--batch", "8", "--data", unlabelled, "--out", folder + "/none.h5"])
        #expect(noLabels.status != 0 && noLabels.err.contains("has no labels"), "\(noLabels.err)")
    }
}
