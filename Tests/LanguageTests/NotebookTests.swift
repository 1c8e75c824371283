import Foundation
import Testing
@testable import Language

@Suite("Notebooks", .serialized)
struct NotebookTests {
    static let text = """
        #%% md
        # # A tiny notebook
        # Some *prose*.
        #%%
        let xs = [1, 4, 9, 16]
        print("sum", sum(xs))
        plot(xs, title: "squares")
        #%% md
        # The next cell fails.
        #%%
        print("before")
        zeros([2]) + zeros([3])
        #%%
        print("after")
        """

    @Test func cellsSplitAtMarkers() {
        let notebook = Notebook(Source(name: "nb.snp", text: NotebookTests.text))
        #expect(notebook.cells.map(\.kind) == [.markdown, .code, .markdown, .code, .code])
        #expect(notebook.cells[0].lines == ["# A tiny notebook", "Some *prose*."])
        #expect(notebook.cells[1].firstLine == 5 && notebook.cells[1].endLine == 8)
        // A notebook is still a valid script.
        #expect((try? Parser.parse(NotebookTests.text)) != nil)
    }

    @Test func rendersMarkdownWithOutputsPicturesAndErrors() throws {
        let folder = try scratchFolder("notebook")
        let interpreter = Interpreter()
        interpreter.pictureDirectory = folder + "/tmp"
        let assets = folder + "/nb.assets"
        var renderer = NotebookRenderer(interpreter: interpreter, assetsFolder: assets, assetsLink: "nb.assets")
        let (markdown, error) = try renderer.render(Notebook(Source(name: "nb.snp", text: NotebookTests.text)))
        #expect(markdown.hasPrefix("# A tiny notebook\nSome *prose*.\n\n```snp\nlet xs = [1, 4, 9, 16]"))
        #expect(markdown.contains("```text\nsum 30\n```"))
        #expect(markdown.contains("![cell1-1.png](nb.assets/cell1-1.png)"))
        #expect(FileManager.default.fileExists(atPath: assets + "/cell1-1.png"))
        // The failing cell shows its error with the file's own line number, and the run stops.
        #expect(error?.location?.line == 12)
        #expect(markdown.contains("```text\nbefore\nnb.snp:12:12: error: add: shapes do not broadcast: [2], [3]\nzeros([2]) + zeros([3])\n           ^\n```"))
        #expect(!markdown.contains("after\n```"))
        #expect(markdown.contains("print(\"after\")"))

        renderer = NotebookRenderer(interpreter: Interpreter(), assetsFolder: assets, assetsLink: "nb.assets")
        renderer.keepGoing = true
        renderer.interpreter.pictureDirectory = folder + "/tmp"
        let (again, _) = try renderer.render(Notebook(Source(name: "nb.snp", text: NotebookTests.text)))
        #expect(again.contains("```text\nafter\n```"))
    }
}
