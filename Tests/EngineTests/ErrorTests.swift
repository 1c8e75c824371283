import Engine
import Testing

/// Every bad shape or argument is a thrown EngineError naming the op and the shapes.
@Suite("Errors")
struct ErrorTests {
    let a = Tensor.ones([2, 3]), b = Tensor.ones([4, 5])

    @Test func elementwiseAndReductions() {
        expectEngineError("add", "do not broadcast", "[2,3]", "[4,5]") { _ = try a + b }
        expectEngineError("mul", "[2,3]", "[2]") { _ = try a * Tensor.ones([2]) }
        expectEngineError("where") { _ = try Tensor.where(Tensor.ones([3]), a, Tensor.ones([2])) }
        expectEngineError("clamp", "min") { _ = try a.clamp(min: 1, max: 0) }
        expectEngineError("sum", "axis 2", "rank 2") { _ = try a.sum(axes: [2]) }
        expectEngineError("mean", "axis -3") { _ = try a.mean(axes: [-3]) }
        expectEngineError("sum", "repeated") { _ = try a.sum(axes: [1, -1]) }
        expectEngineError("max", "empty") { _ = try Tensor.zeros([0]).max() }
        expectEngineError("item", "[2,3]") { _ = try a.item() }
        expectEngineError("scalar(at:)", "out of range") { _ = try a.scalar(at: [0, 3]) }
    }

    @Test func creation() {
        expectEngineError("tensor", "3 values", "[2,2]") { _ = try Tensor([1, 2, 3], shape: [2, 2]) }
        expectEngineError("tensor", "negative dimension") { _ = try Tensor([], shape: [-1, 0]) }
        expectEngineError("arange", "step") { _ = try Tensor.arange(0, 1, step: 0) }
        expectEngineError("linspace") { _ = try Tensor.linspace(0, 1, count: -1) }
        expectEngineError("randn", "negative") { _ = try Tensor.randn([2, -2], seed: 1) }
    }

    @Test func movement() {
        expectEngineError("reshape", "[2,3]", "[4,2]") { _ = try a.reshape([4, 2]) }
        expectEngineError("reshape", "invalid") { _ = try a.reshape([-1, -1]) }
        expectEngineError("permute", "not a permutation") { _ = try a.permute([0, 0]) }
        expectEngineError("transpose", "axis 5") { _ = try a.transpose(0, 5) }
        expectEngineError("slice", "out of range") { _ = try a.slice([.index(2)]) }
        expectEngineError("slice", "step must be positive") { _ = try a.slice(axis: 1, step: -1) }
        expectEngineError("slice", "3 indices") { _ = try a.slice([.all, .all, .all]) }
        expectEngineError("indexSelect", "index 3") { _ = try a.indexSelect(axis: 1, indices: [3]) }
        expectEngineError("gather", "rank") { _ = try a.gather(axis: 1, index: Tensor.zeros([2])) }
        expectEngineError("gather", "index 7") { _ = try a.gather(axis: 1, index: Tensor.full([2, 1], 7)) }
        expectEngineError("concat", "[2,3]", "[4,5]") { _ = try Tensor.concat([a, b], axis: 0) }
        expectEngineError("concat", "no tensors") { _ = try Tensor.concat([]) }
        expectEngineError("stack", "shapes differ") { _ = try Tensor.stack([a, b]) }
        expectEngineError("split", "do not add up") { _ = try a.split(sizes: [1, 1], axis: 1) }
        expectEngineError("chunk") { _ = try a.chunk(0) }
        expectEngineError("expand", "cannot broadcast", "[2,3]", "[4,3]") { _ = try a.expand([4, 3]) }
        expectEngineError("pad") { _ = try a.pad([(-1, 0)]) }
        expectEngineError("repeat") { _ = try a.repeat([2]) }
        expectEngineError("squeeze", "size 3") { _ = try a.squeeze(1) }
        expectEngineError("flatten") { _ = try a.flatten(from: 1, to: 0) }
    }

    @Test func linearAlgebra() {
        expectEngineError("matmul: inner dimensions differ", "[2,3]", "[4,5]") { _ = try Tensor.matmul(a, b) }
        expectEngineError("matmul", "with transposes") { _ = try Tensor.matmul(a, a, transposeA: true, transposeB: true) }
        expectEngineError("matmul", "do not broadcast") { _ = try Tensor.matmul(Tensor.ones([2, 2, 3]), Tensor.ones([3, 3, 4])) }
        expectEngineError("matmul", "at least one axis") { _ = try Tensor.matmul(Tensor(scalar: 1), a) }
        expectEngineError("linear", "[2,3]", "[4,5]") { _ = try Tensor.linear(a, weight: b) }
        expectEngineError("linear", "bias") { _ = try Tensor.linear(a, weight: Tensor.ones([4, 3]), bias: Tensor.ones([3])) }
    }

