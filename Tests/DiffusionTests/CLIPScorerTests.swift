import Checkpoints
import Diffusion
import Engine
import Foundation
import Models
import Testing

/// Tests/ModelsTests/Fixtures/clip_model (Scripts/make_parity_fixtures.py --only clip_model): a
/// random transformers CLIPModel whose text tower reads the tokenizer fixture's ids (16
/// positions), and clip_score.json / clip_score.h5: the CLIP score transformers gives for four
/// 20×20 images in [−1, 1] against four prompts (the last longer than 16 tokens).
private struct CLIPScoreFixture {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ModelsTests/Fixtures")
    let folder = fixtures.appendingPathComponent("clip_model").path
    let tokenizer = fixtures.appendingPathComponent("tokenizer").path
    let values: [String: Any]
    let arrays: HDF5File

    init() throws {
        values = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/clip_score.json"))) as! [String: Any]
        arrays = try HDF5File(path: folder + "/clip_score.h5")
    }

    var prompts: [String] { values["prompts"] as! [String] }
    var inputIDs: [[Int]] { (values["input_ids"] as! [[NSNumber]]).map { $0.map(\.intValue) } }
    var score: Double { (values["clip_score"] as! NSNumber).doubleValue }
    func tensor(_ name: String) throws -> Tensor { try arrays.readTensor(name) }

    /// The folder converted as `snp convert` does, into `directory`.
    func converted(into directory: String) throws -> String {
        let path = directory + "/clip.h5"
        try convertFolder(at: folder, to: path)
        return path
    }
}

private func scratch(_ name: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

private func maxAbs(_ a: Tensor, _ b: Tensor) -> Float {
    #expect(a.shape == b.shape)
    return zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? .infinity
}

private func message(_ body: () throws -> Void) -> String {
    do { try body(); return "" } catch { return "\(error)" }
}

@Suite("CLIP score with a real CLIPModel")
struct CLIPScorerTests {
    /// Ids (the long prompt cut to 16 keeping the end token), pixel_values, embeddings, cosines
    /// and the score all match transformers.
    @Test func scoreMatchesTransformers() throws {
        let fixture = try CLIPScoreFixture()
        let directory = try scratch("clip-score")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try fixture.converted(into: directory)
        let scorer = try CLIPScorer.load(path: path, tokenizer: fixture.tokenizer)
        #expect(scorer.name == "CLIPModel (\(path))" && scorer.imageSpace.featureSpaceName == "CLIPModel (\(path))")
        #expect(scorer.tokenizer.maxLength == 16)
        let ids = scorer.inputIDs(fixture.prompts)
        #expect(ids == fixture.inputIDs)
        #expect(ids.last?.count == 16 && ids.last?.last == scorer.tokenizer.eos)

        let images = try fixture.tensor("images")
        let pixelError = maxAbs(try scorer.imageSpace.pixelValues(images), try fixture.tensor("pixel_values"))
        let imageError = maxAbs(try scorer.imageFeatures(images), try fixture.tensor("image_embeds"))
        let textError = maxAbs(try scorer.textFeatures(fixture.prompts), try fixture.tensor("text_embeds"))
        let score = try scorer.score(images, prompts: fixture.prompts)
        print("CLIP score vs transformers: pixel_values \(pixelError), image_embeds \(imageError), text_embeds \(textError), "
              + "score \(score) vs \(fixture.score) (|Δ| \(Swift.abs(score - fixture.score)))")
        #expect(pixelError <= 1e-5 && imageError <= 1e-4 && textError <= 1e-4)
        #expect(Swift.abs(score - fixture.score) <= 1e-3)

        // Every image against every prompt: one prompt for all images is that prompt's column.
        let cosines = try fixture.tensor("cosines").scalars
        for j in 0..<fixture.prompts.count {
            let column = (0..<4).map { 100 * Swift.max(Double(cosines[$0 * 4 + j]), 0) }.reduce(0, +) / 4
            #expect(Swift.abs(try scorer.score(images, prompts: [fixture.prompts[j]]) - column) <= 1e-3)
        }
        #expect(message { _ = try scorer.score(images, prompts: ["a", "b"]) }.contains("one prompt or one per image (4), got 2"))
    }

    /// The tokenizer is found beside the checkpoint or in its tokenizer/ subfolder; without one the
    /// error names the checkpoint, where it looked and how to give it.
    @Test func tokenizerIsFoundBesideTheCheckpoint() throws {
        let fixture = try CLIPScoreFixture()
        let directory = try scratch("clip-tokenizer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try fixture.converted(into: directory)
        let missing = message { _ = try CLIPScorer.load(path: path) }
        #expect(missing.contains("CLIPModel (\(path)) needs its CLIP tokenizer (vocab.json and merges.txt)")
                && missing.contains("\(directory)/tokenizer") && missing.contains("--tokenizer"), "\(missing)")
        #expect(CLIPScorer.tokenizerFolder(beside: path) == nil)

        try FileManager.default.createDirectory(atPath: directory + "/tokenizer", withIntermediateDirectories: true)
        for file in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: fixture.tokenizer + "/" + file, toPath: directory + "/tokenizer/" + file)
        }
        #expect(CLIPScorer.tokenizerFolder(beside: path) == directory + "/tokenizer")
        let images = try fixture.tensor("images")
        #expect(Swift.abs(try CLIPScorer.load(path: path).score(images, prompts: fixture.prompts) - fixture.score) <= 1e-3)
        let bad = message { _ = try CLIPScorer.load(path: path, tokenizer: directory + "/nothing") }
        #expect(bad.contains("vocab.json"), "\(bad)")
    }

    /// A vision tower has no text tower: a CLIP score from it is refused, naming what it is.
    @Test func visionTowerIsNotAScorer() throws {
        let directory = try scratch("clip-tower")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tower = directory + "/tower.h5"
        try convertFolder(at: CLIPScoreFixture.fixtures.appendingPathComponent("clip_vision_proj").path, to: tower)
        let error = message { _ = try CLIPScorer.load(path: tower) }
        #expect(error.contains("holds a CLIPVisionModelWithProjection, a CLIP image tower without a text tower: a CLIP score needs a CLIPModel"), "\(error)")
    }

    /// The evaluator measures FD/PR in the CLIPModel's image_embeds and the CLIP score with it.
    @Test func evaluatorUsesTheScorer() throws {
        let fixture = try CLIPScoreFixture()
        let directory = try scratch("clip-evaluator")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scorer = try CLIPScorer.load(path: fixture.converted(into: directory), tokenizer: fixture.tokenizer)
        let world = try ShapesWorld(side: 16, seed: 0)
        let encoder = try ShapesCLIP(side: 16, seed: 1)
        let evaluator = try SampleEvaluator(encoder: encoder, data: world, count: 8, features: scorer.imageSpace, clipScorer: scorer)
        #expect(evaluator.realFeatures.shape == [8, 12])
        let metrics = try evaluator.evaluate(evaluator.realImages)
        #expect(Swift.abs(metrics["clip_score"]! - (try scorer.score(evaluator.realImages, prompts: evaluator.captions))) <= 1e-9)
        #expect(metrics["fd"]! < 1e-3)
    }
}
