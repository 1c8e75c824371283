/// A 64-bit checksum of bytes, word by word: each 8-byte word w updates the state by
/// h ← mix((h ⊕ w) · P), where P is odd and mix is an xorshift, so every step is a bijection of h.
/// Two inputs that differ in one word therefore always differ in the result: any damage confined
/// to one aligned 8-byte word (any number of flipped bits or bytes in it) is detected, and wider
/// damage is missed with probability about 2⁻⁶⁴. Not a cryptographic hash.
///
/// Snoopi stores it on every numeric dataset it writes (`HDF5Writer`, attribute
/// `snp_checksum`) and `HDF5File` checks it on every read.
public struct Checksum64 {
    private var state: UInt64 = 0x6a09_e667_f3bc_c908
    private var length: UInt64 = 0
    private static let prime: UInt64 = 0x9e37_79b9_7f4a_7c15

    public init() {}

    /// Adds `bytes`. Adding in pieces gives the same result as adding at once only when every
    /// piece but the last is a multiple of 8 bytes long.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = state
        let words = bytes.count / 8
        for i in 0..<words {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* Self.prime
            h ^= h >> 29
        }
        var tail: UInt64 = 0
        for i in stride(from: bytes.count - 1, through: words * 8, by: -1) { tail = (tail << 8) | UInt64(bytes[i]) }
        if bytes.count % 8 != 0 {
            h = (h ^ tail) &* Self.prime
            h ^= h >> 29
        }
        state = h
        length &+= UInt64(bytes.count)
    }

    /// The checksum of everything added (its length mixed in).
    public var value: UInt64 {
        var h = (state ^ length) &* Self.prime
        h ^= h >> 32
        return h
    }

    /// `value` as 16 hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The checksum of `count` elements at `pointer`.
    public static func of<T>(_ pointer: UnsafePointer<T>, count: Int) -> String {
        var sum = Checksum64()
        sum.add(UnsafeRawBufferPointer(start: pointer, count: count * MemoryLayout<T>.stride))
        return sum.hex
    }
}
