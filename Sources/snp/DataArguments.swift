import Diffusion
import Foundation

/// The dataset options of the commands that train or measure on images:
/// `--data PATH [--held-out FRACTION] [--data-seed S]`. Without `--data` the data is the shapes
/// world (seed 0) at the model's side.
struct DataArguments {
    static let valued: Set<String> = ["data", "held-out", "data-seed"]
    static let help = """
      --data PATH            your own captioned images instead of the shapes world: an HDF5 file
                             (images [N,H,W] | [N,H,W,C] | [N,C,H,W], uint8 or float; captions as
                             strings; optional labels) or a folder of PNGs with metadata.jsonl
                             (file_name, text) or captions.txt (FILE<TAB>caption)
      --held-out F           the fraction held out for evaluation (default 0.1); --data-seed S its seed
    """
    let path: String?
    let heldOut: Double
    let seed: UInt64

    init(_ args: inout Arguments) throws {
        path = args.value("data")
        let fraction = try args.float("held-out").map(Double.init) ?? 0.1
        guard fraction >= 0, fraction < 1 else { throw UsageError(message: "--held-out must be a fraction in [0, 1), got \(fraction)") }
        heldOut = fraction
        seed = UInt64(try args.integer("data-seed", 0))
        if path == nil, args.value("held-out") != nil || args.value("data-seed") != nil {
            throw UsageError(message: "--held-out and --data-seed split a dataset given with --data")
        }
    }

    /// The data: the file or folder given (its side checked against `side` when given), else the
    /// shapes world at `side` (16 when neither is known).
    func dataset(side: Int?) throws -> any ImageTextDataset {
        guard let path else { return try ShapesWorld(side: side ?? 16, seed: 0) }
        let data = try CaptionedImageSet.load(path, heldOut: heldOut, seed: seed)
        print("data: \(path) — \(data.images.shape[0]) images of \(data.side)×\(data.side), \(data.count(of: .train)!) for training, \(data.count(of: .test)!) held out, \(data.vocabulary.count) words")
        if let side { try data.requireSide(side, for: "the model") }
        return data
    }
}
