import Foundation
import Testing
@testable import Language

/// FD and precision/recall in a real CLIP image tower's features: `snp eval --features` and the
/// builtins' `features:` / `encoder:`. The tower is the ModelsTests fixture clip_vision_proj (a
/// random one-channel CLIPVisionModelWithProjection, 16×16, projection_dim 24) converted with
/// `snp convert`; the teacher is the shipped one.
@Suite("CLIP image features: snp eval --features and features: in the language", .serialized)
struct FeaturesCommandTests {
    let teacher = repositoryRoot.appendingPathComponent("Notebooks/checkpoints/shapes-teacher-unet-16.h5").path

    /// The fixture tower converted into `folder`.
    func tower(in folder: String) throws -> String {
        let path = folder + "/tower.h5"
        let fixture = repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/clip_vision_proj").path
        let converted = try runSnp(["convert", fixture, path])
        #expect(converted.status == 0, "\(converted.err)")
        return path
    }

    @Test func evalLabelsItsFeatureSpace() throws {
        let folder = try scratchFolder("features")
        let tower = try tower(in: folder)
        let small = ["--teacher", teacher, "--count", "8", "--steps", "2", "--kappas", "3"]
        let run = try runSnp(["eval"] + small + ["--features", tower, "--json", folder + "/eval.json"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("FD and precision/recall in the image features of CLIPVisionModelWithProjection (\(tower)) (24 dimensions); the CLIP score in the teacher's encoder's"), "\(run.out)")
        let document = try jsonObject(at: folder + "/eval.json")
        #expect(document?["features"] as? String == "CLIPVisionModelWithProjection (\(tower))")
        let row = (document?["rows"] as? [[String: Any]])?.first
        #expect((row?["fd"] as? Double).map { $0.isFinite && $0 >= 0 } == true, "\(String(describing: row))")

        let plain = try runSnp(["eval"] + small + ["--json", folder + "/plain.json"])
        #expect(plain.status == 0, "\(plain.err)")
        #expect(plain.out.contains("image features of ShapesCLIP (") && plain.out.contains("(128 dimensions)"), "\(plain.out)")
        let plainDocument = try jsonObject(at: folder + "/plain.json")
        #expect((plainDocument?["features"] as? String)?.hasPrefix("ShapesCLIP") == true)
    }

    @Test func evalRefusesANonTower() throws {
        let run = try runSnp(["eval", "--teacher", teacher, "--count", "8", "--steps", "2", "--kappas", "3", "--features", teacher])
        #expect(run.status != 0)
        #expect(run.err.contains("holds a UNet2DConditionModel, not a CLIP image tower (CLIPVisionModelWithProjection, CLIPVisionModel or CLIPModel)")
                && run.err.contains("snp convert"), "\(run.err)")
    }

