/// SentencePiece's compiled normalisation rules (`precompiled_charsmap`: NFKC plus the "nmt"
/// rules for T5), applied as the `tokenizers` library's `Precompiled` normaliser applies them.
///
/// The blob is a little-endian u32 — the byte size of the trie — then the trie (a darts-clone
/// double array of u32 units over UTF-8 bytes) and the replacement strings, each ended by a 0
/// byte; a key's value is the byte offset of its replacement.
///
/// NOTE: `tokenizers` (and so transformers) does not take the longest match as sentencepiece
/// does: it walks the text by extended grapheme cluster; a cluster under 6 bytes with any rule
/// matching a prefix of it is replaced *whole* by the shortest such rule's replacement
/// ("\r\n" becomes " ": the rule for "\r"); otherwise each scalar is replaced by its own rule
/// or kept. We do the same, so ids match transformers, not sentencepiece.
public struct PrecompiledCharsMap: Sendable {
    let units: [UInt32]
    let replacements: [UInt8]
    /// The blob as given (to store the map again: `init(blob)` rebuilds it).
    public let blob: [UInt8]

    /// Parses the blob; nil when it is too short for the trie size it states or its
    /// replacement strings are not UTF-8.
    public init?(_ blob: [UInt8]) {
        self.blob = blob
        guard blob.count >= 4 else { return nil }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize <= blob.count - 4 else { return nil }
        units = (0..<(trieSize / 4)).map { i in
            let o = 4 + 4 * i
            return UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        replacements = Array(blob[(4 + trieSize)...])
        guard String(validating: replacements, as: UTF8.self) != nil else { return nil }
    }

    // darts-clone unit layout
    private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    private static func value(_ unit: UInt32) -> Int { Int(unit & ((1 << 31) - 1)) }
    private static func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
    private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The replacement of the shortest key that is a prefix of `bytes`, if any
    /// (`spm_precompiled`'s `transform`: the first common-prefix-search result).
    func transform<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [UInt8]? {
        guard let root = units.first else { return nil }
        var position = Self.offset(root)
        for byte in bytes {
            if byte == 0 { break }
            position ^= Int(byte)
            guard position < units.count else { return nil }
            let unit = units[position]
            if Self.label(unit) != UInt32(byte) { return nil }
            position ^= Self.offset(unit)
            guard position < units.count else { return nil }
            if Self.hasLeaf(unit) { return replacement(at: Self.value(units[position])) }
        }
        return nil
    }

    private func replacement(at start: Int) -> [UInt8]? {
        guard start <= replacements.count else { return nil }
        let end = replacements[start...].firstIndex(of: 0) ?? replacements.count
        return Array(replacements[start..<end])
    }

    /// `text` normalised as `tokenizers`' Precompiled normaliser does (see the type's note).
    public func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for cluster in text {
            let bytes = Array(cluster.utf8)
            if bytes.count < 6, let replaced = transform(bytes) {
                out += replaced
                continue
            }
            for scalar in cluster.unicodeScalars {
                out += transform(Array(String(scalar).utf8)) ?? Array(String(scalar).utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
