import Foundation
import Testing
@testable import Language

@Suite("Builtin registry and reference")
struct ReferenceTests {
    /// Docs/language.md is generated from the registry; a change to a builtin must regenerate it.
    @Test func committedReferenceIsCurrent() throws {
        let path = repositoryRoot.appendingPathComponent("Docs/language.md").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == Builtins.markdown(),
                "Docs/language.md is out of date; regenerate it with: swift run snp help-language > Docs/language.md")
    }

    @Test func everyBuiltinIsDocumented() {
        let registry = BuiltinRegistry.standard()
        for domain in registry.domains {
            for b in domain.builtins {
                #expect(b.doc.count >= 20, "\(b.name) has no real doc")
                #expect(!b.example.isEmpty, "\(b.name) has no example")
                #expect(registry.help(b.name)?.hasPrefix(b.signature.text(name: b.name)) == true)
            }
        }
        let catalogue = "print show help type len range keys values str num assert time seed tensor zeros ones full randn rand arange linspace shape reshape transpose permute sum mean var max min argmax exp log sqrt abs tanh sigmoid silu gelu softmax concat stack clamp where allclose item grad value_and_grad no_grad detach load save summary params layers freeze unfreeze lora attention_layers nasa nasa_off plot grid save_png load_png h5ls h5read h5write sparkline sweep schedule noise eps_to_x0 x0_to_eps encode eps cfg sample train_teacher shapes evaluate fd precision_recall clip_score removal_rate classify constant uniform normal loguniform choice dist student_of vsd vsd_loss distill generate attend"
        for name in catalogue.split(separator: " ") { #expect(registry[String(name)] != nil, "\(name) is missing") }
    }

    @Test func bindingChecksArgumentsOnce() {
        let cases: [(String, String)] = [
            ("zeros()", "zeros(): missing argument 'shape'"),
            ("zeros([1], [2])", "zeros() takes 1 positional argument, got 2"),
            ("sum([1], axis: 0, axis: 1)", "keyword argument 'axis' given twice"),
            ("sum([1], 0, axis: 1)", "sum(): 'axis' is given twice"),
            ("randn([2], sead: 1)", "randn() has no parameter 'sead'"),
            ("print(1, 2, sep: 3)", "print(): sep must be a string, got number 3"),
        ]
        for (text, message) in cases {
            #expect(runScript(text).error?.message.contains(message) == true, "\(text)")
        }
        #expect(runScript("print(1, 2, sep: \"-\")").output == "1-2\n")
    }

    /// The guide's first example runs as printed.
    @Test func guideExampleRuns() throws {
        let guide = Builtins.guide
        let start = try #require(guide.range(of: "```snp\n"))
        let end = try #require(guide.range(of: "```", range: start.upperBound..<guide.endIndex))
        let (output, error) = runScript(String(guide[start.upperBound..<end.lowerBound]))
        #expect(error == nil)
        #expect(output.hasPrefix("loss "))
    }
}
