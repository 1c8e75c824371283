import Engine

/// A space that images are measured in: Fréchet distance and precision/recall compare the
/// feature sets [N, D] that it gives for generated and real images. `ShapesCLIP` (its image
/// tower's 128 features) and `CLIPImageFeatures` (a real CLIP image tower) are the two.
public protocol ImageFeatureSpace: AnyObject {
    /// What the features are, for reports: "ShapesCLIP", "CLIPVisionModelWithProjection (clip.h5)".
    var featureSpaceName: String { get }
    /// Features [N, D] of images [N, C, S, S] with values in [−1, 1].
    func imageFeatures(_ images: Tensor) throws -> Tensor
}

/// The shapes world's encoder measures in its image tower's features before projection, [N, 128].
extension ShapesCLIP: ImageFeatureSpace {
    public var featureSpaceName: String { Self.architecture }
}
