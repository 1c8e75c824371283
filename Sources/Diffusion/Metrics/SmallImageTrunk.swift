import Engine
import Models

/// The small CNN the shapes world's image models share — three 3×3 convolutions (two with
/// stride 2), group norm and SiLU, then a Linear layer to 128 features with SiLU — over images
/// [B, 3, side, side] in [−1, 1]. ShapesCLIP's image tower and the judges (`ImageClassifier`)
/// are this trunk with their own layers on top. Its layers are registered directly on the owner
/// (`conv1` … `norm3`, and the Linear under the owner's name for it), so checkpoints keep the
/// flat names they always had.
struct SmallImageTrunk {
    static let features = 128
    let side: Int
    let conv1: Conv2d, norm1: GroupNorm, conv2: Conv2d, norm2: GroupNorm, conv3: Conv2d, norm3: GroupNorm
    let hidden: Linear

    /// Draws the layers from the current seed, in the order above; `what` names the owner in errors.
    init(side: Int, what: String) throws {
        try Self.checkSide(side, what: what)
        self.side = side
        (conv1, norm1) = (Conv2d(3, 32, kernelSize: 3, padding: 1), try GroupNorm(groups: 8, channels: 32))
        (conv2, norm2) = (Conv2d(32, 64, kernelSize: 3, stride: 2, padding: 1), try GroupNorm(groups: 8, channels: 64))
        (conv3, norm3) = (Conv2d(64, 64, kernelSize: 3, stride: 2, padding: 1), try GroupNorm(groups: 8, channels: 64))
        hidden = Linear(64 * (side / 4) * (side / 4), Self.features)
    }

    /// The sides the trunk reads: multiples of 4 from 8 (two stride-2 convolutions).
    static func checkSide(_ side: Int, what: String) throws {
        guard side >= 8, side % 4 == 0 else {
            throw DiffusionError.invalidArgument(name: what, reason: "side must be a multiple of 4 ≥ 8, got \(side)")
        }
    }

    /// Registers the layers on `owner`, the Linear as `hiddenName`.
    func register(on owner: Module, hiddenName: String) {
        for (name, m) in [("conv1", conv1), ("norm1", norm1), ("conv2", conv2), ("norm2", norm2), ("conv3", conv3),
                          ("norm3", norm3), (hiddenName, hidden)] as [(String, Module)] { owner.child(name, m) }
    }

    /// Features [B, 128] of images [B, 3, side, side]; `what` names the owner in errors.
    func callAsFunction(_ images: Tensor, what: String) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 3, images.shape[2] == side, images.shape[3] == side else {
            throw DiffusionError.shapeMismatch(what: "\(what) input", shapes: [images.shape, [-1, 3, side, side]],
                                               reason: "images must be [B, 3, \(side), \(side)]")
        }
        var h = try norm1(conv1(images)).silu()
        h = try norm2(conv2(h)).silu()
        h = try norm3(conv3(h)).silu()
        return try hidden(h.flatten(from: 1)).silu()
    }
}
