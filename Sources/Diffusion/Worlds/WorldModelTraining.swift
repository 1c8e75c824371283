import Checkpoints
import Engine
import Foundation
import Models

/// What the shapes world's own models (the attribute classifier, the contrastive encoder) share:
/// one training loop and one checkpoint format.
extension Module {
    /// AdamW (weight decay 1e-4) on every parameter with a cosine schedule after a short linear
    /// warm-up (min(50, steps/10) steps), gradient-norm clipping at `clipNorm` when given.
    /// `loss(step)` builds the step's loss; `afterStep` runs after each update (e.g. to clamp a
    /// parameter); `progress(step, loss)` reports. Leaves the module in eval mode. Returns the losses.
    func trainWithAdamW(steps: Int, learningRate: Float, clipNorm: Float? = nil,
                        loss: (Int) throws -> Tensor, afterStep: () throws -> Void = {},
                        progress: (Int, Float) -> Void) throws -> [Float] {
        train()
        defer { eval() }
        let optimizer = try AdamW(parameters: namedParameters().map(\.tensor), learningRate: learningRate, weightDecay: 1e-4)
        let schedule = CosineSchedule(rate: learningRate, totalSteps: steps, warmupSteps: Swift.min(50, steps / 10))
        var losses: [Float] = []
        for step in 0..<steps {
            optimizer.learningRate = schedule.learningRate(at: step)
            optimizer.zeroGrad()
            let l = try loss(step)
            try l.backward()
            if let clipNorm { try clipGradNorm(optimizer.parameters, maxNorm: clipNorm) }
            try optimizer.step()
            try afterStep()
            losses.append(try l.item())
            progress(step, losses.last!)
        }
        return losses
    }

    /// Saves the weights as a Snoopi checkpoint of `architecture` with a config of integers.
    func saveWorldModel(architecture: String, config: [String: Int], to path: String) throws {
        let json = "{" + config.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
        try Checkpoint(architecture: architecture, config: json, tensors: NamedTensors(stateDict())).save(path)
    }
}

/// Reads a world model's checkpoint, checking the architecture: its tensors and every integer
/// of its config, `keys` required among them.
func loadWorldModel(_ path: String, architecture: String, keys: [String]) throws -> (tensors: [String: Tensor], config: [String: Int]) {
    let checkpoint = try Checkpoint.load(path, loadTraining: false)
    guard checkpoint.architecture == architecture else {
        throw DiffusionError.invalidArgument(name: path, reason: "holds a \(checkpoint.architecture), not a \(architecture)")
    }
    let config = try checkpoint.configDictionary().compactMapValues { $0 as? Int }
    if let missing = keys.first(where: { config[$0] == nil }) {
        throw DiffusionError.invalidArgument(name: path, reason: "config has no integer \"\(missing)\"")
    }
    return (checkpoint.tensors.dictionary, config)
}
