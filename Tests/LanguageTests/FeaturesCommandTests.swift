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
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/eval.json"))) as? [String: Any]
        #expect(document?["features"] as? String == "CLIPVisionModelWithProjection (\(tower))")
        let row = (document?["rows"] as? [[String: Any]])?.first
        #expect((row?["fd"] as? Double).map { $0.isFinite && $0 >= 0 } == true, "\(String(describing: row))")

        let plain = try runSnp(["eval"] + small + ["--json", folder + "/plain.json"])
        #expect(plain.status == 0, "\(plain.err)")
        #expect(plain.out.contains("image features of ShapesCLIP (") && plain.out.contains("(128 dimensions)"), "\(plain.out)")
        let plainDocument = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/plain.json"))) as? [String: Any]
        #expect((plainDocument?["features"] as? String)?.hasPrefix("ShapesCLIP") == true)
    }

    @Test func evalRefusesANonTower() throws {
        let run = try runSnp(["eval", "--teacher", teacher, "--count", "8", "--steps", "2", "--kappas", "3", "--features", teacher])
        #expect(run.status != 0)
        #expect(run.err.contains("holds a UNet2DConditionModel, not a CLIP image tower (CLIPVisionModelWithProjection or CLIPVisionModel)")
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
}
