// Spatial resampling: average pooling and nearest-neighbour upsampling, on [B, C, H, W].

extension Tensor {
    /// Average pooling (`torch.nn.functional.avg_pool2d`, no padding). stride defaults to kernel.
    public func avgPool2d(kernel: Int, stride: Int? = nil) throws -> Tensor {
        let s = stride ?? kernel
        guard rank == 4 else { throw EngineError.shapeMismatch(op: "avgPool2d", shapes: [shape], reason: "input must be [B,C,H,W]") }
        guard kernel >= 1, s >= 1, shape[2] >= kernel, shape[3] >= kernel else {
            throw EngineError.invalidArgument(op: "avgPool2d", reason: "kernel \(kernel) and stride \(s) do not fit input \(shapeString(shape))")
        }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let (ho, wo) = ((h - kernel) / s + 1, (w - kernel) / s + 1)
        let out = Tensor(uninitializedShape: [shape[0], shape[1], ho, wo])
        let src = storage.pointer, dst = out.storage.pointer, scale = 1 / Float(kernel * kernel)
        Threads.parallelFor(planes, grain: Swift.max(1, elementwiseGrain / (h * w))) { range in
            for p in range {
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var acc: Float = 0
                        for i in 0..<kernel { for j in 0..<kernel { acc += src[(p * h + oh * s + i) * w + ow * s + j] } }
                        dst[(p * ho + oh) * wo + ow] = acc * scale
                    }
                }
            }
        }
        let inputShape = shape
        return Tensor.record("avgPool2d", out, inputs: [self]) { g in
            let dx = Tensor.zeros(inputShape)
            let gs = g.storage.pointer, gd = dx.storage.pointer
            Threads.parallelFor(planes, grain: Swift.max(1, elementwiseGrain / (h * w))) { range in
                for p in range {
                    for oh in 0..<ho {
                        for ow in 0..<wo {
                            let v = gs[(p * ho + oh) * wo + ow] * scale
                            for i in 0..<kernel { for j in 0..<kernel { gd[(p * h + oh * s + i) * w + ow * s + j] += v } }
                        }
                    }
                }
            }
            return [dx]
        }
    }

    /// Nearest-neighbour upsampling by an integer factor (`F.interpolate(mode="nearest")`).
    public func upsampleNearest(scale: Int = 2) throws -> Tensor {
        guard rank == 4 else { throw EngineError.shapeMismatch(op: "upsampleNearest", shapes: [shape], reason: "input must be [B,C,H,W]") }
        guard scale >= 1 else { throw EngineError.invalidArgument(op: "upsampleNearest", reason: "scale must be ≥ 1, got \(scale)") }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let (ho, wo) = (h * scale, w * scale)
        let out = Tensor(uninitializedShape: [shape[0], shape[1], ho, wo])
        let src = storage.pointer, dst = out.storage.pointer
        Threads.parallelFor(planes * ho, grain: Swift.max(1, elementwiseGrain / Swift.max(wo, 1))) { range in
            for row in range {
                let p = row / ho, ih = (row % ho) / scale
                let s = src + (p * h + ih) * w, d = dst + row * wo
                for ow in 0..<wo { d[ow] = s[ow / scale] }
            }
        }
        let inputShape = shape
        return Tensor.record("upsampleNearest", out, inputs: [self]) { g in
            let dx = Tensor.zeros(inputShape)
            let gs = g.storage.pointer, gd = dx.storage.pointer
            Threads.parallelFor(planes, grain: Swift.max(1, elementwiseGrain / Swift.max(ho * wo, 1))) { range in
                for p in range {
                    for oh in 0..<ho {
                        let s = gs + (p * ho + oh) * wo, d = gd + (p * h + oh / scale) * w
                        for ow in 0..<wo { d[ow / scale] += s[ow] }
                    }
                }
            }
            return [dx]
        }
    }
}
