import Checkpoints
import Engine
import Testing

@Suite struct NamedTensorsTests {
    @Test func keepsInsertionOrderAndReplacesInPlace() throws {
        var tensors = NamedTensors()
        tensors["b"] = Tensor([1])
        tensors["a"] = Tensor([2])
        tensors["c"] = Tensor([3])
        tensors["a"] = Tensor([4])
        #expect(tensors.names == ["b", "a", "c"])
        #expect(tensors["a"]?.scalars == [4])
        tensors["b"] = nil
        #expect(tensors.names == ["a", "c"] && tensors["b"] == nil)
        #expect(tensors.map(\.name) == ["a", "c"])
        #expect(tensors.filter("c").names == ["c"])
        #expect(Set(tensors.dictionary.keys) == ["a", "c"])
    }
}
