import Foundation

/// A deterministic, music-like signal for tests, demos and `--tone`.
///
/// Why not silence or one sine: a codec test on a single tone says little (Opus
/// codes it almost perfectly), and silence hides every bug. `.music` is a four-chord
/// progression (C – Am – F – G, one chord per second at 120 bpm) of four voices with
/// harmonics and plucked envelopes, a kick on every beat and a noise-burst hi-hat on
/// the off-beats, voices panned across the stereo field. Same parameters ⇒ same samples.
public struct TestSignal: AudioSource, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The chord progression with percussion.
        case music
        /// A pure sine at `frequency` Hz on both channels.
        case tone(frequency: Double)
    }

    public let kind: Kind
    /// Total length; `nil` means endless.
    public let seconds: Double?
    /// Peak level of a tone (0–1); the music is mixed to peak around this level too.
    public let amplitude: Double

    private var sampleIndex = 0
    private var noiseState: UInt32 = 0x1234_5678
    private let totalFrames: Int?

    public init(kind: Kind = .music, seconds: Double? = nil, amplitude: Double = 0.5) {
        self.kind = kind
        self.seconds = seconds
        self.amplitude = amplitude
        totalFrames = seconds.map { Int(($0 * Double(AudioFormat.sampleRate)).rounded()) }
    }

    /// Chord voicings in Hz: C major, A minor, F major, G major.
    private static let chords: [[Double]] = [
        [130.81, 329.63, 392.00, 523.25],
        [110.00, 261.63, 329.63, 440.00],
        [87.31, 220.00, 261.63, 349.23],
        [98.00, 246.94, 293.66, 392.00],
    ]
    /// Left-channel gain per voice (right is 1 − left): spreads the chord in stereo.
    private static let pans: [Double] = [0.5, 0.75, 0.3, 0.6]

    public mutating func nextFrame() throws -> [Int16]? {
        var count = AudioFormat.frameLength
        if let total = totalFrames {
            if sampleIndex >= total { return nil }
            count = min(count, total - sampleIndex)
        }
        var frame = [Int16](repeating: 0, count: AudioFormat.samplesPerFrame)
        frame.withUnsafeMutableBufferPointer { out in
            for i in 0..<count {
                let (l, r) = sample(at: sampleIndex + i)
                out[2 * i] = Float(l).clippedInt16
                out[2 * i + 1] = Float(r).clippedInt16
            }
        }
        sampleIndex += count
        return frame
    }

    private mutating func sample(at n: Int) -> (Double, Double) {
        let rate = Double(AudioFormat.sampleRate)
        let t = Double(n) / rate
        switch kind {
        case let .tone(frequency):
            let v = amplitude * sin(2 * Double.pi * frequency * t)
            return (v, v)
        case .music:
            let beatLength = AudioFormat.sampleRate / 2             // 120 bpm
            let beat = n / beatLength
            let inBeat = Double(n % beatLength) / rate             // seconds since the beat
            let chord = Self.chords[(beat / 2) % Self.chords.count]
            // Plucked envelope, re-struck every beat: 5 ms attack, exponential decay.
            let envelope = min(1, inBeat / 0.005) * exp(-inBeat * 3.0)
            var left = 0.0, right = 0.0
            for (v, f) in chord.enumerated() {
                let phase = 2 * Double.pi * f * t
                let tone = sin(phase) + 0.4 * sin(2 * phase) + 0.15 * sin(3 * phase)
                let value = 0.16 * envelope * tone
                left += value * Self.pans[v]
                right += value * (1 - Self.pans[v])
            }
            // Kick: a falling sine (110 → 45 Hz) with a fast decay, on every beat.
            let kickEnv = exp(-inBeat * 25)
            let kickPhase = 2 * Double.pi * (45 * inBeat + 65 * (1 - exp(-inBeat * 30)) / 30)
            let kick = 0.45 * kickEnv * sin(kickPhase)
            left += kick
            right += kick
            // Hi-hat: deterministic white noise burst on each off-beat.
            let half = beatLength / 2
            if (n % beatLength) >= half {
                let inHat = Double((n % beatLength) - half) / rate
                noiseState ^= noiseState << 13
                noiseState ^= noiseState >> 17
                noiseState ^= noiseState << 5
                let noise = Double(noiseState) / Double(UInt32.max) * 2 - 1
                let hat = 0.12 * exp(-inHat * 60) * noise
                left += 0.4 * hat
                right += 0.6 * hat
            }
            let gain = amplitude / 0.5
            return (left * gain, right * gain)
        }
    }
}
