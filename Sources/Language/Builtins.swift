/// The builtin domains this layer provides, in the order `help()` and Docs/language.md list
/// them. A domain is one file (`Builtins+Tensor.swift`); adding one is adding its file and
/// its line here.
public enum Builtins {
    public static let domains: [BuiltinDomain] = [
        .core,
        .tensors,
        .math,
        .autodiff,
        .models,
        .diffusion,
        .worlds,
        .data,
        .distill,
        .pictures,
        .files,
        .experiments,
    ]
}

extension Value {
    /// A Swift number as a `.snp` number.
    static func from(_ x: Float) -> Value { .number(Double(x)) }
    /// A list of numbers.
    static func numbers<S: Sequence>(_ xs: S) -> Value where S.Element: BinaryInteger { .list(xs.map { .number(Double($0)) }) }
}
