import Checkpoints
import Engine
import Foundation
import Testing

@Suite struct CheckpointTests {
    /// A small checkpoint with every part filled in.
    static func example() throws -> Checkpoint {
        var tensors = NamedTensors()
        tensors["conv_in.weight"] = sample([4, 2, 3, 3], seed: 1)
        tensors["conv_in.bias"] = sample([4], seed: 2)
        tensors["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"] = sample([4, 8], seed: 3)
        tensors["time_embedding.scale"] = Tensor(scalar: 0.5)
        let optimizer = OptimizerState(step: 7, buffers: [
            ["exp_avg": sample([72], seed: 4), "exp_avg_sq": sample([72], seed: 5)],
            [:],
            ["exp_avg": sample([32], seed: 6)],
        ])
        let training = TrainingState(step: 7, optimizer: optimizer,
                                     random: RandomState(seed: UInt64.max - 1, offset: 1 << 40),
                                     history: TrainingHistory(steps: [5, 6, 7], metrics: ["loss": [0.3, 0.2, 0.1],
                                                                                           "kappa": [4.5, 7.25, 1e-9]]))
        return Checkpoint(architecture: "UNet2DConditionModel",
                          config: #"{"_class_name": "UNet2DConditionModel", "in_channels": 2, "block_out_channels": [4]}"#,
                          tensors: tensors, training: training)
    }

    @Test func saveThenLoadGivesTheSameCheckpoint() throws {
        try withTemporaryFolder { folder throws in
            let original = try Self.example()
            try original.save(folder + "/model.h5")
            let loaded = try Checkpoint.load(folder + "/model.h5")
            #expect(loaded.architecture == original.architecture)
            #expect(loaded.config == original.config)
            #expect(loaded.tensors.names == original.tensors.names)   // order too
            for (name, tensor) in original.tensors { expectIdentical(loaded.tensors[name], tensor, name) }

            let training = try #require(loaded.training)
            let expected = try #require(original.training)
            #expect(training.step == 7)
            #expect(training.random == expected.random)
            #expect(training.history == expected.history)
            let optimizer = try #require(training.optimizer)
            #expect(optimizer.step == 7)
            #expect(optimizer.buffers.count == 3)
            #expect(optimizer.buffers[1].isEmpty)
            for (index, buffers) in expected.optimizer!.buffers.enumerated() {
                #expect(Set(optimizer.buffers[index].keys) == Set(buffers.keys))
                for (name, tensor) in buffers { expectIdentical(optimizer.buffers[index][name], tensor, "\(index)/\(name)") }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["model.h5"])
        }
    }

    /// Lists of strings (a tokenizer's vocabulary, unicode and empty entries included) round-trip
    /// beside the tensors and do not become tensors; a string list may not take a tensor's name.
    @Test func stringListsRoundTrip() throws {
        try withTemporaryFolder { folder throws in
            var checkpoint = try Self.example()
            let vocabulary = ["!", "a</w>", "é", "猫", "", "</w>"]
            checkpoint.strings = ["tok.vocab": vocabulary, "tok.merges": ["a b", "c d</w>"]]
            try checkpoint.save(folder + "/model.h5")
            let loaded = try Checkpoint.load(folder + "/model.h5")
            #expect(loaded.strings == checkpoint.strings)
            #expect(loaded.tensors.names == checkpoint.tensors.names)
            let weightsOnly = try Checkpoint.load(folder + "/model.h5", only: "conv_in.*")
            #expect(weightsOnly.strings["tok.vocab"] == vocabulary)
            checkpoint.strings = ["conv_in.bias": ["x"]]
            #expect(throws: CheckpointError.self) { try checkpoint.save(folder + "/clash.h5") }
            checkpoint.strings = ["a/b": ["x"]]
            #expect(throws: CheckpointError.self) { try checkpoint.save(folder + "/slash.h5") }
        }
    }

    @Test func rootAttributesFollowTheFormat() throws {
        try withTemporaryFolder { folder throws in
            try Self.example().save(folder + "/model.h5")
            let file = try HDF5File(path: folder + "/model.h5")
            #expect(try file.attribute("format") == .string("snoopi-checkpoint"))
            #expect(try file.attribute("format_version") == .int(1))
            #expect(try file.attribute("architecture") == .string("UNet2DConditionModel"))
            #expect(try file.datasetInfo("conv_in.weight").type == .float32)
            #expect(try file.attribute("step", of: "training/optimizer") == .int(7))
            #expect(try file.attribute("seed", of: "training/rng") == .int(Int64(bitPattern: UInt64.max - 1)))
            #expect(try file.datasetInfo("training/history/loss").type == .float64)
            #expect(try file.datasetInfo("training/history/steps").type == .int64)
        }
    }