    @Test func builtinsTakeATower() throws {
        let folder = try scratchFolder("features-lang")
        let tower = try tower(in: folder)
        let script = """
        let tower = load("\(tower)")
        let world = shapes()
        let a = world.sample(16).images
        let b = world.sample(16, seed: 1).images
        print(tower.type)
        print(abs(fd(a, b, encoder: tower) - fd(a, b, encoder: "\(tower)")) < 1e-9, fd(a, b, encoder: tower) > 0, fd(a, a, encoder: tower) < 1e-3)
        print(abs(fd(a, b, encoder: tower) - fd(a, b)) > 1e-6)
        print(precision_recall(a, a, encoder: tower))
        print(precision_recall(a, b, encoder: tower.vision_model).recall >= 0)
        let teacher = load("\(teacher)")
        let p = world.eval_prompts(8)
        let images = world.sample(8, seed: 2).images
        let clip = evaluate(teacher, images, prompts: p, features: tower)
        let own = evaluate(teacher, images, prompts: p)
        print(clip.clip_score == own.clip_score, clip.fd != own.fd, clip.fd >= 0)
        """
        let (output, error) = runScript(script)
        #expect(error == nil, "\(String(describing: error))")
        #expect(output == """
        CLIPVisionModelWithProjection
        true true true
        true
        {precision: 1, recall: 1}
        true
        true true true

        """, "\(output)")

        let wrong = runScript("fd(shapes().sample(4).images, shapes().sample(4).images, encoder: \"\(teacher)\")")
        #expect(wrong.error.map { "\($0)".contains("holds a UNet2DConditionModel, not image features") } == true, "\(String(describing: wrong.error))")
        let module = runScript("let u = load(\"\(teacher)\")\nevaluate(u, shapes().sample(8).images, features: u.network)")
        #expect(module.error.map { "\($0)".contains("features must be a CLIP image tower") } == true, "\(String(describing: module.error))")
    }

    // MARK: - A whole CLIPModel: FD/PR in its image_embeds and the CLIP score with it

    /// The ModelsTests fixture clip_model (a random transformers CLIPModel, 16×16 RGB tower,
    /// projection_dim 12, text over the tokenizer fixture's vocabulary) converted into `folder`;
    /// with `tokenizer`, the tokenizer fixture copied into folder/tokenizer.
    func clipModel(in folder: String, tokenizer: Bool) throws -> String {
        let path = folder + "/clip.h5"
        let fixtures = repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures")
        let converted = try runSnp(["convert", fixtures.appendingPathComponent("clip_model").path, path])
        #expect(converted.status == 0, "\(converted.err)")
        #expect(converted.out.contains("CLIPModel"), "\(converted.out)")
        if tokenizer {
            try FileManager.default.createDirectory(atPath: folder + "/tokenizer", withIntermediateDirectories: true)
            for file in ["vocab.json", "merges.txt"] {
                try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("tokenizer/" + file).path, toPath: folder + "/tokenizer/" + file)
            }
        }
        return path
    }

    var tokenizerFixture: String { repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/tokenizer").path }

    @Test func evalWithACLIPModelNamesBothSpaces() throws {
        let folder = try scratchFolder("features-clipmodel")
        let model = try clipModel(in: folder, tokenizer: true)
        let small = ["--teacher", teacher, "--count", "8", "--steps", "2", "--kappas", "3"]
        let run = try runSnp(["eval"] + small + ["--features", model, "--json", folder + "/eval.json"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("FD and precision/recall in the image features of CLIPModel (\(model)) (12 dimensions); the CLIP score with CLIPModel (\(model)) too (its text_embeds, tokenizer \(folder)/tokenizer)"), "\(run.out)")
        let document = try jsonObject(at: folder + "/eval.json")
        #expect(document?["features"] as? String == "CLIPModel (\(model))")
        #expect(document?["clip_score_model"] as? String == "CLIPModel (\(model))")
        let row = (document?["rows"] as? [[String: Any]])?.first
        #expect((row?["clip_score"] as? Double).map { $0.isFinite && $0 >= 0 && $0 <= 100 } == true, "\(String(describing: row))")
        #expect((row?["fd"] as? Double).map { $0.isFinite && $0 >= 0 } == true, "\(String(describing: row))")

        // A vision tower alone: the CLIP score stays the teacher's encoder's, and the JSON says so.
        let tower = try tower(in: folder)
        let towerRun = try runSnp(["eval"] + small + ["--features", tower, "--json", folder + "/tower.json"])
        #expect(towerRun.status == 0, "\(towerRun.err)")
        let towerDocument = try jsonObject(at: folder + "/tower.json")
        #expect((towerDocument?["clip_score_model"] as? String)?.hasPrefix("ShapesCLIP") == true, "\(String(describing: towerDocument))")
        let stray = try runSnp(["eval"] + small + ["--features", tower, "--tokenizer", tokenizerFixture])
        #expect(stray.status != 0 && stray.err.contains("--tokenizer") && stray.err.contains("CLIPModel"), "\(stray.err)")
    }

    @Test func evalWithoutTheTokenizerSaysWhatIsMissing() throws {
        let folder = try scratchFolder("features-clipmodel-notok")
        let model = try clipModel(in: folder, tokenizer: false)
        let small = ["--teacher", teacher, "--count", "8", "--steps", "2", "--kappas", "3"]
        let run = try runSnp(["eval"] + small + ["--features", model])
        #expect(run.status != 0)
        #expect(run.err.contains("CLIPModel (\(model)) needs its CLIP tokenizer (vocab.json and merges.txt)") && run.err.contains("--tokenizer FOLDER"), "\(run.err)")
        let given = try runSnp(["eval"] + small + ["--features", model, "--tokenizer", tokenizerFixture, "--json", folder + "/eval.json"])
        #expect(given.status == 0, "\(given.err)")
        #expect(given.out.contains("tokenizer \(tokenizerFixture))"), "\(given.out)")
    }

    @Test func builtinsTakeACLIPModel() throws {
        let folder = try scratchFolder("features-clipmodel-lang")
        let model = try clipModel(in: folder, tokenizer: true)
        let tower = try tower(in: folder)
        let script = """
        let clip = load("\(model)")
        print(clip.type)
        let world = shapes()
        let batch = world.sample(8, seed: 3)
        let s = clip_score(batch.images, batch.captions, encoder: clip)
        print(s >= 0, s <= 100, abs(s - clip_score(batch.images, batch.captions, encoder: "\(model)")) < 1e-9)
        print(abs(s - clip_score(batch.images, batch.captions, encoder: clip, tokenizer: tokenizer("\(tokenizerFixture)"))) < 1e-9)
        print(abs(s - clip_score(batch.images, batch.captions)) > 1e-6)
        let teacher = load("\(teacher)")
        let p = world.eval_prompts(8)
        let images = world.sample(8, seed: 2).images
        let joint = evaluate(teacher, images, prompts: p, features: clip)
        let own = evaluate(teacher, images, prompts: p)
        print(abs(joint.clip_score - clip_score(images, p, encoder: clip)) < 1e-9, joint.clip_score != own.clip_score, joint.fd >= 0)
        print(abs(fd(images, world.sample(8).images, encoder: clip) - fd(images, world.sample(8).images, encoder: "\(model)")) < 1e-9)
        """
        let (output, error) = runScript(script)
        #expect(error == nil, "\(String(describing: error))")
        #expect(output == """
        CLIPModel
        true true true
        true
        true
        true true true
        true

        """, "\(output)")

        // A vision tower has no text tower; a CLIPModel without its tokenizer names what is missing.
        let images = "shapes().sample(4).images"
        for encoder in ["load(\"\(tower)\")", "\"\(tower)\""] {
            let noText = runScript("clip_score(\(images), \"a red circle\", encoder: \(encoder))")
            #expect(noText.error.map { "\($0)".contains("CLIP image tower without a text tower") && "\($0)".contains("needs a CLIPModel") } == true,
                    "\(String(describing: noText.error))")
        }
        try FileManager.default.removeItem(atPath: folder + "/tokenizer")
        let bare = try clipModel(in: try scratchFolder("features-clipmodel-bare"), tokenizer: false)
        let missing = runScript("clip_score(\(images), \"a red circle\", encoder: load(\"\(bare)\"))")
        #expect(missing.error.map { "\($0)".contains("needs its CLIP tokenizer (vocab.json and merges.txt)") && "\($0)".contains("give tokenizer:") } == true,
                "\(String(describing: missing.error))")
        let words = runScript("clip_score(\(images), \"a red circle\", encoder: \"\(bare)\", tokenizer: tokenizer(\"shapes\"))")
        #expect(words.error.map { "\($0)".contains("not the shapes world's word tokenizer") } == true, "\(String(describing: words.error))")
    }
}
