import Diffusion
import Engine
import Models

/// A full text-to-image pipeline (`pipeline(path)`: a diffusers folder or a Snoopi pipeline file)
/// as a `.snp` value. `sample(pipe, …)` runs it; `nasa(pipe, …)` switches NASA in its denoiser;
/// `pipe.denoiser` is the denoiser as a model (its layers, parameters, `lora`…).
final class PipelineObject: NetworkCarrier {
    let pipeline: DiffusionPipeline

    init(_ pipeline: DiffusionPipeline) { self.pipeline = pipeline }

    var networkObject: ModelObject { ModelObject(module: pipeline.denoiser) }
    var typeName: String { "pipeline" }
    var summary: String {
        let denoiser: Module = pipeline.denoiser
        let parts = [
            denoiser.description,
            pipeline.vae.map { "VAE ×\($0.downsamplingFactor)" } ?? "no VAE",
            "scheduler \(pipeline.scheduler.className)",
        ]
        return "\(pipeline.className) \(pipeline.defaultSide)×\(pipeline.defaultSide): " + parts.joined(separator: ", ")
    }
    var memberNames: [String] { ["denoiser", "class_name", "side", "scheduler", "source"] }

    func member(_ name: String) throws -> Value? {
        switch name {
        case "denoiser": return .object(networkObject)
        case "class_name": return .string(pipeline.className)
        case "side": return .number(Double(pipeline.defaultSide))
        case "scheduler": return .string(pipeline.scheduler.className)
        case "source": return .string(pipeline.source)
        default: return nil
        }
    }
}
