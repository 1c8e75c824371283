import Checkpoints
import Engine
import Foundation
import Testing

@Suite struct ImageSetFileTests {
    @Test("images and prompts (unicode included) read back exactly; strings of other types and mismatched counts are errors")
    func roundTrip() throws {
        try withTemporaryFolder { folder throws in
            let path = folder + "/images.h5"
            let images = sample([3, 3, 4, 4], seed: 5)
            let prompts = ["a red circle", "", "ein grünes Dreieck ✓"]
            try ImageSetFile.save(images: images, prompts: prompts, attributes: ["seed": .int(7)], to: path)
            let (read, readPrompts, _) = try ImageSetFile.load(path)
            expectIdentical(read, images, "images")
            #expect(readPrompts == prompts)
            let file = try HDF5File(path: path)
            #expect(try file.attribute("format")?.stringValue == ImageSetFile.format)
            #expect(try file.attribute("seed")?.intValue == 7)
            #expect(throws: CheckpointError.self) { try file.readStrings("images") }
            #expect(throws: CheckpointError.self) { try ImageSetFile.save(images: images, prompts: ["one"], to: folder + "/bad.h5") }
            #expect(!FileManager.default.fileExists(atPath: folder + "/bad.h5"))
            // A file whose counts disagree (written by hand) is refused on load.
            try HDF5Writer.write(to: folder + "/odd.h5") { w in
                try w.write(images, to: "images")
                try w.write(strings: ["only one"], to: "prompts")
            }
            #expect(throws: CheckpointError.self) { _ = try ImageSetFile.load(folder + "/odd.h5") }
        }
    }
}
