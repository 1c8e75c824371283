import Checkpoints
import Engine
import Foundation
import Models
import Testing

/// A scratch folder for one test (call `remove()` in a defer).
struct T5Scratch {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("snoopi-t5-\(UUID().uuidString)").path
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("T5EncoderModel")
struct T5EncoderTests {
    /// The fixture folder converted as `snp convert` does and loaded back.
    func converted(_ folder: String) throws -> (model: T5EncoderModel, inputs: HDF5File, outputs: HDF5File) {
        let source = try fixtureFolder(folder), scratch = try T5Scratch()
        defer { scratch.remove() }
        try convertFolder(at: source, to: scratch.path + "/model.h5")
        guard case .t5Encoder(let model) = try LoadedModel.load(path: scratch.path + "/model.h5", expecting: "T5EncoderModel") else {
            throw FixtureMissing(name: "\(folder) as a T5EncoderModel")
        }
        return (model, try HDF5File(path: source + "/inputs.h5"), try HDF5File(path: source + "/outputs.h5"))
    }

    /// last_hidden_state with the attention mask (padded rows) and without it (pad tokens read
    /// as tokens), within 1e-4 of transformers in absolute and relative terms.
    @Test(arguments: ["t5_encoder", "t5_encoder_relu"])
    func matchesTransformersWithAndWithoutPadding(_ folder: String) throws {
        let (model, inputs, outputs) = try converted(folder)
        let ids = try inputs.readTensor("input_ids"), mask = try inputs.readTensor("attention_mask")
        #expect(mask.scalars.contains(0) && mask.scalars.contains(1), "the batch has padding")
        let (masked, unmasked) = try noGrad { (try model(ids, attentionMask: mask), try model(ids)) }
        for (name, ours) in [("last_hidden_state", masked), ("last_hidden_state_unmasked", unmasked)] {
            let reference = try outputs.readTensor(name)
            #expect(ours.shape == reference.shape && ours.shape == ids.shape + [model.dModel], "\(folder) \(name)")
            let e = errors(ours, reference)
            print("parity \(folder) \(name): max abs error \(e.absolute), relative \(e.relative)")
            #expect(e.absolute <= 1e-4 && e.relative <= 1e-4, "\(folder) \(name): \(e)")
        }
        // The mask changes the padded rows only.
        #expect(errors(masked, unmasked).absolute > 1e-3)
    }

    /// transformers' `_relative_position_bucket` on −300…300 for six bucket / distance pairs,
    /// the values on a bucket edge (16 with 32 buckets and distance 128) included.
    @Test func relativePositionBucketsMatchTransformers() throws {
        struct Table: Decodable {
            struct Config: Decodable { let num_buckets: Int; let max_distance: Int; let buckets: [Int] }
            let relative_positions: [Int]; let configs: [Config]
        }
        let url = URL(fileURLWithPath: try fixtureFolder("t5_encoder") + "/position_buckets.json")
        let table = try JSONDecoder().decode(Table.self, from: Data(contentsOf: url))
        #expect(table.configs.count == 6 && table.relative_positions.count == 601)
        for config in table.configs {
            let ours = table.relative_positions.map {
                T5EncoderModel.relativePositionBucket($0, buckets: config.num_buckets, maxDistance: config.max_distance)
            }
            let wrong = zip(table.relative_positions, zip(ours, config.buckets)).filter { $1.0 != $1.1 }
            #expect(wrong.isEmpty, "\(config.num_buckets) buckets, distance \(config.max_distance): (position, ours, torch) \(wrong.prefix(5))")
        }
    }

