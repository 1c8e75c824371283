/// A scope of variables: the globals, a function call's parameters and locals, a block's `let`s.
/// Functions keep the environment they were defined in (closures).
public final class Environment {
    public let parent: Environment?
    private var values: [String: Value] = [:]

    public init(parent: Environment? = nil) { self.parent = parent }

    /// `let name = value`: a new variable in this scope (replacing one of the same name here).
    public func define(_ name: String, _ value: Value) { values[name] = value }

    /// The variable's value in this scope or an enclosing one.
    public func lookup(_ name: String) -> Value? {
        var scope: Environment? = self
        while let s = scope {
            if let v = s.values[name] { return v }
            scope = s.parent
        }
        return nil
    }

    /// `name = value`: changes the nearest existing variable; false if there is none.
    public func assign(_ name: String, _ value: Value) -> Bool {
        var scope: Environment? = self
        while let s = scope {
            if s.values[name] != nil { s.values[name] = value; return true }
            scope = s.parent
        }
        return false
    }

    /// The names defined in this scope, sorted.
    public var names: [String] { values.keys.sorted() }
}
