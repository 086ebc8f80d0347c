/// Anything that produces Canopy PCM: a file, stdin, a generated test signal.
///
/// One frame per call keeps the source side's loop trivial: read, encode, publish.
public protocol AudioSource {
    /// The next frame: exactly `AudioFormat.samplesPerFrame` (960 × 2) interleaved 48 kHz
    /// stereo samples, the last one padded with silence; `nil` once the source is done.
    mutating func nextFrame() throws -> [Int16]?
}

extension Float {
    /// Converts a sample in [-1, 1] to Int16 with rounding and clipping.
    @inline(__always)
    var clippedInt16: Int16 {
        let scaled = (self * 32767).rounded()
        if scaled >= 32767 { return 32767 }
        if scaled <= -32768 { return -32768 }
        return Int16(scaled)
    }
}
