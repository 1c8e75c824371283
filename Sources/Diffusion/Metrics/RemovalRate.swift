/// The removal rate of negative-prompt steering: the fraction of generated images in which an
/// attribute classifier does NOT detect the attribute named by the negative prompt,
///
///     removal rate = |{ i : ¬presentᵢ }| / N
///
/// (1 = the negative attribute was removed from every image.)
///
/// - Parameter predictedNegativePresent: per image, whether the classifier sees the negative
///   attribute.
/// - Returns: the rate in [0, 1]; NaN for an empty list (no images, no rate).
public func removalRate(predictedNegativePresent: [Bool]) -> Double {
    guard !predictedNegativePresent.isEmpty else { return .nan }
    let removed = predictedNegativePresent.reduce(0) { $0 + ($1 ? 0 : 1) }
    return Double(removed) / Double(predictedNegativePresent.count)
}

/// The removal rate from per-image classifier predictions of an attribute (a colour, a shape,
/// ...): the fraction of images whose predicted value is not `negative`.
///
/// - Parameters:
///   - predictedAttributes: the classifier's prediction for each image.
///   - negative: the attribute value the negative prompt asked to remove.
/// - Returns: the rate in [0, 1]; NaN for an empty list.
public func removalRate<Attribute: Equatable>(predictedAttributes: [Attribute], negative: Attribute) -> Double {
    removalRate(predictedNegativePresent: predictedAttributes.map { $0 == negative })
}