    @Test func float16StorageKeepsTrainingStateExact() throws {
        try withTemporaryFolder { folder throws in
            var original = try Self.example()
            original.tensors["big"] = sample([64, 64], seed: 8)
            try original.save(folder + "/half.h5", storage: .float16)
            try original.save(folder + "/full.h5")
            let loaded = try Checkpoint.load(folder + "/half.h5")
            for (name, tensor) in original.tensors {
                let half = try #require(loaded.tensors[name])
                #expect(half.scalars == tensor.scalars.map { Float(Float16($0)) }, "\(name)")
            }
            let buffer = try #require(loaded.training?.optimizer?.buffers[0]["exp_avg"])
            expectIdentical(buffer, original.training!.optimizer!.buffers[0]["exp_avg"]!, "float32 optimizer state")
            let halfSize = try FileManager.default.attributesOfItem(atPath: folder + "/half.h5")[.size] as! Int
            let fullSize = try FileManager.default.attributesOfItem(atPath: folder + "/full.h5")[.size] as! Int
            #expect(fullSize - halfSize >= 64 * 64 * 2)
        }
    }

    @Test func partialLoadByGlob() throws {
        try withTemporaryFolder { folder throws in
            try Self.example().save(folder + "/model.h5")
            let convIn = try Checkpoint.load(folder + "/model.h5", only: "conv_in.*", loadTraining: false)
            #expect(convIn.tensors.names == ["conv_in.weight", "conv_in.bias"])
            #expect(convIn.training == nil)
            let attention = try Checkpoint.load(folder + "/model.h5", only: "down_blocks.**.attn2.**")
            #expect(attention.tensors.names == ["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"])
            #expect(attention.training?.step == 7)
            #expect(try Checkpoint.load(folder + "/model.h5", only: "vae.**").tensors.isEmpty)
        }
    }

