import Engine
import Foundation
import Models

/// A pipeline's text encoder: CLIP's (Stable Diffusion) or T5's (PixArt-α).
public protocol PipelineTextEncoder: Module {
    /// The architecture tag (`CLIPTextModel`, `T5EncoderModel`).
    static var architecture: String { get }
    /// The config it was built from.
    var config: ModelConfig { get }
    /// The width of the states it gives.
    var hiddenSize: Int { get }
    /// last_hidden_state [B, L, hiddenSize] for `inputIDs` [B, L], with the tokenizer's
    /// attention mask [B, L] where the pipeline passes one (T5), nil where it does not (CLIP).
    func lastHiddenState(_ inputIDs: Tensor, attentionMask: Tensor?) throws -> Tensor
}

extension CLIPTextModel: PipelineTextEncoder {
    /// diffusers' StableDiffusionPipeline runs CLIP without a mask (its config has no
    /// `use_attention_mask`); a mask given here is an error rather than ignored.
    public func lastHiddenState(_ inputIDs: Tensor, attentionMask: Tensor?) throws -> Tensor {
        guard attentionMask == nil else {
            throw ModelError.invalidInput(model: Self.architecture, reason: "Stable Diffusion's CLIP text encoder takes no attention mask")
        }
        return try self(inputIDs).lastHiddenState
    }
}

extension T5EncoderModel: PipelineTextEncoder {
    /// d_model.
    public var hiddenSize: Int { dModel }

    public func lastHiddenState(_ inputIDs: Tensor, attentionMask: Tensor?) throws -> Tensor {
        try self(inputIDs, attentionMask: attentionMask)
    }
}

extension DiffusionPipeline {
    /// What diffusers' PixArt pipelines do to a prompt with `clean_caption=False`
    /// (`_text_preprocessing`): `text.lower().strip()`, with Python's semantics — full Unicode
    /// lowercase mapping, Σ → ς at the end of a word (Python's Final_Sigma rule), and Python's
    /// whitespace (Unicode White_Space plus U+001C…U+001F) stripped from both ends.
    ///
    /// NOTE: `clean_caption=True` (the default of `PixArtAlphaPipeline.__call__`, active only when
    /// bs4 and ftfy are installed) also strips URLs, HTML, markup and much else; Snoopi does not
    /// do that cleaning, so its results match diffusers called with `clean_caption=False` (or
    /// without bs4/ftfy installed).
    public static func pixArtTextPreprocessing(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        func isPythonSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace || (0x1C...0x1F).contains(s.value) }
        var lowered = String.UnicodeScalarView()
        for (i, s) in scalars.enumerated() {
            guard s.value == 0x3A3 else {
                lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                continue
            }
            // Python's handle_capital_sigma: a cased letter before (skipping case-ignorables)
            // and none after (skipping case-ignorables) makes it final.
            var j = i - 1
            while j >= 0 && scalars[j].properties.isCaseIgnorable { j -= 1 }
            var final = j >= 0 && scalars[j].properties.isCased
            if final {
                var k = i + 1
                while k < scalars.count && scalars[k].properties.isCaseIgnorable { k += 1 }
                final = k == scalars.count || !scalars[k].properties.isCased
            }
            lowered.append(final ? "\u{3C2}" : "\u{3C3}")
        }
        let out = Array(lowered)
        var (start, end) = (0, out.count)
        while start < end && isPythonSpace(out[start]) { start += 1 }
        while end > start && isPythonSpace(out[end - 1]) { end -= 1 }
        return String(String.UnicodeScalarView(out[start..<end]))
    }
}

extension SchedulerConfig {
    /// The text of a scheduler config with Python's non-JSON numbers quoted: `json.dumps` writes
    /// float infinities and NaN as bare `Infinity`, `-Infinity`, `NaN` (DPMSolverMultistepScheduler's
    /// `lambda_min_clipped` is −∞ by default, so every saved PixArt-α scheduler config has one),
    /// which JSON readers refuse. They become the strings "Infinity", "-Infinity", "NaN".
    static func quotingPythonNonFiniteNumbers(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = [], i = 0, inString = false, escaped = false
        out.reserveCapacity(bytes.count + 16)
        let words = ["-Infinity", "Infinity", "NaN"].map { Array($0.utf8) }
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if b == UInt8(ascii: "\"") { inString = true; out.append(b); i += 1; continue }
            if let word = words.first(where: { i + $0.count <= bytes.count && bytes[i..<(i + $0.count)].elementsEqual($0) }) {
                out += [UInt8(ascii: "\"")] + word + [UInt8(ascii: "\"")]
                i += word.count
                continue
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
