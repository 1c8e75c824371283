import Engine
import Foundation

/// A set of images with their prompts in one HDF5 file, so anyone can check Snoopi's pictures
/// outside it (h5py: `f["images"][:]`, `f["prompts"].asstr()[:]`): dataset `images`
/// [N, C, H, W] float32 in [−1, 1], dataset `prompts` (N variable-length UTF-8 strings), and on
/// the root `format = "snoopi-images"` plus any attributes the writer adds (what made them).
public enum ImageSetFile {
    public static let format = "snoopi-images"

    /// Writes `images` [N, C, H, W] and one prompt per image atomically to `path`, with any
    /// `tensors` that go with them as datasets of their own (a regression cache's noise).
    public static func save(images: Tensor, prompts: [String], attributes: [String: HDF5Attribute] = [:],
                            tensors: [String: Tensor] = [:], to path: String) throws {
        guard images.rank == 4, images.shape[0] == prompts.count else {
            throw CheckpointError.writeFailed(path: path, reason: "needs images [N, C, H, W] with one prompt each; got \(images.shape) and \(prompts.count) prompts")
        }
        try HDF5Writer.write(to: path) { writer in
            try writer.write(images, to: "images")
            try writer.write(strings: prompts, to: "prompts")
            for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) { try writer.write(tensor, to: name) }
            try writer.setAttribute("format", .string(format))
            for (name, value) in attributes.sorted(by: { $0.key < $1.key }) { try writer.setAttribute(name, value) }
        }
    }

    /// Reads a file written by `save` (or by h5py in the same layout), and the datasets `tensors`.
    public static func load(_ path: String, tensors names: [String] = []) throws -> (images: Tensor, prompts: [String], tensors: [String: Tensor]) {
        let file = try HDF5File(path: path)
        let images = try file.readTensor("images"), prompts = try file.readStrings("prompts")
        guard images.rank == 4, images.shape[0] == prompts.count else {
            throw CheckpointError.invalidCheckpoint(path: path, reason: "'images' must be [N, C, H, W] with one of the \(prompts.count) prompts each, got \(images.shape)")
        }
        return (images, prompts, Dictionary(uniqueKeysWithValues: try names.map { ($0, try file.readTensor($0)) }))
    }
}
