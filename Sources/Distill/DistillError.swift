/// What goes wrong in distillation, said so a user can fix it.
public enum DistillError: Error, CustomStringConvertible {
    case invalidGuidance(String)
    case invalidArgument(name: String, reason: String)

    public var description: String {
        switch self {
        case .invalidGuidance(let reason): return "guidance scale: \(reason)"
        case let .invalidArgument(name, reason): return "\(name): \(reason)"
        }
    }
}
