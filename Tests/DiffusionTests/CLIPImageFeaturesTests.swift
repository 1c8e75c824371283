import Checkpoints
import Diffusion
import Engine
import Foundation
import Models
import Testing

/// Tests/DiffusionTests/Fixtures/clip_features (Scripts/make_metrics_fixtures.py --only
/// clip_features): a random transformers CLIPVisionModelWithProjection (24×24 RGB) as
/// save_pretrained writes it, and features.json.
private struct CLIPFeaturesFixture {
    let folder: String
    let values: [String: Any]

    init() throws {
        guard let url = Bundle.module.url(forResource: "clip_features", withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureMissing(name: "clip_features/features.json")
        }
        folder = url.path
        values = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("features.json"))) as! [String: Any]
    }

    func tensor(_ key: String) throws -> Tensor { try DiffusionTests.tensor(values[key]) }
    func number(_ key: String) -> Double { (values[key] as! NSNumber).doubleValue }

    /// The folder converted to a Snoopi checkpoint (what `snp convert` does), in a temporary file.
    func converted() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clip-vision-\(UUID().uuidString).h5").path
        try convertFolder(at: folder, to: path)
        return path
    }
}

private func maxAbs(_ a: Tensor, _ b: Tensor) -> Float {
    #expect(a.shape == b.shape)
    return zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? .infinity
}

/// A one-channel tower (CLIPVisionModel, 12×12, 4×4 patches) with fresh weights.
private func greyTower(channels: Int = 1) throws -> CLIPVisionModel {
    try CLIPVisionModel(config: ModelConfig(architecture: CLIPVisionModel.architecture, values: [
        "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_channels": channels, "image_size": 12, "patch_size": 4,
    ]), seed: 3)
}

@Suite("CLIP image features")
struct CLIPImageFeaturesTests {
    @Test("preprocessing: [−1, 1] → [0, 1], torch bicubic resize 10 → 24, OpenAI mean/std")
    func preprocessingMatchesTorch() throws {
        let fixture = try CLIPFeaturesFixture()
        let features = try CLIPImageFeatures.load(path: fixture.converted())
        #expect(features.mean == CLIPImageFeatures.openAIMean && features.std == CLIPImageFeatures.openAIStd)
        let first = try fixture.tensor("images_a").slice(axis: 0, start: 0, end: 1)
        let error = maxAbs(try features.pixelValues(first), try fixture.tensor("pixel_values_a0"))
        print("CLIP pixel_values vs torch: max |Δ| \(error)")
        #expect(error <= 1e-5)
    }

    @Test("image_embeds and pooler_output match transformers; FD and precision/recall match NumPy/SciPy")
    func featuresMatchTransformers() throws {
        let fixture = try CLIPFeaturesFixture()
        let path = try fixture.converted()
        let features = try CLIPImageFeatures.load(path: path)
        #expect(features.featureSpaceName == "CLIPVisionModelWithProjection (\(path))")
        #expect(features.imageSize == 24 && features.channels == 3 && features.dimension == 8)
        let (a, b) = (try fixture.tensor("images_a"), try fixture.tensor("images_b"))
        let (fa, fb) = (try features.imageFeatures(a), try features.imageFeatures(b))
        let embedsError = Swift.max(maxAbs(fa, try fixture.tensor("image_embeds_a")), maxAbs(fb, try fixture.tensor("image_embeds_b")))
        #expect(embedsError <= 1e-4)

        // CLIPVisionModel: pooler_output, the tower inside the projection.
        guard case .clipVisionWithProjection(let model) = try LoadedModel.load(path: path) else { Issue.record("not a projection tower"); return }
        let pooled = try CLIPImageFeatures(model.visionModel, source: "inner")
        #expect(pooled.featureSpaceName == "CLIPVisionModel (inner)" && pooled.dimension == 32)
        let pooledError = Swift.max(maxAbs(try pooled.imageFeatures(a), try fixture.tensor("pooler_output_a")),
                                    maxAbs(try pooled.imageFeatures(b), try fixture.tensor("pooler_output_b")))
        #expect(pooledError <= 1e-4)

        let fd = try frechetDistance(fa, fb), expected = fixture.number("fd")
        let fdError = Swift.abs(fd - expected) / expected
        #expect(fdError <= 1e-3, "FD \(fd) vs \(expected)")
        let (precision, recall) = try precisionRecall(real: fa, fake: fb, k: fixture.values["k"] as! Int)
        #expect(precision == fixture.number("precision") && recall == fixture.number("recall"))
        print("CLIP features vs transformers: image_embeds max |Δ| \(embedsError), pooler_output \(pooledError); "
              + "FD \(fd) vs SciPy \(expected) (relative \(fdError)); precision \(precision), recall \(recall)")
    }

