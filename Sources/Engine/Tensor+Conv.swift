// 2-d convolution through im2col + sgemm, as Caffe and PyTorch's CPU fallback do.

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

    /// cols[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·sh − ph + i, ow·sw − pw + j] (0 outside).
    func im2col(_ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, threaded: Bool) {
        let (ho, wo) = (outHeight, outWidth)
        splitIf(threaded, columnRows, grain: Swift.max(1, elementwiseGrain / Swift.max(spatial, 1))) { rows in
            for r in rows {
                let c = r / (kernelHeight * kernelWidth), i = (r / kernelWidth) % kernelHeight, j = r % kernelWidth
                let plane = x + c * height * width, dst = cols + r * spatial
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

    /// Runs `body` over 0..<n, split over the threads only when `threaded`.
    @inline(__always) private func splitIf(_ threaded: Bool, _ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        if threaded { Threads.parallelFor(n, grain: grain, body) } else { body(0..<n) }
    }

    /// The adjoint of im2col: dx[c, ih, iw] += Σ cols over the positions that read it.
    func col2im(_ cols: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, threaded: Bool) {
        let (ho, wo) = (outHeight, outWidth)
        // Channels are independent, so they split over cores without write conflicts.
        splitIf(threaded, channels, grain: Swift.max(1, elementwiseGrain / Swift.max(kernelHeight * kernelWidth * spatial, 1))) { range in
            for c in range {
                let plane = dx + c * height * width
                for i in 0..<kernelHeight {
                    for j in 0..<kernelWidth {
                        let src = cols + ((c * kernelHeight + i) * kernelWidth + j) * spatial
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

extension Tensor {
    /// 2-d cross-correlation (`torch.nn.functional.conv2d`, groups = 1, dilation = 1).
    /// x: [batch, inChannels, height, width], weight: [outChannels, inChannels, kh, kw],
    /// bias: [outChannels] → [batch, outChannels, outHeight, outWidth].
    ///
    /// With at least as many samples as threads, each thread convolves whole samples with
    /// single-threaded sgemms (no synchronisation between phases, columns stay in cache);
    /// otherwise each sample's im2col and sgemm are split over the threads.
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
        guard fitsBLAS(rows * spatial, outChannels * rows, outChannels * spatial) else {
            throw EngineError.invalidArgument(op: "conv2d", reason: "sizes exceed OpenBLAS's 32-bit limit")
        }
        let out = Tensor(uninitializedShape: [batch, outChannels, geo.outHeight, geo.outWidth])
        let inputSize = geo.channels * geo.height * geo.width, outputSize = outChannels * spatial
        let perSample = batch >= Threads.count
        let (xp, wp, op, bp) = (x.storage.pointer, weight.storage.pointer, out.storage.pointer, bias?.storage.pointer)
        Threads.forEach(batch, parallel: perSample, scratch: geo.isPointwise ? 0 : rows * spatial) { b, columns in
            let xb = xp + b * inputSize, yb = op + b * outputSize
            let cols: UnsafePointer<Float>
            if geo.isPointwise { cols = UnsafePointer(xb) } else {
                geo.im2col(xb, columns, threaded: !perSample)
                cols = UnsafePointer(columns)
            }
            if let bp { for o in 0..<outChannels { (yb + o * spatial).initialize(repeating: bp[o], count: spatial) } }
            sgemm(transposeA: false, transposeB: false, m: outChannels, n: spatial, k: rows,
                  a: wp, b: cols, beta: bp == nil ? 0 : 1, c: yb, threaded: !perSample)
        }
        let (sx, sw) = (x.detach(), weight.detach())
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return record("conv2d", out, inputs: inputs) { g in
            let gradX = x.tracksGrad ? Tensor.zeros(x.shape) : nil
            // One weight gradient per sample, summed in sample order afterwards: the result does
            // not depend on which thread handled which sample.
            let parts = weight.tracksGrad ? Tensor(uninitializedShape: [batch] + weight.shape) : nil
            let (gp, xs, ws) = (g.storage.pointer, sx.storage.pointer, sw.storage.pointer)
            Threads.forEach(batch, parallel: perSample, scratch: geo.isPointwise ? 0 : rows * spatial) { b, columns in
                let gb = gp + b * outputSize, xb = xs + b * inputSize
                if let parts {
                    let cols: UnsafePointer<Float>
                    if geo.isPointwise { cols = UnsafePointer(xb) } else {
                        geo.im2col(xb, columns, threaded: !perSample)
                        cols = UnsafePointer(columns)
                    }
                    // dW_b = dY_b · cols_bᵀ
                    sgemm(transposeA: false, transposeB: true, m: outChannels, n: rows, k: spatial,
                          a: gb, b: cols, c: parts.storage.pointer + b * outChannels * rows, threaded: !perSample)
                }
                if let gradX {
                    let dxb = gradX.storage.pointer + b * inputSize
                    if geo.isPointwise {
                        sgemm(transposeA: true, transposeB: false, m: rows, n: spatial, k: outChannels, a: ws, b: gb, c: dxb, threaded: !perSample)
                    } else {
                        // dcols = Wᵀ · dY_b, then scattered back onto the image.
                        sgemm(transposeA: true, transposeB: false, m: rows, n: spatial, k: outChannels, a: ws, b: gb, c: columns, threaded: !perSample)
                        geo.col2im(columns, dxb, threaded: !perSample)
                    }
                }
            }
            var grads: [Tensor?] = [gradX, try parts.map { try $0.sum(axes: [0]) }]
            if bias != nil { grads.append(try g.sum(axes: [0, 2, 3])) }
            return grads
        }
    }
}
