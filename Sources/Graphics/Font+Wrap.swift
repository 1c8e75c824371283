extension Font {
    /// `text` broken into at most `maxLines` lines no wider than `width` pixels: at spaces where
    /// possible, inside a word that alone is too wide; when lines remain, the last kept line ends
    /// in `…`.
    public func wrap(_ text: String, width: Int, maxLines: Int) -> [String] {
        guard maxLines > 0 else { return [] }
        var lines: [String] = []
        var current = ""
        for word in text.split(whereSeparator: \.isWhitespace).map(String.init) {
            let joined = current.isEmpty ? word : current + " " + word
            if measure(joined).width <= width {
                current = joined
                continue
            }
            if !current.isEmpty { lines.append(current) }
            current = ""
            for character in word {
                if !current.isEmpty && measure(current + String(character)).width > width {
                    lines.append(current)
                    current = ""
                }
                current.append(character)
            }
        }
        if !current.isEmpty { lines.append(current) }
        guard lines.count > maxLines else { return lines }
        var kept = Array(lines.prefix(maxLines))
        kept[maxLines - 1] = truncate(kept[maxLines - 1] + "…", width: width)
        return kept
    }

    /// `line` if it fits in `width` pixels, else its longest prefix that fits with `…` after it.
    public func truncate(_ line: String, width: Int) -> String {
        guard measure(line).width > width else { return line }
        var prefix = line.hasSuffix("…") ? String(line.dropLast()) : line
        while !prefix.isEmpty && measure(prefix + "…").width > width { prefix.removeLast() }
        return prefix.trimmingTrailingSpaces() + "…"
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