    @Test("more than 64 images go through in batches with the same features")
    func batches() throws {
        let fixture = try CLIPFeaturesFixture()
        let features = try CLIPImageFeatures.load(path: fixture.converted())
        let a = try fixture.tensor("images_a")
        let many = try Tensor.concat(Array(repeating: a, count: 6))  // 72 images: 64 + 8
        let once = try features.imageFeatures(a), all = try features.imageFeatures(many)
        #expect(all.shape == [72, 8])
        #expect(maxAbs(all, try Tensor.concat(Array(repeating: once, count: 6))) <= 1e-6)
        #expect(!all.tracksGrad)
    }

    @Test("grey towers read the mean of R, G and B; RGB towers repeat one-channel images")
    func channels() throws {
        let grey = try CLIPImageFeatures(greyTower())
        let openAI = CLIPImageFeatures.openAIMean.reduce(0, +) / 3
        #expect(grey.channels == 1 && grey.mean == [openAI] && grey.std == [CLIPImageFeatures.openAIStd.reduce(0, +) / 3])
        let rgb = try Tensor.rand([3, 3, 10, 10], low: -1, high: 1, generator: RandomGenerator(seed: 5))
        let averaged = try rgb.mean(axis: 1, keepDims: true)
        #expect(maxAbs(try grey.imageFeatures(rgb), try grey.imageFeatures(averaged)) <= 1e-5)

        let colour = try CLIPImageFeatures(greyTower(channels: 3), mean: [0.5], std: [0.5, 0.25, 0.5])
        #expect(colour.mean == [0.5, 0.5, 0.5] && colour.std == [0.5, 0.25, 0.5])
        #expect(maxAbs(try colour.imageFeatures(averaged), try colour.imageFeatures(averaged.expand([3, 3, 10, 10]))) <= 1e-6)
        // With mean 0.5 / std 0.5 the pixel values are the [−1, 1] image itself (resized).
        let identity = try CLIPImageFeatures(greyTower(channels: 3), mean: [0.5], std: [0.5])
        #expect(maxAbs(try identity.pixelValues(rgb), try rgb.resizeBicubic(height: 12, width: 12)) <= 1e-6)
    }

    @Test("a checkpoint that is not a CLIP image tower is an error naming its architecture")
    func notATower() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-clip-\(UUID().uuidString).h5").path
        try ShapesCLIP(side: 8, width: 8).save(to: path)
        do {
            _ = try CLIPImageFeatures.load(path: path)
            Issue.record("a ShapesCLIP checkpoint was taken for a CLIP image tower")
        } catch {
            let message = "\(error)"
            #expect(message.contains(path) && message.contains("holds a ShapesCLIP") && message.contains("CLIPVisionModelWithProjection")
                    && message.contains("snp convert"), "\(message)")
        }
        let text = try LoadedModel.build(architecture: CLIPTextModel.architecture, config: #"{"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 8}"#)
        #expect(throws: DiffusionError.self) { try CLIPImageFeatures(text) }
        do { _ = try CLIPImageFeatures(text) } catch { #expect("\(error)".contains("holds a CLIPTextModel")) }
        #expect(throws: DiffusionError.self) { try CLIPImageFeatures(greyTower(), mean: [0.5, 0.5, 0.5]) }
        #expect(throws: DiffusionError.self) { try CLIPImageFeatures(greyTower(), std: [0]) }
        let grey = try CLIPImageFeatures(greyTower(channels: 2))
        #expect(throws: DiffusionError.self) { try grey.imageFeatures(Tensor.zeros([1, 3, 8, 8])) }
        #expect(throws: DiffusionError.self) { try grey.imageFeatures(Tensor.zeros([3, 8, 8])) }
    }

    @Test("SampleEvaluator: FD and precision/recall in the given space, the CLIP score in the encoder's")
    func evaluatorFeatureSpace() throws {
        let fixture = try CLIPFeaturesFixture()
        let tower = try CLIPImageFeatures.load(path: fixture.converted())
        let world = try ShapesWorld(side: 16, seed: 0)
        let encoder = try ShapesCLIP(side: 16, width: 16)
        let plain = try SampleEvaluator(encoder: encoder, data: world, count: 8)
        #expect(plain.featureSpace === encoder && plain.realFeatures.shape == [8, 128])
        let evaluator = try SampleEvaluator(encoder: encoder, data: world, count: 8, features: tower)
        #expect(evaluator.featureSpace === tower && evaluator.realFeatures.shape == [8, 8])
        #expect(maxAbs(evaluator.realFeatures, try tower.imageFeatures(evaluator.realImages)) <= 1e-6)
        let generated = try world.examples(8, split: .train, start: 3_000_000).images
        let metrics = try evaluator.evaluate(generated)
        let expected = try frechetDistance(evaluator.realFeatures, tower.imageFeatures(generated))
        #expect(Swift.abs(metrics["fd"]! - expected) <= 1e-9 * Swift.max(1, expected))
        #expect(metrics["clip_score"] == (try plain.evaluate(generated))["clip_score"])
    }
}
