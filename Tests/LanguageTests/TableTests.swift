import Foundation
import Testing
@testable import Language

@Suite("Tables and sweeps")
struct TableTests {
    @Test func sweepTableSavesAndPlots() throws {
        let folder = try scratchFolder("table")
        let interpreter = Interpreter()
        interpreter.pictureDirectory = folder
        let (_, error) = runScript("""
            let t = sweep(fn(kappa_max, alpha) {
                if alpha > 0.9 { assert(false, message: "bad, \\"quoted\\"") }
                {fd: kappa_max + alpha}
            }, over: {kappa_max: [2, 3], alpha: [0, 0.5, 1]})
            t.save(args[0])
            t.save(args[1])
            let png = plot(t, x: "alpha", y: "fd", by: "kappa_max", title: "fd")
            """, interpreter: { interpreter.globals.define("args", .list([.string(folder + "/t.csv"), .string(folder + "/t.md")])); return interpreter }())
        #expect(error == nil)
        let csv = try String(contentsOfFile: folder + "/t.csv", encoding: .utf8)
        #expect(csv.hasPrefix("kappa_max,alpha,fd,error\n2,0,2,\n2,0.5,2.5,\n2,1,,\"bad, \"\"quoted\"\"\"\n"))
        let markdown = try String(contentsOfFile: folder + "/t.md", encoding: .utf8)
        #expect(markdown.hasPrefix("| kappa_max | alpha | fd | error |\n|---:|---:|---:|---|\n| 2 | 0 | 2 |  |\n"))
        #expect(interpreter.pictures.count == 1 && FileManager.default.fileExists(atPath: interpreter.pictures[0]))
        #expect(runScript("sweep(fn(a) { a }, over: {a: [1]}).save(\"x.txt\")").error?.message.contains(".csv or .md") == true)
    }
}
