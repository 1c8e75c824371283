import Engine
import Foundation

extension CLIPTokenizer {
    /// The tokenizer of a diffusers pipeline's `tokenizer/` folder (or any `save_pretrained`
    /// CLIP tokenizer folder), as the pipeline uses it: the vocabulary and merges from
    /// `vocab.json` + `merges.txt` or, as transformers ≥ 5 writes only that, from `tokenizer.json`
    /// (its BPE model); `model_max_length` and the pad token from `tokenizer_config.json` (SD 1.x
    /// pads with `<|endoftext|>`, SD 2.x with `!`). Prompts are padded to that length.
    public static func load(folder: String) throws -> CLIPTokenizer {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func json(_ name: String) throws -> [String: Any]? {
            guard let data = FileManager.default.contents(atPath: path(name)) else { return nil }
            FileAccessLog.read(path(name))
            guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
                throw TokenizerError.unreadable(path: path(name), reason: "not a JSON object")
            }
            return dict
        }
        let settings = try json("tokenizer_config.json") ?? [:]
        let maxLength = (settings["model_max_length"] as? NSNumber).map { $0.doubleValue <= 1e6 ? $0.intValue : 77 } ?? 77
        guard maxLength >= 2 else { throw TokenizerError.unreadable(path: path("tokenizer_config.json"), reason: "model_max_length \(maxLength) is under 2") }
        let tokenizer: CLIPTokenizer
        if FileManager.default.fileExists(atPath: path("vocab.json")) {
            tokenizer = try CLIPTokenizer(folder: folder, maxLength: maxLength)
        } else if let fast = try json("tokenizer.json") {
            guard let model = fast["model"] as? [String: Any], model["type"] as? String == "BPE",
                  let vocabulary = model["vocab"] as? [String: Int], let mergeList = model["merges"] as? [Any] else {
                throw TokenizerError.unreadable(path: path("tokenizer.json"), reason: "its model is not a BPE model with vocab and merges (not a CLIP tokenizer)")
            }
            let merges = try mergeList.map { entry -> (String, String) in
                if let pair = entry as? [String], pair.count == 2 { return (pair[0], pair[1]) }
                if let line = entry as? String {
                    let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                    if parts.count == 2 { return (parts[0], parts[1]) }
                }
                throw TokenizerError.unreadable(path: path("tokenizer.json"), reason: "merge \(entry) is not two tokens")
            }
            tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: merges, maxLength: maxLength)
        } else {
            throw TokenizerError.unreadable(path: folder, reason: "holds neither vocab.json + merges.txt nor tokenizer.json")
        }
        // The pad token: a string, or transformers' older {"content": …} form.
        let padToken = settings["pad_token"] as? String ?? (settings["pad_token"] as? [String: Any])?["content"] as? String
        if let padToken {
            guard let id = tokenizer.vocabulary[padToken] else { throw TokenizerError.missingToken(padToken) }
            tokenizer.pad = id
        }
        return tokenizer
    }
}
