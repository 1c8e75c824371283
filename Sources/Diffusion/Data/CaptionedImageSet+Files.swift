import Checkpoints
import Engine
import Foundation
import Graphics

/// Reading and writing captioned image sets: an HDF5 file (as h5py writes it) or a folder of PNGs
/// in Hugging Face's imagefolder layout.
extension CaptionedImageSet {
    /// Reads the dataset at `path`: a folder (PNG imagefolder) or an HDF5 file. `heldOut` and
    /// `seed` set the split (see `init`). Every mistake in the files is an error naming the file
    /// and the field at fault.
    ///
    /// **HDF5** (h5py): dataset `images` as [N, H, W] (grey), [N, H, W, C] or [N, C, H, W] with
    /// C = 1 or 3, uint8 (0–255) or float (values in [0, 1], or [−1, 1] when any is negative; a
    /// root attribute `images_range` = "0..1" | "-1..1" | "0..255" says it outright); dataset
    /// `captions`, N variable-length strings (`h5py.string_dtype()`); optional integer `labels`
    /// [N] or [N, K].
    ///
    /// **PNG folder**: `metadata.jsonl`, one JSON object per line with `file_name` and `text`
    /// (Hugging Face's imagefolder; `caption` is read as `text` too, an integer `label` is kept),
    /// or `captions.txt`, one `FILE<TAB>caption` per line. Grey PNGs are read as RGB; an alpha
    /// channel is dropped (as PIL's `convert("RGB")` does). All images must have one square size.
    public static func load(_ path: String, heldOut: Double = 0.1, seed: UInt64 = 0) throws -> CaptionedImageSet {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw DiffusionError.invalidArgument(name: path, reason: "no such file or folder (a dataset is an HDF5 file or a folder of PNGs with metadata.jsonl or captions.txt)")
        }
        let (images, captions, labels) = isFolder.boolValue ? try readFolder(path) : try readHDF5(path)
        return try CaptionedImageSet(images: images, captions: captions, labels: labels, heldOut: heldOut, seed: seed, name: path)
    }

    // MARK: HDF5

    static func readHDF5(_ path: String) throws -> (Tensor, [String], Tensor?) {
        func bad(_ field: String, _ reason: String) -> DiffusionError { .invalidArgument(name: "\(path): '\(field)'", reason: reason) }
        let file = try HDF5File(path: path)
        for field in ["images", "captions"] where try file.kind(of: field) == nil {
            let found = try file.datasets().map(\.name)
            throw DiffusionError.invalidArgument(name: path, reason: "has no '\(field)' dataset (found: \(found.isEmpty ? "none" : found.joined(separator: ", "))); a dataset file holds 'images' and 'captions'")
        }
        let info = try file.datasetInfo("images")
        guard info.type.isNumeric else { throw bad("images", "must be numbers (uint8 or float), got \(info.type)") }
        guard [.uint8, .float16, .bfloat16, .float32, .float64].contains(info.type) else {
            throw bad("images", "must be uint8 (0–255) or float, got \(info.type)")
        }
        let raw = try file.readTensor("images")
        let s = raw.shape
        // Every layout to [N, C, H, W].
        var nchw: Tensor
        switch s.count {
        case 3: nchw = try raw.reshape([s[0], 1, s[1], s[2]])
        case 4 where [1, 3].contains(s[3]) && s[1] == s[2]: nchw = try raw.permute([0, 3, 1, 2])
        case 4 where [1, 3].contains(s[1]) && s[2] == s[3]: nchw = raw
        default:
            throw bad("images", "must be [N, H, W], [N, H, W, C] or [N, C, H, W] with C = 1 or 3 and square images, got \(s)")
        }
        let values = nchw.scalars
        guard values.allSatisfy(\.isFinite) else { throw bad("images", "holds NaN or infinite values") }
        let low = values.min() ?? 0, high = values.max() ?? 0
        var range: String
        if let given = try file.attribute("images_range") {
            guard case let .string(text) = given, ["0..1", "-1..1", "0..255"].contains(text) else {
                throw DiffusionError.invalidArgument(name: "\(path): attribute 'images_range'", reason: "must be \"0..1\", \"-1..1\" or \"0..255\", got \(given)")
            }
            range = text
        } else {
            range = info.type == .uint8 ? "0..255" : low < 0 ? "-1..1" : "0..1"
        }
        let limits: (Float, Float) = range == "0..255" ? (0, 255) : range == "-1..1" ? (-1, 1) : (0, 1)
        guard low >= limits.0 - 1e-4, high <= limits.1 + 1e-4 else {
            throw bad("images", "values run from \(low) to \(high), outside the range \(range) they are read in (floats are [0, 1] or [−1, 1]; store 0–255 as uint8)")
        }
        // To [−1, 1].
        nchw = range == "-1..1" ? nchw : try nchw * (2 / limits.1) - 1
        if nchw.shape[1] == 1 { nchw = try Tensor.concat([nchw, nchw, nchw], axis: 1) }
        let captions: [String]
        do { captions = try file.readStrings("captions") } catch let error as CheckpointError {
            throw bad("captions", "must be a 1-d dataset of variable-length strings (h5py.string_dtype()): \(error)")
        }
        guard captions.count == s[0] else { throw bad("captions", "holds \(captions.count) captions for \(s[0]) images (one per image)") }
        var labels: Tensor?
        if try file.kind(of: "labels") != nil {
            let labelInfo = try file.datasetInfo("labels")
            guard labelInfo.type.isInteger, labelInfo.type != .bool else { throw bad("labels", "must be integers, got \(labelInfo.type)") }
            guard [1, 2].contains(labelInfo.shape.count), labelInfo.shape[0] == s[0] else {
                throw bad("labels", "must be [N] or [N, K] with N = \(s[0]) images, got \(labelInfo.shape)")
            }
            labels = try Tensor(file.readIntegers("labels").map(Float.init), shape: labelInfo.shape)
        }
        return (nchw, captions, labels)
    }

    /// Writes the set as an h5py-readable file: `images` [N, 3, H, W] float32 in [−1, 1] (root
    /// attribute `images_range` = "-1..1"), `captions`, and `labels` when there are any.
    public func save(to path: String) throws {
        try HDF5Writer.write(to: path) { writer in
            try writer.write(images, to: "images")
            try writer.write(strings: captions, to: "captions")
            if let labels { try writer.write(integers: labels.scalars.map { Int64($0) }, shape: labels.shape, to: "labels") }
            try writer.setAttribute("images_range", .string("-1..1"))
            try writer.setAttribute("format", .string("snoopi-dataset"))
        }
    }

    // MARK: PNG folder

    static func readFolder(_ folder: String) throws -> (Tensor, [String], Tensor?) {
        let url = URL(fileURLWithPath: folder)
        let jsonl = url.appendingPathComponent("metadata.jsonl").path, text = url.appendingPathComponent("captions.txt").path
        var entries: [(file: String, caption: String, label: Int?)] = []
        if FileManager.default.fileExists(atPath: jsonl) {
            entries = try readMetadata(jsonl)
        } else if FileManager.default.fileExists(atPath: text) {
            entries = try readCaptionList(text)
        } else {
            throw DiffusionError.invalidArgument(name: folder, reason: "has neither metadata.jsonl (lines of {\"file_name\": …, \"text\": …}) nor captions.txt (lines of FILE<TAB>caption)")
        }
        guard !entries.isEmpty else { throw DiffusionError.invalidArgument(name: folder, reason: "its caption file lists no images") }
        var side = 0
        var planes: [Float] = []
        for entry in entries {
            let file = url.appendingPathComponent(entry.file).path
            let image: Image
            do { image = try PNG.read(file) } catch {
                throw DiffusionError.invalidArgument(name: file, reason: "cannot be read as a PNG image (\(error))")
            }
            guard image.width == image.height else {
                throw DiffusionError.invalidArgument(name: file, reason: "is \(image.width)×\(image.height); dataset images must be square")
            }
            if side == 0 { side = image.width }
            guard image.width == side else {
                throw DiffusionError.invalidArgument(name: file, reason: "is \(image.width)×\(image.height), the folder's first image \(side)×\(side); all must have one size")
            }
            let rgb = image.tensor(range: .minusOneToOne).scalars.prefix(3 * side * side)  // planar: alpha last, dropped
            planes.append(contentsOf: rgb)
        }
        let labels = entries.allSatisfy { $0.label != nil } ? try Tensor(entries.map { Float($0.label!) }, shape: [entries.count]) : nil
        return (try Tensor(planes, shape: [entries.count, 3, side, side]), entries.map(\.caption), labels)
    }

    static func readMetadata(_ path: String) throws -> [(file: String, caption: String, label: Int?)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var entries: [(String, String, Int?)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            func bad(_ reason: String) -> DiffusionError { .invalidArgument(name: "\(path), line \(number + 1)", reason: reason) }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw bad("is not a JSON object")
            }
            guard let file = object["file_name"] as? String, !file.isEmpty else { throw bad("has no \"file_name\" string") }
            guard let caption = (object["text"] ?? object["caption"]) as? String else { throw bad("has no \"text\" (or \"caption\") string") }
            var label: Int?
            if let value = object["label"] {
                // (`is Bool` holds for 0 and 1 on Linux; a JSON true/false is an NSNumber of type "c".)
                guard !(value is String), let number = value as? NSNumber, String(cString: number.objCType) != "c",
                      number.doubleValue.rounded() == number.doubleValue, abs(number.doubleValue) < 1e9 else {
                    throw bad("has a \"label\" that is not an integer")
                }
                label = number.intValue
            }
            entries.append((file, caption, label))
        }
        return entries
    }

    static func readCaptionList(_ path: String) throws -> [(file: String, caption: String, label: Int?)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var entries: [(String, String, Int?)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw DiffusionError.invalidArgument(name: "\(path), line \(number + 1)", reason: "must be FILE<TAB>caption, got \"\(line)\"")
            }
            entries.append((String(parts[0]), String(parts[1]), nil))
        }
        return entries
    }
}
