/// Bit-level conversions between Float32 and the two 16-bit float formats checkpoints use.
///
/// - float16 (IEEE 754 binary16): 1 sign, 5 exponent, 10 mantissa bits; largest finite 65504.
/// - bfloat16 (Google Brain): the top 16 bits of a Float32; same range, 8 bits of precision.
enum HalfPrecision {
    /// The Float32 value of IEEE half bits (exact: every half is a float).
    @inline(__always) static func float(halfBits bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// The IEEE half bits nearest to `value` (round to nearest even).
    /// NOTE: values beyond ±65504 become ±infinity, and below ~6e-8 become zero; that is what
    /// storing float16 means, and why optimizer state is always kept in float32.
    @inline(__always) static func halfBits(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    /// The Float32 value of bfloat16 bits (exact: they are its top half).
    @inline(__always) static func float(bfloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Converts `count` little-endian 16-bit patterns to floats in `output`.
    static func decode(_ bits: UnsafePointer<UInt16>, count: Int, bfloat16: Bool, into output: UnsafeMutablePointer<Float>) {
        if bfloat16 {
            for i in 0..<count { output[i] = float(bfloat16Bits: UInt16(littleEndian: bits[i])) }
        } else {
            for i in 0..<count { output[i] = float(halfBits: UInt16(littleEndian: bits[i])) }
        }
    }
}
