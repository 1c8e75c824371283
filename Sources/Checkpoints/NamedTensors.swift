import Engine

/// Tensors by name, in insertion order (a PyTorch `state_dict`): lookups by name, iteration in
/// the order tensors were added, which is the order files are written in.
///
///     var tensors = NamedTensors()
///     tensors["conv_in.weight"] = weight          // appends
///     tensors["conv_in.weight"] = other           // replaces in place
///     for (name, tensor) in tensors { ... }
public struct NamedTensors: RandomAccessCollection {
    public typealias Element = (name: String, tensor: Tensor)

    /// The names, in order.
    public private(set) var names: [String] = []
    private var byName: [String: Tensor] = [:]

    public init() {}

    /// Tensors from pairs; a name given twice is an error.
    public init(_ pairs: [(name: String, tensor: Tensor)]) throws {
        for (name, tensor) in pairs {
            guard byName[name] == nil else { throw CheckpointError.invalidName(name: name, reason: "the name is given twice") }
            self[name] = tensor
        }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { names.count }
    public subscript(position: Int) -> Element { (names[position], byName[names[position]]!) }

    /// The tensor called `name`; setting appends a new name, replaces an existing one in place,
    /// and removes it when set to nil.
    public subscript(name: String) -> Tensor? {
        get { byName[name] }
        set {
            if let newValue {
                if byName.updateValue(newValue, forKey: name) == nil { names.append(name) }
            } else if byName.removeValue(forKey: name) != nil {
                names.removeAll { $0 == name }
            }
        }
    }

    /// The tensors whose name matches `glob`, in order.
    public func filter(_ glob: NameGlob) -> NamedTensors {
        var selected = NamedTensors()
        for name in names where glob.matches(name) { selected[name] = byName[name] }
        return selected
    }

    /// A plain dictionary (what `Module.load` takes).
    public var dictionary: [String: Tensor] { byName }
}