    /// Autograd's gradients of Σ last_hidden_state · W against torch's, for the relative
    /// attention bias (through the attention mask), two RMS norm weights, a query and a gated
    /// input projection.
    @Test func gradientsMatchTorch() throws {
        let (model, inputs, _) = try converted("t5_encoder")
        let reference = try HDF5File(path: try fixtureFolder("t5_encoder") + "/gradients.h5")
        let weights = try reference.readTensor("output_weights")
        let loss = try (model(inputs.readTensor("input_ids"), attentionMask: inputs.readTensor("attention_mask")) * weights).sum()
        #expect(errors(loss, try reference.readTensor("loss")).relative <= 1e-5)
        try loss.backward()
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor) })
        let names = ["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "encoder.block.0.layer.0.layer_norm.weight",
                     "encoder.block.1.layer.0.SelfAttention.q.weight", "encoder.block.1.layer.1.DenseReluDense.wi_0.weight",
                     "encoder.final_layer_norm.weight"]
        for name in names {
            let grad = try #require(parameters[name]?.grad, "\(name) has no gradient")
            let e = errors(grad, try reference.readTensor(name))
            print("gradient \(name): max abs error \(e.absolute), relative \(e.relative)")
            #expect(e.relative <= 1e-4, "\(name): \(e)")
        }
    }

    /// The parameters are exactly the tensors transformers saves (no encoder.embed_tokens: it is
    /// tied to shared), and only block 0 has a relative attention bias.
    @Test(arguments: ["t5_encoder", "t5_encoder_relu"])
    func parameterNamesAreTransformers(_ folder: String) throws {
        let checkpoint = try ModelFolder(path: try fixtureFolder(folder)).checkpoint()
        let model = try LoadedModel.build(architecture: "T5EncoderModel", config: checkpoint.config)
        #expect(model.module.stateDict().map(\.name).sorted() == checkpoint.tensors.map(\.name).sorted())
        let names = model.module.stateDict().map(\.name)
        #expect(names.filter { $0.hasSuffix("relative_attention_bias.weight") } == ["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"])
        let gated = folder == "t5_encoder"
        #expect(names.contains("encoder.block.1.layer.1.DenseReluDense.wi_0.weight") == gated)
        #expect(names.contains("encoder.block.1.layer.1.DenseReluDense.wi.weight") == !gated)
    }

    /// `encoder.embed_tokens.weight` alone, or beside an equal `shared.weight`, loads as
    /// `shared.weight`; a different one is refused, naming both.
    @Test func tiedEmbeddingsLoadUnderEitherName() throws {
        let checkpoint = try ModelFolder(path: try fixtureFolder("t5_encoder")).checkpoint()
        var tensors = checkpoint.tensors.dictionary
        let shared = try #require(tensors["shared.weight"])
        let direct = try LoadedModel.load(checkpoint)
        func loaded(_ t: [String: Tensor]) throws -> [[Float]] {
            let model = try LoadedModel.build(architecture: "T5EncoderModel", config: checkpoint.config)
            try model.loadTensors(t)
            return model.module.stateDict().map(\.tensor.scalars)
        }
        let expected = direct.module.stateDict().map(\.tensor.scalars)
        tensors["encoder.embed_tokens.weight"] = shared
        #expect(try loaded(tensors) == expected)
        tensors["shared.weight"] = nil
        #expect(try loaded(tensors) == expected)
        tensors["shared.weight"] = shared + 1
        do {
            _ = try loaded(tensors)
            Issue.record("expected an error for untied embeddings")
        } catch let error as ModelError {
            #expect(error.description == "T5EncoderModel: encoder.embed_tokens.weight differs from shared.weight; T5EncoderModel ties them")
        }
    }

    /// An id past the vocabulary, a mask of another shape or with other values than 0 and 1,
    /// and unbuilt configs are errors that say what is wrong.
    @Test func mistakesAreClearErrors() throws {
        let (model, inputs, _) = try converted("t5_encoder")
        let ids = try inputs.readTensor("input_ids")
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        #expect(message { _ = try model(Tensor([5, 424, 1], shape: [1, 3])) } == "T5EncoderModel: token id 424 is outside the vocabulary 0..<424")
        #expect(message { _ = try model(Tensor([5, -1], shape: [1, 2])) } == "T5EncoderModel: token id -1 is outside the vocabulary 0..<424")
        #expect(message { _ = try model(ids, attentionMask: Tensor.ones([3, 4])) }.contains("attention_mask must have input_ids' shape [3,33]"))
        #expect(message { _ = try model(ids, attentionMask: Tensor.ones(ids.shape) * 2) } == "T5EncoderModel: attention_mask must hold only 0 and 1")
        #expect(message { _ = try model(Tensor([1, 2, 3])) }.contains("input_ids must be [B, L]"))
        #expect(message { _ = try LoadedModel.build(architecture: "T5EncoderModel", config: #"{"feed_forward_proj": "gated-silu"}"#) }
                == "T5EncoderModel config: feed_forward_proj gated-silu is not supported (Snoopi builds gated-gelu, relu)")
        #expect(message { _ = try LoadedModel.build(architecture: "T5EncoderModel", config: #"{"relative_attention_num_buckets": 2}"#) }
                .contains("relative_attention_num_buckets must be ≥ 4"))
        #expect(message { _ = try LoadedModel.build(architecture: "T5EncoderModel", config: #"{"is_decoder": true}"#) }.contains("is_decoder"))
        #expect(message { _ = try LoadedModel.build(architecture: "T5EncoderModel", config: #"{"d_modle": 8}"#) }.contains("unknown key d_modle"))
    }

    /// Folder → HDF5 → folder again: transformers' names, and the same outputs.
    @Test func conversionRoundTrip() throws {
        let source = try fixtureFolder("t5_encoder"), scratch = try T5Scratch()
        defer { scratch.remove() }
        try convertFolder(at: source, to: scratch.path + "/model.h5")
        try exportFolder(checkpointAt: scratch.path + "/model.h5", to: scratch.path + "/export")
        let back = try ModelFolder(path: scratch.path + "/export"), original = try ModelFolder(path: source)
        #expect(back.architecture == "T5EncoderModel" && back.library == .transformers)
        #expect(try back.checkpoint().tensors.map(\.name).sorted() == original.checkpoint().tensors.map(\.name).sorted())
        let inputs = try HDF5File(path: source + "/inputs.h5")
        let run = { (m: LoadedModel) throws -> [Float] in
            guard case .t5Encoder(let t5) = m else { return [] }
            return try noGrad { try t5(inputs.readTensor("input_ids"), attentionMask: inputs.readTensor("attention_mask")).scalars }
        }
        #expect(try run(LoadedModel.load(back.checkpoint())) == run(LoadedModel.load(original.checkpoint())))
    }
}

