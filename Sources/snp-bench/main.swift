// snp-bench: the engine's benchmark table. Same workload names as Scripts/bench_torch.py.
//   swift run -c release snp-bench [--json PATH] [--filter SUBSTRING[,SUBSTRING…]] [--skip SUBSTRING] [--seconds S]
// --filter runs the workloads whose name contains any of the comma-separated substrings.
import CBLAS
import Engine
import Foundation

BLASKernels.selectFastKernels()

struct Row {
    let name: String
    let medianMs: Double
    var gflops: Double?
    var sgemmMedianMs: Double?
    /// Peak resident memory of the process after the workload (MiB), where it matters.
    var peakMiB: Double?
    var ratioToSgemm: Double? { sgemmMedianMs.map { $0 / medianMs } }

    var json: [String: Any] {
        var o: [String: Any] = ["name": name, "median_ms": medianMs, "gflops": gflops.map { $0 as Any } ?? NSNull()]
        if let s = sgemmMedianMs { o["sgemm_median_ms"] = s; o["ratio_to_sgemm"] = ratioToSgemm! }
        if let m = peakMiB { o["peak_mib"] = m }
        return o
    }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// Median wall time in ms of `body` over enough runs to fill about `seconds` (at least `minimumRuns`).
func measure(seconds: Double, minimumRuns: Int = 5, _ body: () throws -> Void) rethrows -> Double {
    try body()  // warm-up
    var times: [Double] = []
    let start = now()
    while times.count < minimumRuns || (now() - start < seconds * 1000 && times.count < 1000) {
        let t0 = now()
        try body()
        times.append(now() - t0)
    }
    times.sort()
    return times[times.count / 2]
}

var jsonPath: String?
var filter: String?
var skip: String?
var seconds = 1.5
var arguments = CommandLine.arguments.dropFirst()
while let a = arguments.popFirst() {
    switch a {
    case "--json": jsonPath = arguments.popFirst()
    case "--filter": filter = arguments.popFirst()
    case "--skip": skip = arguments.popFirst()
    case "--seconds": seconds = arguments.popFirst().flatMap(Double.init) ?? seconds
    case "-h", "--help":
        print("usage: snp-bench [--json PATH] [--filter SUBSTRING[,SUBSTRING…]] [--skip SUBSTRING] [--seconds S]")
        exit(0)
    default:
        FileHandle.standardError.write("snp-bench: unknown argument \(a)\n".data(using: .utf8)!)
        exit(64)
    }
}

let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
print("snp-bench — \(cpu), \(Threads.count) threads, OpenBLAS \(BLASKernels.current) kernels (\(BLASKernels.startupNote))")

var rows: [Row] = []
func run(_ name: String, _ make: () throws -> Row) rethrows {
    if let filter, !filter.split(separator: ",").contains(where: { name.contains($0) }) { return }
    if let skip, name.contains(skip) { return }
    let row = try make()
    rows.append(row)
    var line = name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%10.3f ms", row.medianMs)
    if let g = row.gflops { line += String(format: "  %7.1f GFLOP/s", g) }
    if let s = row.sgemmMedianMs { line += String(format: "   sgemm %9.3f ms  ratio %.3f", s, row.ratioToSgemm!) }
    if let m = row.peakMiB { line += String(format: "  peak %.0f MiB", m) }
    print(line)
}

let g = RandomGenerator(seed: 0)

// conv2d 3×3, B=8, 64→64 channels, 32×32, padding 1.
let convFlops = 2.0 * 8 * 64 * 64 * 9 * 32 * 32
try run("conv2d_fwd") {
    let x = try Tensor.randn([8, 64, 32, 32], generator: g), w = try Tensor.randn([64, 64, 3, 3], generator: g), b = try Tensor.randn([64], generator: g)
    let ms = try measure(seconds: seconds) { _ = try noGrad { try Tensor.conv2d(x, weight: w, bias: b, padding: (1, 1)) } }
    return Row(name: "conv2d_fwd", medianMs: ms, gflops: convFlops / ms / 1e6)
}
try run("conv2d_fwd_bwd") {
    let x = try Tensor.randn([8, 64, 32, 32], generator: g).requiringGrad()
    let w = try Tensor.randn([64, 64, 3, 3], generator: g).requiringGrad(), b = try Tensor.randn([64], generator: g).requiringGrad()
    let up = try Tensor.randn([8, 64, 32, 32], generator: g)
    let ms = try measure(seconds: seconds) {
        for p in [x, w, b] { p.zeroGrad() }
        try Tensor.conv2d(x, weight: w, bias: b, padding: (1, 1)).backward(up)
    }
    return Row(name: "conv2d_fwd_bwd", medianMs: ms, gflops: 3 * convFlops / ms / 1e6)
}

// Attention, batch·heads = 32, L = 256, d = 64.
let attentionFlops = 4.0 * 32 * 256 * 256 * 64
try run("attention_fwd") {
    let q = try Tensor.randn([32, 256, 64], generator: g), k = try Tensor.randn([32, 256, 64], generator: g), v = try Tensor.randn([32, 256, 64], generator: g)
    let ms = try measure(seconds: seconds) { _ = try noGrad { try Tensor.scaledDotProductAttention(query: q, key: k, value: v) } }
    return Row(name: "attention_fwd", medianMs: ms, gflops: attentionFlops / ms / 1e6)
}
try run("attention_fwd_bwd") {
    let q = try Tensor.randn([32, 256, 64], generator: g).requiringGrad(), k = try Tensor.randn([32, 256, 64], generator: g).requiringGrad()
    let v = try Tensor.randn([32, 256, 64], generator: g).requiringGrad(), up = try Tensor.randn([32, 256, 64], generator: g)
    let ms = try measure(seconds: seconds) {
        for p in [q, k, v] { p.zeroGrad() }
        try Tensor.scaledDotProductAttention(query: q, key: k, value: v).backward(up)
    }
    return Row(name: "attention_fwd_bwd", medianMs: ms, gflops: 3 * attentionFlops / ms / 1e6)
}

try run("group_norm_fwd_bwd") {
    let x = try Tensor.randn([8, 64, 32, 32], generator: g).requiringGrad()
    let w = Tensor.ones([64]).requiringGrad(), b = Tensor.zeros([64]).requiringGrad(), up = try Tensor.randn([8, 64, 32, 32], generator: g)
    let ms = try measure(seconds: seconds) {
        for p in [x, w, b] { p.zeroGrad() }
        try x.groupNorm(groups: 32, weight: w, bias: b).backward(up)
    }
    return Row(name: "group_norm_fwd_bwd", medianMs: ms, gflops: nil)
}

// MLP 256→1024→1024→10, GELU, batch 128, MSE, AdamW: zero_grad, forward, backward, step.
try run("mlp_train_step") {
    let sizes = [256, 1024, 1024, 10]
    var params: [Tensor] = []
    for i in 0..<3 {
        params.append(try (Tensor.randn([sizes[i + 1], sizes[i]], generator: g) * (1 / Float(sizes[i]).squareRoot())).requiringGrad())
        params.append(Tensor.zeros([sizes[i + 1]]).requiringGrad())
    }
    let x = try Tensor.randn([128, 256], generator: g), target = try Tensor.randn([128, 10], generator: g)
    let opt = try AdamW(parameters: params, learningRate: 1e-3)
    let ms = try measure(seconds: seconds) {
        opt.zeroGrad()
        var h = x
        for i in 0..<3 {
            h = try Tensor.linear(h, weight: params[2 * i], bias: params[2 * i + 1])
            if i < 2 { h = h.gelu() }
        }
        try (h - target).square().mean().backward()
        try opt.step()
    }
    return Row(name: "mlp_train_step", medianMs: ms, gflops: nil)
}

try modelWorkloads(seconds: seconds, generator: g, run: run)
try trainingWorkloads(seconds: seconds, generator: g, run: run)

// Engine matmul against a direct cblas_sgemm call on the same buffers. The direct call runs
// OpenBLAS's own threading at the engine's thread count (the engine keeps OpenBLAS
// single-threaded and splits the product over its own threads). NOTE: the two are timed one
// after the other, not alternately: after a threaded call OpenBLAS's worker spin-yields for
// ~0.1 s and would take a core from whatever runs next, so these rows run last.
for n in [256, 512, 1024, 2048] {
    try run("matmul_\(n)") {
        let a = try Tensor.randn([n, n], generator: g), b = try Tensor.randn([n, n], generator: g)
        let engine = try measure(seconds: seconds) { _ = try Tensor.matmul(a, b) }
        let c = Tensor.zeros([n, n])
        snp_blas_set_threads(Int32(Threads.count))
        let direct = measure(seconds: seconds) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                        a.storage.pointer, Int32(n), b.storage.pointer, Int32(n), 0, c.storage.pointer, Int32(n))
        }
        snp_blas_set_threads(1)
        usleep(300_000)
        return Row(name: "matmul_\(n)", medianMs: engine, gflops: 2 * pow(Double(n), 3) / engine / 1e6, sgemmMedianMs: direct)
    }
}


if let jsonPath {
    let data = try JSONSerialization.data(withJSONObject: rows.map(\.json), options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: jsonPath))
    print("wrote \(jsonPath)")
}
