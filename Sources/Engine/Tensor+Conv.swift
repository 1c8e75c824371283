// 2-d convolution through im2col + sgemm, as Caffe and PyTorch's CPU fallback do. The samples
// of a batch share one column matrix, so each pass is one large sgemm rather than B small ones.

/// The geometry of one conv2d call.
struct ConvGeometry {
    let channels: Int, height: Int, width: Int
    let kernelHeight: Int, kernelWidth: Int
    let strideH: Int, strideW: Int, padH: Int, padW: Int
    var outHeight: Int { (height + 2 * padH - kernelHeight) / strideH + 1 }
    var outWidth: Int { (width + 2 * padW - kernelWidth) / strideW + 1 }
    var spatial: Int { outHeight * outWidth }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    var columnRows: Int { channels * kernelHeight * kernelWidth }
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// The output columns `ow` whose input column `ow·sw − pw + j` lies inside the image.
    @inline(__always) func validColumns(_ j: Int) -> Range<Int> {
        let lo = padW - j > 0 ? (padW - j + strideW - 1) / strideW : 0
        let hi = Swift.min(outWidth, (width + padW - j + strideW - 1) / strideW)
        return lo..<Swift.max(lo, hi)
    }

    /// cols[(c·kh + i)·kw + j, column + oh·Wo + ow] = x[c, oh·sh − ph + i, ow·sw − pw + j] (0 outside),
    /// for one sample whose block of columns starts at `column` in rows of length `rowLength`.
    func im2col(_ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, column: Int, rowLength: Int) {
        let (ho, wo) = (outHeight, outWidth)
        Threads.parallelFor(columnRows, grain: Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))) { rows in
            for r in rows {
                let c = r / (kernelHeight * kernelWidth), i = (r / kernelWidth) % kernelHeight, j = r % kernelWidth
                let plane = x + c * height * width, dst = cols + r * rowLength + column
                let valid = validColumns(j)
                for oh in 0..<ho {
                    let ih = oh * strideH - padH + i
                    let line = dst + oh * wo
                    guard ih >= 0 && ih < height, !valid.isEmpty else { line.initialize(repeating: 0, count: wo); continue }
                    let src = plane + ih * width - padW + j
                    if valid.lowerBound > 0 { line.initialize(repeating: 0, count: valid.lowerBound) }
                    if strideW == 1 {
                        (line + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                    } else {
                        for ow in valid { line[ow] = src[ow * strideW] }
                    }
                    if valid.upperBound < wo { (line + valid.upperBound).initialize(repeating: 0, count: wo - valid.upperBound) }
                }
            }
        }
    }

    /// The adjoint of im2col: dx[c, ih, iw] += Σ cols over the positions that read it.
    func col2im(_ cols: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, column: Int, rowLength: Int) {
        let (ho, wo) = (outHeight, outWidth)
        // Channels are independent, so they split over cores without write conflicts.
        Threads.parallelFor(channels, grain: Swift.max(1, elementwiseGrain / Swift.max(kernelHeight * kernelWidth * spatial, 1))) { range in
            for c in range {
                let plane = dx + c * height * width
                for i in 0..<kernelHeight {
                    for j in 0..<kernelWidth {
                        let src = cols + ((c * kernelHeight + i) * kernelWidth + j) * rowLength + column
                        let valid = validColumns(j)
                        if valid.isEmpty { continue }
                        for oh in 0..<ho {
                            let ih = oh * strideH - padH + i
                            guard ih >= 0 && ih < height else { continue }
                            let line = src + oh * wo, dst = plane + ih * width - padW + j
                            if strideW == 1 {
                                for ow in valid { dst[ow] += line[ow] }
                            } else {
                                for ow in valid { dst[ow * strideW] += line[ow] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Memory limits of the kernels, adjustable for machines with little memory (and for tests).
public enum EngineLimits {
    /// conv2d's column matrix holds at most this many floats (4 MB by default): small images are
    /// convolved several samples per sgemm, large ones one at a time (their columns then stay in
    /// cache; measured faster than one batch-wide sgemm). One sample always fits, whatever its size.
    nonisolated(unsafe) public static var convolutionColumnFloats = 1 << 20
}

extension Tensor {
    /// 2-d cross-correlation (`torch.nn.functional.conv2d`, groups = 1, dilation = 1).
    /// x: [batch, inChannels, height, width], weight: [outChannels, inChannels, kh, kw],
    /// bias: [outChannels] → [batch, outChannels, outHeight, outWidth].
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) throws -> Tensor {
        guard x.rank == 4, weight.rank == 4 else {
            throw EngineError.shapeMismatch(op: "conv2d", shapes: [x.shape, weight.shape],
                                            reason: "input must be [B,C,H,W] and weight [O,C,kh,kw]")
        }
        guard x.shape[1] == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "conv2d", shapes: [x.shape, weight.shape],
                                            reason: "input has \(x.shape[1]) channels but weight expects \(weight.shape[1])")
        }
        guard stride.0 >= 1, stride.1 >= 1, padding.0 >= 0, padding.1 >= 0 else {
            throw EngineError.invalidArgument(op: "conv2d", reason: "stride must be ≥ 1 and padding ≥ 0, got stride \(stride), padding \(padding)")
        }
        let outChannels = weight.shape[0]
        if let bias, bias.shape != [outChannels] {
            throw EngineError.shapeMismatch(op: "conv2d", shapes: [weight.shape, bias.shape], reason: "bias must be [outChannels]")
        }
        let geo = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                               kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
                               strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1)
        guard x.shape[2] + 2 * padding.0 >= geo.kernelHeight, x.shape[3] + 2 * padding.1 >= geo.kernelWidth else {
            throw EngineError.shapeMismatch(op: "conv2d", shapes: [x.shape, weight.shape],
                                            reason: "kernel is larger than the padded input")
        }
        let batch = x.shape[0], spatial = geo.spatial, rows = geo.columnRows
        let group = Swift.max(1, Swift.min(batch, EngineLimits.convolutionColumnFloats / Swift.max(rows * spatial, 1)))
        guard fitsBLAS(rows * spatial * group, outChannels * rows, outChannels * spatial * group) else {
            throw EngineError.invalidArgument(op: "conv2d", reason: "sizes exceed OpenBLAS's 32-bit limit")
        }
        let out = Tensor(uninitializedShape: [batch, outChannels, geo.outHeight, geo.outWidth])
        let inputSize = geo.channels * geo.height * geo.width, outputSize = outChannels * spatial
        let columns = Storage(count: geo.isPointwise ? 1 : rows * spatial * group)
        let product = Storage(count: group > 1 ? outChannels * spatial * group : 1)
        for first in Swift.stride(from: 0, to: batch, by: group) {
            let n = Swift.min(group, batch - first)
            if geo.isPointwise {
                for b in first..<(first + n) {
                    sgemm(transposeA: false, transposeB: false, m: outChannels, n: spatial, k: rows,
                          a: weight.storage.pointer, b: x.storage.pointer + b * inputSize, c: out.storage.pointer + b * outputSize)
                }
            } else {
                // cols: [rows, n·spatial]; Y' = W · cols: [outChannels, n·spatial]
                for k in 0..<n { geo.im2col(x.storage.pointer + (first + k) * inputSize, columns.pointer, column: k * spatial, rowLength: n * spatial) }
                // With one sample, [outChannels, spatial] is already the output's layout.
                let target = n == 1 ? out.storage.pointer + first * outputSize : product.pointer
                sgemm(transposeA: false, transposeB: false, m: outChannels, n: n * spatial, k: rows,
                      a: weight.storage.pointer, b: columns.pointer, c: target)
                if n > 1 { scatterSamples(from: product.pointer, to: out.storage.pointer + first * outputSize, samples: n, channels: outChannels, spatial: spatial) }
            }
            if let bias { addChannelBias(bias.storage.pointer, to: out.storage.pointer + first * outputSize, samples: n, channels: outChannels, spatial: spatial) }
        }
        let (sx, sw) = (x.detach(), weight.detach())
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return record("conv2d", out, inputs: inputs) { g in
            let gradX = x.tracksGrad ? Tensor.zeros(x.shape) : nil
            let gradW = weight.tracksGrad ? Tensor.zeros(weight.shape) : nil
            let columns = Storage(count: geo.isPointwise ? 1 : rows * spatial * group)
            let gathered = Storage(count: group > 1 ? outChannels * spatial * group : 1)
            for first in Swift.stride(from: 0, to: batch, by: group) {
                let n = Swift.min(group, batch - first)
                if geo.isPointwise {
                    for b in first..<(first + n) {
                        let gb = g.storage.pointer + b * outputSize, xb = sx.storage.pointer + b * inputSize
                        if let gradW { sgemm(transposeA: false, transposeB: true, m: outChannels, n: rows, k: spatial, a: gb, b: xb, beta: 1, c: gradW.storage.pointer) }
                        if let gradX { sgemm(transposeA: true, transposeB: false, m: rows, n: spatial, k: outChannels, a: sw.storage.pointer, b: gb, c: gradX.storage.pointer + b * inputSize) }
                    }
                    continue
                }
                // dY': [outChannels, n·spatial], the layout of the forward product (g itself for one sample).
                let dY: UnsafePointer<Float>
                if n == 1 { dY = UnsafePointer(g.storage.pointer + first * outputSize) } else {
                    gatherSamples(from: g.storage.pointer + first * outputSize, to: gathered.pointer, samples: n, channels: outChannels, spatial: spatial)
                    dY = UnsafePointer(gathered.pointer)
                }
                if let gradW {
                    for k in 0..<n { geo.im2col(sx.storage.pointer + (first + k) * inputSize, columns.pointer, column: k * spatial, rowLength: n * spatial) }
                    // dW += dY' · colsᵀ
                    sgemm(transposeA: false, transposeB: true, m: outChannels, n: rows, k: n * spatial,
                          a: dY, b: columns.pointer, beta: 1, c: gradW.storage.pointer)
                }
                if let gradX {
                    // dcols = Wᵀ · dY', then scattered back onto each image.
                    sgemm(transposeA: true, transposeB: false, m: rows, n: n * spatial, k: outChannels,
                          a: sw.storage.pointer, b: dY, c: columns.pointer)
                    for k in 0..<n { geo.col2im(columns.pointer, gradX.storage.pointer + (first + k) * inputSize, column: k * spatial, rowLength: n * spatial) }
                }
            }
            var grads: [Tensor?] = [gradX, gradW]
            if bias != nil { grads.append(try g.sum(axes: [0, 2, 3])) }
            return grads
        }
    }
}

/// [channels, samples·spatial] → [samples, channels, spatial].
private func scatterSamples(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, samples: Int, channels: Int, spatial: Int) {
    Threads.parallelFor(samples * channels, grain: Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))) { range in
        for sc in range {
            let s = sc / channels, c = sc % channels
            (dst + sc * spatial).update(from: src + (c * samples + s) * spatial, count: spatial)
        }
    }
}

/// [samples, channels, spatial] → [channels, samples·spatial].
private func gatherSamples(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, samples: Int, channels: Int, spatial: Int) {
    Threads.parallelFor(samples * channels, grain: Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))) { range in
        for sc in range {
            let s = sc / channels, c = sc % channels
            (dst + (c * samples + s) * spatial).update(from: src + sc * spatial, count: spatial)
        }
    }
}

/// out[s, c, :] += bias[c].
private func addChannelBias(_ bias: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>, samples: Int, channels: Int, spatial: Int) {
    Threads.parallelFor(samples * channels, grain: Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))) { range in
        for sc in range {
            let v = bias[sc % channels], p = out + sc * spatial
            for i in 0..<spatial { p[i] += v }
        }
    }
}