    @Test func configAsDictionary() throws {
        let config = try Self.example().configDictionary()
        #expect(config["_class_name"] as? String == "UNet2DConditionModel")
        #expect(config["block_out_channels"] as? [Int] == [4])
        #expect(throws: CheckpointError.invalidConfig(path: "checkpoint config", reason: "the JSON is not an object")) {
            try Checkpoint(architecture: "X", config: "[1]").configDictionary()
        }
    }

    /// Training, saving the state, restoring it into fresh objects and training on gives exactly
    /// the numbers of an uninterrupted run.
    @Test func resumedTrainingMatchesAnUninterruptedRun() throws {
        func run(steps: Int, parameter: Tensor, optimizer: Adam, random: RandomGenerator) throws {
            for _ in 0..<steps {
                optimizer.zeroGrad()
                let target = try Tensor.randn([6], generator: random)
                let difference = try parameter - target
                try (difference * difference).sum().backward()
                try optimizer.step()
            }
        }
        let straight = sample([6], seed: 11).requiringGrad()
        let straightOptimizer = try Adam(parameters: [straight], learningRate: 0.1)
        try run(steps: 6, parameter: straight, optimizer: straightOptimizer, random: RandomGenerator(seed: 5))

        try withTemporaryFolder { folder throws in
            let first = sample([6], seed: 11).requiringGrad()
            let firstOptimizer = try Adam(parameters: [first], learningRate: 0.1)
            let firstRandom = RandomGenerator(seed: 5)
            try run(steps: 3, parameter: first, optimizer: firstOptimizer, random: firstRandom)
            var tensors = NamedTensors()
            tensors["p"] = first
            try Checkpoint(architecture: "Toy", tensors: tensors,
                           training: TrainingState(step: 3, optimizer: firstOptimizer.state, random: firstRandom.state))
                .save(folder + "/resume.h5")

            let loaded = try Checkpoint.load(folder + "/resume.h5")
            let resumed = try #require(loaded.tensors["p"]).copy().requiringGrad()
            let optimizer = try Adam(parameters: [resumed], learningRate: 0.1)
            try optimizer.load(try #require(loaded.training?.optimizer))
            let random = RandomGenerator(seed: 0)
            random.state = try #require(loaded.training?.random)
            try run(steps: 3, parameter: resumed, optimizer: optimizer, random: random)
            expectIdentical(resumed, straight, "parameter after 3 + 3 steps")
            #expect(optimizer.stepCount == 6)
        }
    }

    // MARK: - Files written by h5py

    @Test func h5pyFlatCheckpointWithTrainingState() throws {
        let expected = Fixtures.expected["h5py_checkpoint_flat.h5"]
        let checkpoint = try Checkpoint.load(Fixtures.path("h5py_checkpoint_flat.h5"))
        #expect(checkpoint.architecture == expected["architecture"].string)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(checkpoint.config.utf8)) == expected["config"])
        #expect(Set(checkpoint.tensors.names) == Set(expected["tensors"].object.keys))
        for (name, tensor) in expected["tensors"].object {
            #expect(checkpoint.tensors[name]?.shape == tensor["shape"].shape, "\(name)")
            #expect(checkpoint.tensors[name]?.scalars == tensor["values"].floats, "\(name)")
        }
        let training = try #require(checkpoint.training)
        let state = expected["training"]
        #expect(training.step == 12)
        #expect(training.random == RandomState(seed: try #require(state["seed"].uint64), offset: 77))
        #expect(training.history.steps == [4, 8, 12])
        #expect(training.history.metrics == ["loss": state["loss"].doubles, "fid": state["fid"].doubles])
        let optimizer = try #require(training.optimizer)
        #expect(optimizer.step == 12)
        for (index, buffers) in state["optimizer"].array.enumerated() {
            let count = Int(try #require(buffers["count"].int64))
            for name in ["exp_avg", "exp_avg_sq"] {
                let value = Float(try #require(buffers[name].double))
                #expect(optimizer.buffers[index][name]?.scalars == Array(repeating: value, count: count), "\(index)/\(name)")
            }
        }
    }

    @Test func h5pyNestedGroupsBecomeDottedNames() throws {
        let expected = Fixtures.expected["h5py_checkpoint_nested.h5"]["tensors"].object
        let checkpoint = try Checkpoint.load(Fixtures.path("h5py_checkpoint_nested.h5"))
        #expect(Set(checkpoint.tensors.names) == Set(expected.keys))
        for (name, tensor) in expected { #expect(checkpoint.tensors[name]?.scalars == tensor["values"].floats, "\(name)") }
        #expect(checkpoint.architecture == "" && checkpoint.config == "{}" && checkpoint.training == nil)
        let flat = try Checkpoint.load(Fixtures.path("h5py_checkpoint_flat.h5"), loadTraining: false)
        for (name, tensor) in flat.tensors { expectIdentical(checkpoint.tensors[name], tensor, name) }
    }

    // MARK: - Bad checkpoints

    @Test func otherFormatsAndNewerVersionsAreRefused() throws {
        try withTemporaryFolder { folder throws in
            let other = folder + "/other.h5"
            try HDF5Writer.write(to: other) { try $0.setAttribute("format", .string("keras")) }
            #expect(throws: CheckpointError.invalidCheckpoint(path: other, reason: #"format is "keras", expected "snoopi-checkpoint""#)) {
                try Checkpoint.load(other)
            }
            let newer = folder + "/newer.h5"
            try HDF5Writer.write(to: newer) { file in
                try file.setAttribute("format", .string("snoopi-checkpoint"))
                try file.setAttribute("format_version", .int(2))
            }
            let error = #expect(throws: CheckpointError.self) { try Checkpoint.load(newer) }
            #expect(error?.description.contains("format_version 2") == true)
        }
    }

    @Test func twoDatasetsForOneNameAreRefused() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/clash.h5"
            try HDF5Writer.write(to: path) { file in
                try file.write(Tensor([1]), to: "a.b")
                try file.write(Tensor([2]), to: "a/b")
            }
            #expect(throws: CheckpointError.invalidCheckpoint(path: path, reason: "two datasets map to the tensor name a.b")) {
                try Checkpoint.load(path)
            }
        }
    }

    @Test func malformedTrainingGroupsAreRefused() throws {
        try withTemporaryFolder { folder throws in
            let noStep = folder + "/no_step.h5"
            try HDF5Writer.write(to: noStep) { try $0.createGroup("training") }
            #expect(throws: CheckpointError.attributeNotFound(path: noStep, object: "training", name: "step")) {
                try Checkpoint.load(noStep)
            }
            #expect(try Checkpoint.load(noStep, loadTraining: false).training == nil)

            let badIndex = folder + "/bad_index.h5"
            try HDF5Writer.write(to: badIndex) { file in
                try file.createGroup("training/optimizer/first")
                try file.setAttribute("step", .int(1), on: "training")
            }
            #expect(throws: CheckpointError.invalidCheckpoint(path: badIndex,
                                                              reason: "training/optimizer/first is not a parameter index group")) {
                try Checkpoint.load(badIndex)
            }

            let history = folder + "/history.h5"
            try HDF5Writer.write(to: history) { file in
                try file.createGroup("training")
                try file.setAttribute("step", .int(2), on: "training")
                try file.write(integers: [1, 2], to: "training/history/steps")
                try file.write(doubles: [0.5], to: "training/history/loss")
            }
            #expect(throws: CheckpointError.invalidCheckpoint(path: history, reason: "training/history/loss has 1 values for 2 steps")) {
                try Checkpoint.load(history)
            }
        }
    }

    @Test func unstorableNamesAreRefused() throws {
        try withTemporaryFolder { folder throws in
            var tensors = NamedTensors()
            tensors["a/b"] = Tensor([1])
            #expect(throws: CheckpointError.invalidName(name: "a/b", reason: "tensor names are dotted, without '/'")) {
                try Checkpoint(architecture: "X", tensors: tensors).save(folder + "/x.h5")
            }
            let history = TrainingHistory(steps: [1], metrics: ["steps": [1]])
            #expect(throws: CheckpointError.writeFailed(path: folder + "/x.h5", reason: "a metric cannot be called 'steps'")) {
                try Checkpoint(architecture: "X", training: TrainingState(step: 1, history: history)).save(folder + "/x.h5")
            }
            #expect(throws: CheckpointError.invalidName(name: "w", reason: "the name is given twice")) {
                try NamedTensors([(name: "w", tensor: Tensor([1])), (name: "w", tensor: Tensor([2]))])
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        }
    }
}