@Suite("T5 tokenizer")
struct T5TokenizerTests {
    struct Case: Decodable { let text: String; let ids: [Int]; let ids_padded: [Int]; let attention_mask: [Int] }
    struct Cases: Decodable {
        let max_length: Int, pad_token_id: Int, eos_token_id: Int, vocab_size: Int
        let cases: [Case]
    }

    static func cases() throws -> Cases {
        let url = URL(fileURLWithPath: try fixtureFolder("t5_tokenizer") + "/cases.json")
        return try JSONDecoder().decode(Cases.self, from: Data(contentsOf: url))
    }

    /// The fixture's files in a scratch folder: "tokenizer.json" (as transformers 5 saves it),
    /// "spiece.model" (the SentencePiece model alone, with tokenizer_config.json) or
    /// "older tokenizer.json" (transformers 4's pipeline around the same charsmap).
    static func folder(_ source: String, in scratch: T5Scratch) throws -> String {
        let fixture = try fixtureFolder("t5_tokenizer"), manager = FileManager.default
        try manager.copyItem(atPath: fixture + "/tokenizer_config.json", toPath: scratch.path + "/tokenizer_config.json")
        switch source {
        case "spiece.model":
            try manager.copyItem(atPath: fixture + "/spiece.model", toPath: scratch.path + "/spiece.model")
        case "older tokenizer.json":
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture + "/tokenizer.json"))
            var spec = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let casesData = try Data(contentsOf: URL(fileURLWithPath: fixture + "/cases.json"))
            let older = try #require((try JSONSerialization.jsonObject(with: casesData) as? [String: Any])?["older_format"] as? [String: Any])
            spec["normalizer"] = ["type": "Sequence", "normalizers": [spec["normalizer"]!, older["normalizer_after_precompiled"]!]]
            spec["pre_tokenizer"] = older["pre_tokenizer"]
            try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: scratch.path + "/tokenizer.json"))
        default:
            try manager.copyItem(atPath: fixture + "/tokenizer.json", toPath: scratch.path + "/tokenizer.json")
        }
        return scratch.path
    }

    /// transformers' ids on every committed prompt (spaces, punctuation, digits, accents,
    /// full-width text, emoji, CJK, special tokens in the text, the empty string), unpadded and
    /// padded to 120 with its attention mask, from each kind of folder.
    @Test(arguments: ["tokenizer.json", "spiece.model", "older tokenizer.json"])
    func idsMatchTransformers(_ source: String) throws {
        let scratch = try T5Scratch()
        defer { scratch.remove() }
        let fixture = try Self.cases()
        let tokenizer = try T5Tokenizer(folder: Self.folder(source, in: scratch))
        #expect(fixture.cases.count >= 30)
        #expect(tokenizer.maxLength == fixture.max_length && tokenizer.pad == fixture.pad_token_id && tokenizer.eos == fixture.eos_token_id)
        #expect(tokenizer.vocabularySize == fixture.vocab_size)
        var mismatches = 0
        for c in fixture.cases {
            let ids = tokenizer.encode(c.text)
            if ids != c.ids { mismatches += 1 }
            #expect(ids == c.ids, "\(source): \(c.text.debugDescription)")
            #expect(tokenizer.paddedIDs(c.text) == c.ids_padded, "\(source): \(c.text.debugDescription) padded")
            let (inputIDs, mask) = try tokenizer.batch([c.text])
            #expect(inputIDs.scalars == c.ids_padded.map(Float.init) && mask.scalars == c.attention_mask.map(Float.init))
        }
        #expect(mismatches == 0, "\(source): \(mismatches) prompts differ")
        #expect(fixture.cases.contains { $0.ids.count > fixture.max_length }, "a prompt is truncated")
        #expect(fixture.cases.contains { $0.text.isEmpty && $0.ids == [fixture.eos_token_id] })
    }

    /// The documented trap: normalisation by grapheme cluster, as `tokenizers` does it.
    @Test func charsMapNormalisesAsTokenizersDoes() throws {
        let tokenizer = try T5Tokenizer(folder: try fixtureFolder("t5_tokenizer"))
        let map = try #require(tokenizer.charsMap)
        #expect(map.normalize("ｆｕｌｌ\u{3000}ＡＢＣ１２３") == "full ABC123")  // NFKC
        #expect(map.normalize("cafe\u{301}").unicodeScalars.map(\.value) == Array("café".unicodeScalars.map(\.value)))
        #expect(map.normalize("a\r\nb") == "a b")  // "\r\n" is one cluster: replaced whole by the rule for "\r"
        #expect(map.normalize("plain text") == "plain text")
    }

    /// A batch is [B, 120] ids and mask; the tokenizer serves as a `TextTokenizer`.
    @Test func batchAndTextTokenizer() throws {
        let tokenizer = try T5Tokenizer(folder: try fixtureFolder("t5_tokenizer"))
        let (ids, mask) = try tokenizer.batch(["a small red circle", "", String(repeating: "a red circle, ", count: 60)])
        #expect(ids.shape == [3, 120] && mask.shape == [3, 120])
        #expect(mask.scalars[240..<360].allSatisfy { $0 == 1 } && ids.scalars[359] == 1, "the long text fills the row and ends with </s>")
        #expect(mask.scalars[120] == 1 && mask.scalars[121] == 0 && ids.scalars[120] == 1, "the empty text is </s> alone")
        let generic: any TextTokenizer = tokenizer
        #expect(generic.kind == "t5-unigram" && generic.vocabularySize == 420 && generic.paddedIDs("x").count == 120)
        #expect(generic.unknownWords(in: ["circle", "猫", "Hello"]) == ["猫", "Hello"])
        #expect(throws: ModelError.self) { try tokenizer.batch([]) }
    }

    /// A tokenizer.json of another model type, a SentencePiece model of another type, a file
    /// that is not a SentencePiece model and a folder with neither file: errors naming the cause.
    @Test func otherTokenizersAreClearErrors() throws {
        let scratch = try T5Scratch()
        defer { scratch.remove() }
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        let bpe = scratch.path + "/tokenizer.json"
        try #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#.write(toFile: bpe, atomically: true, encoding: .utf8)
        #expect(message { _ = try T5Tokenizer(tokenizerJSON: bpe) }
                == "tokenizer \(bpe): model type BPE is not supported: T5's tokenizer is a Unigram (SentencePiece) model")
        #expect(message { _ = try T5Tokenizer(folder: scratch.path) }.contains("model type BPE"))
        // ModelProto { pieces { piece: "a" score: 0 } trainer_spec { model_type: BPE } }
        let model = scratch.path + "/bpe.model"
        try Data([0x0A, 0x08, 0x0A, 0x01, 0x61, 0x15, 0, 0, 0, 0, 0x12, 0x02, 0x18, 0x02]).write(to: URL(fileURLWithPath: model))
        #expect(message { _ = try T5Tokenizer(sentencePieceModel: model) }
                == "tokenizer \(model): model type BPE is not supported: T5's tokenizer is a unigram model")
        let text = scratch.path + "/notes.model"
        try "not a protobuf at all".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(message { _ = try T5Tokenizer(sentencePieceModel: text) }.contains("not a SentencePiece model"))
        try FileManager.default.removeItem(atPath: bpe)
        #expect(message { _ = try T5Tokenizer(folder: scratch.path) } == "tokenizer \(scratch.path): holds neither tokenizer.json nor spiece.model")
    }
}
