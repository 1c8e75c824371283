import Checkpoints
import Engine
import Foundation

/// A node of a model tree, like `torch.nn.Module`: it owns named parameters and named child
/// modules, and a parameter's dotted path from the root is exactly its PyTorch `state_dict()` key
/// (`down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight`), so a checkpoint
/// converted from diffusers or transformers loads by name.
///
/// Subclasses register parameters and children in their initialiser, in PyTorch's order, with
/// `parameter(_:_:)` and `child(_:_:)`. Adapters (LoRA) are children marked `isAdapter`: they are
/// left out of `stateDict()` and of base-checkpoint loading unless asked for.
open class Module: CustomStringConvertible {
    public private(set) var ownParameters: [(name: String, tensor: Tensor)] = []
    public private(set) var children: [(name: String, module: Module)] = []
    /// Training mode (dropout active), as `nn.Module.training`; true on construction, as PyTorch.
    public private(set) var isTraining = true

    public init() {}

    /// Whether this subtree is an adapter (LoRA) rather than part of the base model.
    open var isAdapter: Bool { false }

    /// The class name shown in summaries (the diffusers / transformers class this mirrors).
    open var typeName: String { String(describing: type(of: self)) }

    /// Registers `tensor` as a trainable parameter under `name`.
    @discardableResult
    public func parameter(_ name: String, _ tensor: Tensor) -> Tensor {
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers `module` as a child under `name` (a list index like "0" for module lists).
    @discardableResult
    public func child<M: Module>(_ name: String, _ module: M) -> M {
        if let i = children.firstIndex(where: { $0.name == name }) { children[i] = (name, module) } else { children.append((name, module)) }
        return module
    }

    /// Removes the child called `name` (e.g. a merged LoRA adapter).
    public func removeChild(_ name: String) { children.removeAll { $0.name == name } }

    // MARK: - Traversal

    /// Every parameter below this module with its dotted name, in registration order.
    public func namedParameters(includeAdapters: Bool = true) -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        collect(prefix: "", includeAdapters: includeAdapters) { path, module in
            for (name, t) in module.ownParameters { out.append((path.isEmpty ? name : path + "." + name, t)) }
        }
        return out
    }

    /// Every module below (and including) this one with its dotted path ("" for this one).
    public func namedModules(includeAdapters: Bool = true) -> [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        collect(prefix: "", includeAdapters: includeAdapters) { out.append(($0, $1)) }
        return out
    }

    private func collect(prefix: String, includeAdapters: Bool, _ visit: (String, Module) -> Void) {
        visit(prefix, self)
        for (name, module) in children where includeAdapters || !module.isAdapter {
            module.collect(prefix: prefix.isEmpty ? name : prefix + "." + name, includeAdapters: includeAdapters, visit)
        }
    }

    /// The base model's tensors by name (no adapters), as `state_dict()`.
    public func stateDict() -> [(name: String, tensor: Tensor)] { namedParameters(includeAdapters: false) }

    /// Parameters whose name matches `pattern` (a `NameGlob`; a match of a module path selects
    /// every parameter under it).
    public func parameters(matching pattern: String) -> [(name: String, tensor: Tensor)] {
        let glob = NameGlob(pattern)
        return namedParameters().filter { glob.matches($0.name, prefix: true) }
    }

    /// Modules whose dotted path matches `pattern` exactly.
    public func modules(matching pattern: String) -> [(name: String, module: Module)] {
        let glob = NameGlob(pattern)
        return namedModules().filter { !$0.name.isEmpty && glob.matches($0.name) }
    }

