/// Measures how alike two recordings are, allowing for a time shift between them.
///
/// Why: every audio check in Canopy (codec tests, end-to-end runs, `canopy` self-tests)
/// asks "is what came out the same audio as what went in?" Codec delay (pre-skip),
/// resampler alignment and network buffering shift the output by an unknown amount, so
/// the answer is the best normalised cross-correlation over a window of lags.
public enum Correlation {
    /// The best alignment found.
    public struct Match: Sendable, Equatable, CustomStringConvertible {
        /// Normalised cross-correlation in [-1, 1]; 1 means identical up to gain.
        public let coefficient: Double
        /// Frames by which `signal` lags `reference`: `signal[i + lag] ≈ reference[i]`.
        public let lag: Int

        public init(coefficient: Double, lag: Int) {
            self.coefficient = coefficient
            self.lag = lag
        }

        public var description: String { "correlation \(coefficient) at lag \(lag)" }
    }

    /// Normalised correlation of `reference` and `signal` with `signal` shifted by `lag`
    /// frames, over their overlap. Returns 0 when either side is silent there.
    public static func coefficient(reference: [Int16], signal: [Int16], lag: Int = 0, channels: Int = 2) -> Double {
        reference.withUnsafeBufferPointer { r in
            signal.withUnsafeBufferPointer { s in
                coefficient(r, s, lag: lag, channels: channels)
            }
        }
    }

    /// Searches lags in `-maxLag...maxLag` (frames) for the best correlation.
    ///
    /// Cost: a coarse search on a 4× decimated mono mix, then an exact search
    /// ±8 frames around the winner, so a ±1 s window over a minute of audio stays cheap.
    public static func best(reference: [Int16], signal: [Int16], maxLag: Int = 4_800, channels: Int = 2) -> Match {
        precondition(channels > 0)
        let factor = 4
        let r = decimatedMono(reference, channels: channels, factor: factor)
        let s = decimatedMono(signal, channels: channels, factor: factor)
        var coarseLag = 0
        var coarseBest = -Double.infinity
        r.withUnsafeBufferPointer { rb in
            s.withUnsafeBufferPointer { sb in
                let reach = maxLag / factor
                for lag in -reach...reach {
                    let c = floatCoefficient(rb, sb, lag: lag)
                    if c > coarseBest {
                        coarseBest = c
                        coarseLag = lag * factor
                    }
                }
            }
        }
        var best = Match(coefficient: -Double.infinity, lag: 0)
        reference.withUnsafeBufferPointer { rb in
            signal.withUnsafeBufferPointer { sb in
                let low = max(-maxLag, coarseLag - 2 * factor)
                let high = min(maxLag, coarseLag + 2 * factor)
                for lag in low...high {
                    let c = coefficient(rb, sb, lag: lag, channels: channels)
                    if c > best.coefficient { best = Match(coefficient: c, lag: lag) }
                }
            }
        }
        return best
    }

    private static func coefficient(_ r: UnsafeBufferPointer<Int16>, _ s: UnsafeBufferPointer<Int16>,
                                    lag: Int, channels: Int) -> Double {
        let rFrames = r.count / channels
        let sFrames = s.count / channels
        let start = max(0, -lag)
        let end = min(rFrames, sFrames - lag)
        guard end > start else { return 0 }
        var rr = 0.0, ss = 0.0, rs = 0.0
        var i = start * channels
        var j = (start + lag) * channels
        let stop = end * channels
        while i < stop {
            let a = Double(r[i]), b = Double(s[j])
            rr += a * a
            ss += b * b
            rs += a * b
            i += 1
            j += 1
        }
        guard rr > 0 && ss > 0 else { return 0 }
        return rs / (rr * ss).squareRoot()
    }

    private static func floatCoefficient(_ r: UnsafeBufferPointer<Float>, _ s: UnsafeBufferPointer<Float>, lag: Int) -> Double {
        let start = max(0, -lag)
        let end = min(r.count, s.count - lag)
        guard end > start else { return 0 }
        var rr: Float = 0, ss: Float = 0, rs: Float = 0
        var i = start
        while i < end {
            let a = r[i], b = s[i + lag]
            rr += a * a
            ss += b * b
            rs += a * b
            i += 1
        }
        guard rr > 0 && ss > 0 else { return 0 }
        return Double(rs) / Double(rr * ss).squareRoot()
    }

    /// Mono mix averaged over blocks of `factor` frames (a crude low-pass), scaled to ±1.
    private static func decimatedMono(_ x: [Int16], channels: Int, factor: Int) -> [Float] {
        let frames = x.count / channels
        let n = frames / factor
        var out = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                var k = 0
                for o in 0..<n {
                    var sum: Float = 0
                    for _ in 0..<(factor * channels) {
                        sum += Float(xb[k])
                        k += 1
                    }
                    ob[o] = sum / Float(factor * channels * 32768)
                }
            }
        }
        return out
    }
}
