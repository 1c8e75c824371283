import Checkpoints
import Engine
import Foundation
import Testing

@Suite struct ModelFolderTests {
    static func folder(_ name: String) -> String { Fixtures.path("folders/\(name)") }

    /// Copies a fixture folder somewhere it may be changed.
    static func copy(_ name: String, into parent: String) throws -> String {
        let target = parent + "/" + name
        try FileManager.default.copyItem(atPath: folder(name), toPath: target)
        return target
    }

    @Test(arguments: [("diffusers_single", ModelLibrary.diffusers), ("transformers_sharded", .transformers)])
    func readsFoldersWrittenByTheReferenceLibraries(_ name: String, _ library: ModelLibrary) throws {
        let expected = Fixtures.expected["folders/\(name)"]
        let folder = try ModelFolder(path: Self.folder(name))
        #expect(folder.library == library)
        #expect(folder.architecture == expected["architecture"].string)
        let tensors = try folder.loadTensors()
        #expect(Set(tensors.names) == Set(expected["tensors"].object.keys))
        for (tensorName, tensor) in expected["tensors"].object {
            #expect(tensors[tensorName]?.shape == tensor["shape"].shape, "\(tensorName)")
            #expect(tensors[tensorName]?.scalars == tensor["values"].floats, "\(tensorName)")
        }
        let checkpoint = try folder.checkpoint(only: "**.weight")
        #expect(checkpoint.architecture == folder.architecture)
        #expect(checkpoint.config == folder.config)
        #expect(checkpoint.tensors.names.allSatisfy { $0.hasSuffix(".weight") } && !checkpoint.tensors.isEmpty)
    }

    @Test func shardedFolderListsEveryShard() throws {
        let folder = try ModelFolder(path: Self.folder("transformers_sharded"))
        #expect(folder.weightFiles.map { URL(fileURLWithPath: $0).lastPathComponent }
                == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
    }

    // MARK: - Bad folders

    @Test func missingFolderAndMissingConfig() throws {
        #expect(throws: CheckpointError.fileNotFound(path: "/nonexistent/unet")) { try ModelFolder(path: "/nonexistent/unet") }
        try withTemporaryFolder { folder throws in
            #expect(throws: CheckpointError.missingConfig(folder: folder)) { try ModelFolder(path: folder) }
            #expect(CheckpointError.missingConfig(folder: folder).description.contains("config.json"))
        }
    }

