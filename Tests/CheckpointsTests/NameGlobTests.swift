import Checkpoints
import Testing

@Suite struct NameGlobTests {
    static let cases: [(pattern: String, name: String, matches: Bool)] = [
        ("conv_in.weight", "conv_in.weight", true),
        ("conv_in.weight", "conv_in.bias", false),
        ("unet.*", "unet.conv", true),
        ("unet.*", "unet.conv_in.weight", false),          // * stays inside one component
        ("unet.**", "unet.conv_in.weight", true),
        ("unet.**", "unet", true),                         // ** may match nothing
        ("unet.**", "vae.conv_in.weight", false),
        ("**.bias", "conv_in.bias", true),
        ("**.bias", "down_blocks.0.resnets.1.conv1.bias", true),
        ("**.bias", "conv_in.weight", false),
        ("**", "anything.at.all", true),
        ("down_blocks.*.attentions.*.transformer_blocks.*.attn2",
         "down_blocks.1.attentions.0.transformer_blocks.0.attn2", true),
        ("down_blocks.*.attentions.*.transformer_blocks.*.attn2",
         "down_blocks.1.attentions.0.transformer_blocks.0.attn1", false),
        ("**.attn*.to_?", "mid_block.attentions.0.transformer_blocks.0.attn2.to_k", true),
        ("**.attn*.to_?", "mid_block.attn2.to_out", false),  // ? is exactly one character
        ("*_blocks.**.weight", "up_blocks.2.resnets.0.conv2.weight", true),
        ("*_blocks.**.weight", "conv_out.weight", false),
        ("a.**.b.**.c", "a.x.b.y.z.c", true),
        ("a.**.b.**.c", "a.b.c", true),
        ("a.**.b.**.c", "a.x.c", false),
        ("*a*b*", "xxaxxbxx", true),
        ("*a*b*", "xxbxxaxx", false),
    ]

    @Test(arguments: cases)
    func matchesWholeNames(_ example: (pattern: String, name: String, matches: Bool)) {
        #expect(NameGlob(example.pattern).matches(example.name) == example.matches,
                "\(example.pattern) vs \(example.name)")
    }

    @Test func prefixMatchSelectsEverythingUnderAModule() {
        let glob = NameGlob("up_blocks.*")
        #expect(glob.matches("up_blocks.0.resnets.0.conv1.weight", prefix: true))
        #expect(!glob.matches("up_blocks.0.resnets.0.conv1.weight"))
        #expect(!glob.matches("down_blocks.0.resnets.0.conv1.weight", prefix: true))
        // A prefix must end at a component boundary: "up_blocks.0" is not a prefix match of "up_blocks.01x".
        #expect(!NameGlob("up_blocks.0").matches("up_blocks.01x.weight", prefix: true))
    }

    @Test func stringLiteralsAreGlobs() {
        let glob: NameGlob = "**.weight"
        #expect(glob.pattern == "**.weight")
        #expect(glob.description == "**.weight")
        #expect(glob.matches("conv.weight"))
    }
}
