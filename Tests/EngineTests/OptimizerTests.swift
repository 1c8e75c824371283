import CSupport
import Engine
import Testing

@Suite("Optimizers, schedules and training")
struct OptimizerTests {
    @Test func sgdWithMomentumByHand() throws {
        // f(p) = p²/2 → g = p. p0 = 1, lr 0.1, momentum 0.9:
        // step 1: buf = 1, p = 0.9; step 2: buf = 0.9·1 + 0.9 = 1.8, p = 0.9 − 0.18 = 0.72
        let p = Tensor.ones([1]).requiringGrad()
        let opt = try SGD(parameters: [p], learningRate: 0.1, momentum: 0.9)
        for _ in 0..<2 {
            opt.zeroGrad()
            try (p.square() * 0.5).sum().backward()
            try opt.step()
        }
        #expect(Swift.abs(p.scalars[0] - 0.72) < 1e-6)
    }

    @Test func adamFirstStepMovesByTheLearningRate() throws {
        // With bias correction, Adam's first step is lr·g/(|g| + eps) ≈ lr·sign(g).
        let p = try Tensor([1, -2]).requiringGrad()
        let opt = try Adam(parameters: [p], learningRate: 0.01)
        try (p * Tensor([3, -5])).sum().backward()
        try opt.step()
        expectClose(p.detach(), try Tensor([0.99, -1.99], shape: [2]), atol: 1e-6)
        #expect(opt.stepCount == 1)
    }

    @Test func adamWDecaysDecoupled() throws {
        // Zero gradient: Adam's update is 0, so AdamW only shrinks p by (1 − lr·λ).
        let p = Tensor.full([2], 2).requiringGrad()
        let opt = try AdamW(parameters: [p], learningRate: 0.1, weightDecay: 0.5)
        p.grad = Tensor.zeros([2])
        try opt.step()
        expectClose(p.detach(), Tensor.full([2], 2 * (1 - 0.05)), atol: 1e-6)
    }

    @Test func stateRestoreContinuesIdentically() throws {
        let p = try Tensor.randn([4], seed: 1).requiringGrad()
        let opt = try AdamW(parameters: [p], learningRate: 0.05)
        func step(_ opt: Optimizer, _ p: Tensor) throws {
            opt.zeroGrad()
            try (p.square() * p).sum().backward()
            try opt.step()
        }
        for _ in 0..<3 { try step(opt, p) }
        let (saved, savedValues) = (opt.state, p.copy())
        for _ in 0..<3 { try step(opt, p) }
        // A fresh optimizer over a fresh copy, restored from the snapshot, lands on the same bits.
        let q = savedValues.requiringGrad()
        let resumed = try AdamW(parameters: [q], learningRate: 0.05)
        try resumed.load(saved)
        for _ in 0..<3 { try step(resumed, q) }
        #expect(q.scalars == p.scalars)
        #expect(resumed.stepCount == 6)
    }

    @Test func gradientClipping() throws {
        let a = try Tensor([3]).requiringGrad(), b = try Tensor([4]).requiringGrad()
        a.grad = Tensor([3]); b.grad = Tensor([4])
        let norm = try clipGradNorm([a, b], maxNorm: 1)
        #expect(norm == 5)
        #expect(Swift.abs(a.grad!.scalars[0] - 0.6) < 1e-5 && Swift.abs(b.grad!.scalars[0] - 0.8) < 1e-5)
        // Below the limit nothing changes.
        let c = try Tensor([1]).requiringGrad()
        c.grad = Tensor([0.5])
        #expect(try clipGradNorm([c], maxNorm: 1) == 0.5 && c.grad!.scalars == [0.5])
    }

    @Test func learningRateSchedules() {
        #expect(ConstantSchedule(0.1).learningRate(at: 1000) == 0.1)
        let warm = LinearWarmupSchedule(rate: 1, warmupSteps: 4)
        #expect([0, 1, 3, 4, 100].map(warm.learningRate(at:)) == [0.25, 0.5, 1, 1, 1])
        let cosine = CosineSchedule(rate: 1, totalSteps: 10, minimum: 0)
        #expect(cosine.learningRate(at: 0) == 1 && Swift.abs(cosine.learningRate(at: 5) - 0.5) < 1e-6 && cosine.learningRate(at: 10) < 1e-6)
        let decay = LinearDecaySchedule(rate: 1, totalSteps: 12, warmupSteps: 2, final: 0.5)
        #expect(decay.learningRate(at: 0) == 0.5 && decay.learningRate(at: 2) == 1 && decay.learningRate(at: 7) == 0.75 && decay.learningRate(at: 50) == 0.5)
    }

    /// A two-layer MLP learns y = sin(3x) on [−1, 1] to a mean squared error below 0.01.
    @Test func mlpLearnsAToyRegression() throws {
        let g = RandomGenerator(seed: 0)
        let x = try Tensor.linspace(-1, 1, count: 64).reshape([64, 1])
        let y = (x * 3).sin()
        let w1 = try (Tensor.randn([32, 1], generator: g) * 1.0).requiringGrad(), b1 = Tensor.zeros([32]).requiringGrad()
        let w2 = try (Tensor.randn([1, 32], generator: g) * 0.2).requiringGrad(), b2 = Tensor.zeros([1]).requiringGrad()
        let params = [w1, b1, w2, b2]
        let opt = try AdamW(parameters: params, learningRate: 0.02, weightDecay: 0)
        var loss: Float = .infinity
        for _ in 0..<600 {
            opt.zeroGrad()
            let h = try Tensor.linear(x, weight: w1, bias: b1).tanh()
            let l = try (Tensor.linear(h, weight: w2, bias: b2) - y).square().mean()
            try l.backward()
            try opt.step()
            loss = try l.item()
        }
        #expect(loss < 0.01, "final loss \(loss)")
    }

    /// 1,000 small training steps: the tape is released each step, so resident memory stays flat.
    @Test func memoryDoesNotGrowOverAThousandSteps() throws {
        let w = try Tensor.randn([64, 64], seed: 1).requiringGrad()
        let x = try Tensor.randn([32, 64], seed: 2)
        let opt = try SGD(parameters: [w], learningRate: 1e-3)
        func steps(_ n: Int) throws {
            for _ in 0..<n {
                opt.zeroGrad()
                let h = try Tensor.matmul(x, w).gelu().layerNorm(weight: nil, bias: nil)
                try h.square().mean().backward()
                try opt.step()
            }
        }
        try steps(100)  // warm up allocator pools
        let before = snp_resident_bytes()
        try steps(1000)
        let after = snp_resident_bytes()
        #expect(before > 0)
        // One step's tensors are ~100 KB; a leaking tape would add ~100 MB over 1,000 steps.
        #expect(after < before + 8 << 20, "resident memory grew from \(before >> 20) MiB to \(after >> 20) MiB")
    }
}