    @Test func neuralNetworkKernels() {
        let image = Tensor.ones([1, 3, 4, 4])
        expectEngineError("conv2d", "[2,3]") { _ = try Tensor.conv2d(a, weight: Tensor.ones([1, 3, 1, 1])) }
        expectEngineError("conv2d", "3 channels", "expects 2") { _ = try Tensor.conv2d(image, weight: Tensor.ones([1, 2, 3, 3])) }
        expectEngineError("conv2d", "stride") { _ = try Tensor.conv2d(image, weight: Tensor.ones([1, 3, 3, 3]), stride: (0, 1)) }
        expectEngineError("conv2d", "larger than the padded input") { _ = try Tensor.conv2d(image, weight: Tensor.ones([1, 3, 5, 5])) }
        expectEngineError("conv2d", "bias") { _ = try Tensor.conv2d(image, weight: Tensor.ones([2, 3, 1, 1]), bias: Tensor.ones([3])) }
        expectEngineError("avgPool2d", "kernel 5") { _ = try image.avgPool2d(kernel: 5) }
        expectEngineError("avgPool2d", "[B,C,H,W]") { _ = try a.avgPool2d(kernel: 1) }
        expectEngineError("upsampleNearest", "scale") { _ = try image.upsampleNearest(scale: 0) }
        expectEngineError("resizeBicubic", "[B, C, H, W]") { _ = try a.resizeBicubic(height: 2, width: 2) }
        expectEngineError("resizeBicubic", "at least 1×1", "0×3") { _ = try image.resizeBicubic(height: 0, width: 3) }
        expectEngineError("groupNorm", "3 channels", "2 groups") { _ = try image.groupNorm(groups: 2, weight: nil, bias: nil) }
        expectEngineError("groupNorm", "[C]") { _ = try image.groupNorm(groups: 3, weight: Tensor.ones([2]), bias: nil) }
        expectEngineError("layerNorm", "normalised shape") { _ = try a.layerNorm(weight: Tensor.ones([2]), bias: nil) }
        expectEngineError("layerNorm", "last 3 axes") { _ = try a.layerNorm(normalizedAxes: 3, weight: nil, bias: nil) }
        expectEngineError("softmax", "axis 2") { _ = try a.softmax(axis: 2) }
        expectEngineError("attention", "same leading axes") {
            _ = try Tensor.scaledDotProductAttention(query: Tensor.ones([2, 3, 4]), key: Tensor.ones([1, 3, 4]), value: Tensor.ones([1, 3, 4]))
        }
        expectEngineError("attention", "feature size") {
            _ = try Tensor.scaledDotProductAttention(query: Tensor.ones([3, 4]), key: Tensor.ones([3, 5]), value: Tensor.ones([3, 4]))
        }
        expectEngineError("attention", "mask") {
            _ = try Tensor.scaledDotProductAttention(query: Tensor.ones([3, 4]), key: Tensor.ones([5, 4]), value: Tensor.ones([5, 4]), mask: Tensor.ones([3, 4]))
        }
        expectEngineError("embedding", "index 3") { _ = try Tensor.embedding(Tensor([3]), weight: Tensor.ones([3, 2])) }
        expectEngineError("embedding", "index 0.5") { _ = try Tensor.embedding(Tensor([0.5]), weight: Tensor.ones([3, 2])) }
        expectEngineError("embedding", "[vocabulary, dim]") { _ = try Tensor.embedding(Tensor([0]), weight: Tensor.ones([3])) }
        expectEngineError("dropout", "probability") { _ = try a.dropout(1.5) }
    }

    @Test func optimizersAndState() throws {
        let p = Tensor.ones([3]).requiringGrad()
        expectEngineError("learning rate") { _ = try SGD(parameters: [p], learningRate: -1) }
        expectEngineError("Nesterov") { _ = try SGD(parameters: [p], learningRate: 0.1, nesterov: true) }
        expectEngineError("AdamW", "betas") { _ = try AdamW(parameters: [p], beta1: 1) }
        expectEngineError("clipGradNorm", "maxNorm") { try clipGradNorm([p], maxNorm: 0) }
        expectEngineError("Threads.set") { try Threads.set(0) }
        let adam = try Adam(parameters: [p])
        expectEngineError("state", "has 2 parameters", "the optimizer 1") { try adam.load(OptimizerState(step: 1, buffers: [[:], [:]])) }
        expectEngineError("exp_avg", "2 elements") { try adam.load(OptimizerState(step: 1, buffers: [["exp_avg": Tensor.zeros([2])]])) }
        p.grad = Tensor.ones([2])
        expectEngineError("step", "gradient shape") { try adam.step() }
    }
}
