import Checkpoints
import Engine

extension BuiltinDomain {
    /// HDF5 files of named tensors (h5py-compatible).
    static let files = BuiltinDomain("files", doc: "HDF5 files of named tensors, readable and writable by h5py.", builtins: [
        Builtin("h5ls", "path",
                doc: "The datasets of an HDF5 file as a table: name (groups joined with /), shape, element type.",
                example: "h5ls(\"model.h5\")") { args in
            let file = try HDF5File(path: try args.string("path"))
            let table = Table(columns: ["name", "shape", "dtype"])
            for info in try file.datasets() {
                table.append(Record([("name", .string(info.name)), ("shape", .string(shapeString(info.shape))), ("dtype", .string(info.type.description))]))
            }
            return .object(table)
        },
        Builtin("h5read", "path, name: nil",
                doc: "One dataset of an HDF5 file as a Float32 tensor, or with no name every dataset as a record of tensors (string datasets as lists of strings).",
                example: "let x = h5read(\"inputs.h5\", name: \"sample\")") { args in
            let file = try HDF5File(path: try args.string("path"))
            if let name = try args.optionalString("name") { return .tensor(try file.readTensor(name)) }
            var record = Record()
            for info in try file.datasets() {
                // Lists of strings (captions, a tokenizer's vocabulary) come back as lists.
                record[info.name] = info.type == .string ? .list(try file.readStrings(info.name).map { .string($0) }) : .tensor(try file.readTensor(info.name))
            }
            return .record(record)
        },
        Builtin("h5write", "path, tensors",
                doc: "Writes a record of tensors (or numbers, lists of numbers) as float32 datasets named by its fields; the file is replaced atomically.",
                example: "h5write(\"out.h5\", {sample: x, noise: eps})") { args in
            let path = try args.string("path")
            let record = try args.record("tensors")
            let named = try record.fields.map { field -> (String, Tensor) in
                guard let t = try Interpreter.tensor(from: field.value) else {
                    throw RuntimeError("h5write(): field '\(field.key)' must be a tensor, got \(field.value.described)", parameter: "tensors")
                }
                return (field.key, t)
            }
            try HDF5Writer.write(to: path) { writer in
                for (name, tensor) in named { try writer.write(tensor, to: name) }
            }
            return .string(path)
        },
    ])
}