    /// The module at a dotted path, if any.
    public func module(at path: String) -> Module? {
        namedModules().first { $0.name == path }?.module
    }

    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }
    public var trainableParameterCount: Int { namedParameters().filter { $0.tensor.requiresGrad }.reduce(0) { $0 + $1.tensor.count } }

    // MARK: - Modes

    /// Stops (or restarts) gradients for the parameters matching `pattern` (all if nil).
    /// Returns how many tensors changed; a pattern that matches nothing is an error.
    @discardableResult
    public func freeze(_ pattern: String? = nil, _ frozen: Bool = true) throws -> Int {
        let selected = pattern.map { parameters(matching: $0) } ?? namedParameters()
        if let pattern, selected.isEmpty { throw ModelError.noMatch(pattern: pattern, what: "parameter") }
        for (_, t) in selected { t.requiresGrad = !frozen }
        return selected.count
    }

    @discardableResult
    public func unfreeze(_ pattern: String? = nil) throws -> Int { try freeze(pattern, false) }

    /// Sets training mode on this module and every module below it.
    public func train(_ on: Bool = true) { for (_, m) in namedModules() { m.isTraining = on } }
    public func eval() { train(false) }

    // MARK: - Loading

    /// Copies `tensors` into the parameters of the same name. Every name and shape is checked
    /// first and all problems are reported together; nothing is copied unless all fit.
    /// With `only`, just the parameters matching that glob are loaded (a partial load: missing
    /// ones elsewhere are fine); with `strict: false`, missing and unexpected names are ignored.
    @discardableResult
    public func load(_ tensors: [String: Tensor], only: String? = nil, strict: Bool = true,
                     includeAdapters: Bool = false) throws -> Int {
        let glob = only.map { NameGlob($0) }
        let own = namedParameters(includeAdapters: includeAdapters).filter { glob?.matches($0.name, prefix: true) ?? true }
        let ownNames = Set(own.map(\.name))
        let missing = own.map(\.name).filter { tensors[$0] == nil }
        let unexpected = tensors.keys.filter { !ownNames.contains($0) && (glob?.matches($0, prefix: true) ?? true) }.sorted()
        let mismatched = own.compactMap { p -> (name: String, expected: [Int], actual: [Int])? in
            guard let t = tensors[p.name], t.shape != p.tensor.shape else { return nil }
            return (p.name, p.tensor.shape, t.shape)
        }
        if !mismatched.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw ModelError.loadMismatch(missing: strict ? missing : [], unexpected: strict ? unexpected : [], mismatched: mismatched)
        }
        if let only, own.isEmpty { throw ModelError.noMatch(pattern: only, what: "parameter") }
        var loaded = 0
        for p in own {
            if let t = tensors[p.name] { try p.tensor.assign(t); loaded += 1 }
        }
        return loaded
    }

    // MARK: - Description

    public var description: String {
        "\(typeName) (\(formatCount(parameterCount)) parameters)"
    }

    /// One line per module down to `depth` levels: path, type, parameters under it; then the total.
    public func summary(depth: Int = 2) -> String {
        var lines: [String] = []
        for (path, module) in namedModules() {
            let level = path.isEmpty ? 0 : path.split(separator: ".").count
            guard level <= depth else { continue }
            let indent = String(repeating: "  ", count: level)
            let name = path.isEmpty ? "(root)" : String(path.split(separator: ".").last!)
            lines.append("\(indent)\(name): \(module.typeName)  \(formatCount(module.parameterCount))")
        }
        lines.append("total: \(parameterCount) parameters (\(trainableParameterCount) trainable)")
        return lines.joined(separator: "\n")
    }
}

/// 1234567 → "1.23M".
func formatCount(_ n: Int) -> String {
    switch n {
    case 1_000_000_000...: return String(format: "%.2fB", Double(n) / 1e9)
    case 1_000_000...: return String(format: "%.2fM", Double(n) / 1e6)
    case 1_000...: return String(format: "%.1fK", Double(n) / 1e3)
    default: return "\(n)"
    }
}

/// A list of modules registered as "0", "1", … (`nn.ModuleList`).
public final class ModuleList<Element: Module>: Module {
    public private(set) var items: [Element] = []

    public init(_ items: [Element] = []) {
        super.init()
        for item in items { append(item) }
    }

    public func append(_ item: Element) {
        child(String(items.count), item)
        items.append(item)
    }

    public var count: Int { items.count }
    public subscript(i: Int) -> Element { items[i] }
    public override var typeName: String { "ModuleList" }
}
