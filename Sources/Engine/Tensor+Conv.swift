// 2-d convolution through im2col + sgemm, as Caffe and PyTorch's CPU path do.

/// The geometry of one conv2d call.
struct ConvGeometry {
    let channels: Int, height: Int, width: Int
    let kernelHeight: Int, kernelWidth: Int
    let strideH: Int, strideW: Int, padH: Int, padW: Int
    var outHeight: Int { (height + 2 * padH - kernelHeight) / strideH + 1 }
    var outWidth: Int { (width + 2 * padW - kernelWidth) / strideW + 1 }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    var columnRows: Int { channels * kernelHeight * kernelWidth }
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// cols[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·sh − ph + i, ow·sw − pw + j] (0 outside).
    func im2col(_ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>) {
        let (ho, wo) = (outHeight, outWidth)
        Threads.parallelFor(columnRows, grain: Swift.max(1, elementwiseGrain / Swift.max(ho * wo, 1))) { rows in
            for r in rows {
                let c = r / (kernelHeight * kernelWidth), i = (r / kernelWidth) % kernelHeight, j = r % kernelWidth
                let plane = x + c * height * width
                let dst = cols + r * ho * wo
                for oh in 0..<ho {
                    let ih = oh * strideH - padH + i
                    let line = dst + oh * wo
                    guard ih >= 0 && ih < height else { line.initialize(repeating: 0, count: wo); continue }
                    let src = plane + ih * width
                    if strideW == 1 {
                        // iw = ow − pw + j: zeros, then one contiguous run, then zeros.
                        let lo = Swift.max(0, padW - j), hi = Swift.min(wo, width + padW - j)
                        if lo > 0 { line.initialize(repeating: 0, count: Swift.min(lo, wo)) }
                        if hi > lo { (line + lo).update(from: src + lo - padW + j, count: hi - lo) }
                        if hi < wo { (line + Swift.max(hi, 0)).initialize(repeating: 0, count: wo - Swift.max(hi, 0)) }
                    } else {
                        for ow in 0..<wo {
                            let iw = ow * strideW - padW + j
                            line[ow] = iw >= 0 && iw < width ? src[iw] : 0
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: dx[c, ih, iw] += Σ cols over the positions that read it.
    func col2im(_ cols: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let (ho, wo) = (outHeight, outWidth)
        // Channels are independent, so they split over cores without write conflicts.
        Threads.parallelFor(channels, grain: Swift.max(1, elementwiseGrain / Swift.max(kernelHeight * kernelWidth * ho * wo, 1))) { range in
            for c in range {
                let plane = dx + c * height * width
                for i in 0..<kernelHeight {
                    for j in 0..<kernelWidth {
                        let src = cols + ((c * kernelHeight + i) * kernelWidth + j) * ho * wo
                        for oh in 0..<ho {
                            let ih = oh * strideH - padH + i
                            guard ih >= 0 && ih < height else { continue }
                            let line = src + oh * wo, dst = plane + ih * width
                            for ow in 0..<wo {
                                let iw = ow * strideW - padW + j
                                if iw >= 0 && iw < width { dst[iw] += line[ow] }
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
        let batch = x.shape[0], spatial = geo.outHeight * geo.outWidth, rows = geo.columnRows
        guard fitsBLAS(rows * spatial, outChannels * rows) else {
            throw EngineError.invalidArgument(op: "conv2d", reason: "sizes exceed OpenBLAS's 32-bit limit")
        }
        let out = Tensor(uninitializedShape: [batch, outChannels, geo.outHeight, geo.outWidth])
        let columns = geo.isPointwise ? nil : Storage(count: rows * spatial)
        for b in 0..<batch {
            let xb = x.storage.pointer + b * geo.channels * geo.height * geo.width
            let cols: UnsafePointer<Float>
            if let columns { geo.im2col(xb, columns.pointer); cols = UnsafePointer(columns.pointer) } else { cols = UnsafePointer(xb) }
            let yb = out.storage.pointer + b * outChannels * spatial
            if let bias {
                for o in 0..<outChannels { (yb + o * spatial).initialize(repeating: bias.storage.pointer[o], count: spatial) }
            }
            sgemm(transposeA: false, transposeB: false, m: outChannels, n: spatial, k: rows,
                  a: weight.storage.pointer, b: cols, beta: bias == nil ? 0 : 1, c: yb)
        }
        let (sx, sw) = (x.detach(), weight.detach())
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return record("conv2d", out, inputs: inputs) { g in
            let gradX = x.tracksGrad ? Tensor.zeros(x.shape) : nil
            let gradW = weight.tracksGrad ? Tensor.zeros(weight.shape) : nil
            let scratch = Storage(count: rows * spatial)
            for b in 0..<batch {
                let gb = g.storage.pointer + b * outChannels * spatial
                let xb = sx.storage.pointer + b * geo.channels * geo.height * geo.width
                if let gradW {
                    let cols: UnsafePointer<Float>
                    if geo.isPointwise { cols = UnsafePointer(xb) } else { geo.im2col(xb, scratch.pointer); cols = UnsafePointer(scratch.pointer) }
                    // dW += dY_b · cols_bᵀ
                    sgemm(transposeA: false, transposeB: true, m: outChannels, n: rows, k: spatial,
                          a: gb, b: cols, beta: 1, c: gradW.storage.pointer)
                }
                if let gradX {
                    let dxb = gradX.storage.pointer + b * geo.channels * geo.height * geo.width
                    if geo.isPointwise {
                        sgemm(transposeA: true, transposeB: false, m: rows, n: spatial, k: outChannels,
                              a: sw.storage.pointer, b: gb, c: dxb)
                    } else {
                        // dcols = Wᵀ · dY_b, then scattered back onto the image.
                        sgemm(transposeA: true, transposeB: false, m: rows, n: spatial, k: outChannels,
                              a: sw.storage.pointer, b: gb, c: scratch.pointer)
                        geo.col2im(scratch.pointer, dxb)
                    }
                }
            }
            var grads: [Tensor?] = [gradX, gradW]
            if bias != nil { grads.append(try g.sum(axes: [0, 2, 3])) }
            return grads
        }
    }
}