    @Test func badConfigs() throws {
        try withTemporaryFolder { folder throws in
            try "{ nope".write(toFile: folder + "/config.json", atomically: false, encoding: .utf8)
            let error = #expect(throws: CheckpointError.self) { try ModelFolder(path: folder) }
            guard case .invalidConfig(folder + "/config.json", _)? = error else {
                Issue.record("expected .invalidConfig, got \(String(describing: error))")
                return
            }
            try #"{"hidden_size": 4}"#.write(toFile: folder + "/config.json", atomically: false, encoding: .utf8)
            #expect(throws: CheckpointError.invalidConfig(path: folder + "/config.json",
                                                          reason: "it has neither _class_name (diffusers) nor architectures (transformers)")) {
                try ModelFolder(path: folder)
            }
        }
    }

    @Test func noWeights() throws {
        try withTemporaryFolder { folder throws in
            try #"{"_class_name": "AutoencoderKL"}"#.write(toFile: folder + "/config.json", atomically: false, encoding: .utf8)
            try "".write(toFile: folder + "/README.md", atomically: false, encoding: .utf8)
            #expect(throws: CheckpointError.noWeights(folder: folder, found: ["README.md", "config.json"])) {
                try ModelFolder(path: folder)
            }
        }
    }

    @Test func pytorchPicklesPointToTheConverter() throws {
        try withTemporaryFolder { folder throws in
            try #"{"architectures": ["CLIPTextModel"]}"#.write(toFile: folder + "/config.json", atomically: false, encoding: .utf8)
            try Data([0x80, 0x02]).write(to: URL(fileURLWithPath: folder + "/pytorch_model.bin"))
            let error = #expect(throws: CheckpointError.pytorchWeights(folder: folder, files: ["pytorch_model.bin"])) {
                try ModelFolder(path: folder)
            }
            #expect(error?.description.contains("convert with Scripts/convert_to_hdf5.py") == true)
        }
    }

    @Test func indexNamingAMissingShard() throws {
        try withTemporaryFolder { parent throws in
            let folder = try Self.copy("transformers_sharded", into: parent)
            try FileManager.default.removeItem(atPath: folder + "/model-00002-of-00002.safetensors")
            #expect(throws: CheckpointError.missingShard(folder: folder, index: "model.safetensors.index.json",
                                                         shard: "model-00002-of-00002.safetensors")) {
                try ModelFolder(path: folder)
            }
        }
    }

    @Test func indexListingATensorItsShardLacks() throws {
        try withTemporaryFolder { parent throws in
            let folder = try Self.copy("transformers_sharded", into: parent)
            let index = folder + "/model.safetensors.index.json"
            try #"{"weight_map": {"ghost.weight": "model-00001-of-00002.safetensors", "text_model.final_layer_norm.bias": "model-00002-of-00002.safetensors"}}"#
                .write(toFile: index, atomically: false, encoding: .utf8)
            let model = try ModelFolder(path: folder)
            #expect(throws: CheckpointError.notFound(path: folder + "/model-00001-of-00002.safetensors", name: "ghost.weight")) {
                try model.loadTensors()
            }
        }
    }

    // MARK: - Writing folders and converting

    @Test func exportThenConvertGivesIdenticalTensors() throws {
        try withTemporaryFolder { folder throws in
            let original = try CheckpointTests.example()
            try original.save(folder + "/model.h5")
            try exportFolder(checkpointAt: folder + "/model.h5", to: folder + "/unet")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder + "/unet"))
                    == ["config.json", "diffusion_pytorch_model.safetensors"])
            try convertFolder(at: folder + "/unet", to: folder + "/back.h5")
            let back = try Checkpoint.load(folder + "/back.h5")
            #expect(back.architecture == "UNet2DConditionModel")
            #expect(back.config == original.config)
            #expect(Set(back.tensors.names) == Set(original.tensors.names))
            for (name, tensor) in original.tensors { expectIdentical(back.tensors[name], tensor, name) }
            #expect(back.training == nil)
            #expect(try temporaryLeftovers(in: folder).isEmpty)
        }
    }

    @Test func convertFolderReadsTheSampleFolders() throws {
        try withTemporaryFolder { folder throws in
            try convertFolder(at: Self.folder("transformers_sharded"), to: folder + "/clip.h5", storage: .float16)
            let checkpoint = try Checkpoint.load(folder + "/clip.h5")
            #expect(checkpoint.architecture == "CLIPTextModel")
            #expect(try checkpoint.configDictionary()["model_type"] as? String == "clip_text_model")
            #expect(try HDF5File(path: folder + "/clip.h5").datasetInfo("text_model.final_layer_norm.weight").type == .float16)
            #expect(checkpoint.tensors.count == 3)
        }
    }

    @Test func writingATransformersFolderAddsTheArchitecturesKey() throws {
        try withTemporaryFolder { folder throws in
            var tensors = NamedTensors()
            tensors["text_model.final_layer_norm.weight"] = sample([4], seed: 1)
            let checkpoint = Checkpoint(architecture: "CLIPTextModel", config: #"{"hidden_size": 4}"#, tensors: tensors)
            #expect(throws: CheckpointError.self) { try ModelFolder.write(checkpoint, to: folder + "/clip") }
            #expect(!FileManager.default.fileExists(atPath: folder + "/clip"))

            try ModelFolder.write(checkpoint, to: folder + "/clip", as: .float16, library: .transformers)
            let model = try ModelFolder(path: folder + "/clip")
            #expect(model.library == .transformers && model.architecture == "CLIPTextModel")
            #expect(model.weightFiles.map { URL(fileURLWithPath: $0).lastPathComponent } == ["model.safetensors"])
            #expect(try SafetensorsFile(path: model.weightFiles[0]).metadata["format"] == "pt")
            #expect(try model.loadTensors()["text_model.final_layer_norm.weight"]?.scalars
                    == tensors["text_model.final_layer_norm.weight"]!.scalars.map { Float(Float16($0)) })
        }
    }

    @Test func exportingOverAnExistingFolderReplacesIt() throws {
        try withTemporaryFolder { folder throws in
            var checkpoint = try CheckpointTests.example()
            try ModelFolder.write(checkpoint, to: folder + "/unet")
            try "stale".write(toFile: folder + "/unet/stale.txt", atomically: false, encoding: .utf8)
            checkpoint.tensors["extra.weight"] = sample([2], seed: 3)
            try ModelFolder.write(checkpoint, to: folder + "/unet")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder + "/unet"))
                    == ["config.json", "diffusion_pytorch_model.safetensors"])
            #expect(try ModelFolder(path: folder + "/unet").loadTensors()["extra.weight"] != nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["unet"])
        }
    }

    @Test func failedExportLeavesTheOldFolderUntouched() throws {
        try withTemporaryFolder { folder throws in
            let checkpoint = try CheckpointTests.example()
            try ModelFolder.write(checkpoint, to: folder + "/unet")
            let weights = folder + "/unet/diffusion_pytorch_model.safetensors"
            let before = try Data(contentsOf: URL(fileURLWithPath: weights))
            var broken = checkpoint
            broken.config = "not json"
            #expect(throws: CheckpointError.self) { try ModelFolder.write(broken, to: folder + "/unet") }
            #expect(try Data(contentsOf: URL(fileURLWithPath: weights)) == before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["unet"])
        }
    }
}
