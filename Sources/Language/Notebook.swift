import Foundation

/// A `.snp` file cut into cells by lines starting `#%%`: code cells, and prose cells (`#%% md`)
/// whose lines are `# `-prefixed Markdown. A notebook is still a valid script: the markers and
/// the prose are comments.
public struct Notebook {
    public enum Kind: Equatable, Sendable { case code, markdown }

    public struct Cell {
        public let kind: Kind
        /// The cell's lines without the marker (prose lines without their `# `).
        public let lines: [String]
        /// The file's line number of the cell's first line (after the marker), 1-based.
        public let firstLine: Int
        /// The line number just past the cell.
        public var endLine: Int { firstLine + lines.count }
        /// True when the cell holds nothing but blank lines and comments.
        public var isBlank: Bool {
            lines.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        }
    }

    public let source: Source
    public let cells: [Cell]

    public init(_ source: Source) {
        self.source = source
        var cells: [Cell] = []
        var kind = Kind.code
        var lines: [String] = []
        var first = 1
        func close() {
            if kind == .markdown {
                cells.append(Cell(kind: .markdown, lines: lines.map(Notebook.prose), firstLine: first))
            } else if !lines.isEmpty {
                cells.append(Cell(kind: .code, lines: lines, firstLine: first))
            }
        }
        for (i, line) in source.lines.enumerated() {
            if line.hasPrefix("#%%") {
                close()
                let label = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
                kind = label == "md" || label.hasPrefix("md ") ? .markdown : .code
                lines = []
                first = i + 2
            } else {
                lines.append(String(line))
            }
        }
        close()
        self.cells = cells
    }

    /// `# text` → `text`, `#` → ``; other lines as they are.
    private static func prose(_ line: String) -> String {
        if line.hasPrefix("# ") { return String(line.dropFirst(2)) }
        if line.trimmingCharacters(in: .whitespaces) == "#" { return "" }
        return line
    }
}

/// Runs a notebook's code cells in one interpreter and writes Markdown: prose as is, code in
/// fenced blocks, each cell's printed output under it, and every picture the cell made copied
/// into an assets folder and linked relatively.
public struct NotebookRenderer {
    public let interpreter: Interpreter
    /// Where the pictures go (`FILE.assets`), and how the page links to that folder.
    public let assetsFolder: String
    public let assetsLink: String
    /// Go on after a failing cell (the error shows in place either way).
    public var keepGoing = false

    public init(interpreter: Interpreter, assetsFolder: String, assetsLink: String) {
        self.interpreter = interpreter
        self.assetsFolder = assetsFolder
        self.assetsLink = assetsLink
    }

    /// The page, and the first error (nil when every cell ran).
    public func render(_ notebook: Notebook) throws -> (markdown: String, error: LanguageError?) {
        let files = FileManager.default
        try files.createDirectory(atPath: assetsFolder, withIntermediateDirectories: true)
        // Pictures of an earlier rendering would linger unlinked.
        for name in (try? files.contentsOfDirectory(atPath: assetsFolder)) ?? [] where name.hasPrefix("cell") && name.hasSuffix(".png") {
            try? files.removeItem(atPath: (assetsFolder as NSString).appendingPathComponent(name))
        }
        var blocks: [String] = []
        var firstError: LanguageError? = nil
        var codeIndex = 0
        let savedOutput = interpreter.output
        defer { interpreter.output = savedOutput }
        for cell in notebook.cells {
            if cell.kind == .markdown {
                let text = cell.lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
                if !text.isEmpty { blocks.append(text) }
                continue
            }
            guard !cell.isBlank else { continue }
            codeIndex += 1
            let code = cell.lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
            blocks.append("```snp\n\(code)\n```")
            if firstError != nil && !keepGoing { continue }
            var printed = ""
            interpreter.output = { printed += $0 }
            let picturesBefore = interpreter.pictures.count
            var cellError: LanguageError? = nil
            do {
                try interpreter.run(notebook.source, firstLine: cell.firstLine, endLine: cell.endLine)
            } catch let error as LanguageError {
                cellError = error
                firstError = firstError ?? error
            }
            if let cellError { printed += (printed.isEmpty || printed.hasSuffix("\n") ? "" : "\n") + cellError.description + "\n" }
            if !printed.isEmpty { blocks.append("```text\n\(printed.hasSuffix("\n") ? String(printed.dropLast()) : printed)\n```") }
            for (k, path) in interpreter.pictures[picturesBefore...].enumerated() {
                let name = "cell\(codeIndex)-\(k + 1).png"
                let target = (assetsFolder as NSString).appendingPathComponent(name)
                try? files.removeItem(atPath: target)
                try files.copyItem(atPath: path, toPath: target)
                blocks.append("![\(name)](\(assetsLink)/\(name))")
            }
            if cellError != nil && !keepGoing {
                blocks.append("*The notebook stopped here: the cell above failed.*")
            }
        }
        return (blocks.joined(separator: "\n\n") + "\n", firstError)
    }
}
