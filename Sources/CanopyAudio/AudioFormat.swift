/// The one PCM format Canopy moves around: 48 kHz, stereo, interleaved signed 16-bit,
/// cut into 20 ms frames. Fixing it everywhere means sources, the codec and sinks never
/// negotiate, and a frame is always one Opus packet.
public enum AudioFormat {
    /// Opus's native rate; every other rate is converted on input.
    public static let sampleRate = 48_000
    /// Stereo: mono input is duplicated, more than two channels is refused.
    public static let channels = 2
    /// 20 ms: the Opus default, a good trade between packet overhead and latency.
    public static let frameMilliseconds = 20
    /// Samples per channel in one 20 ms frame (960).
    public static let frameLength = sampleRate / 1000 * frameMilliseconds
    /// Interleaved samples in one frame (960 × 2 = 1920).
    public static let samplesPerFrame = frameLength * channels
    /// libopus's encoder lookahead at 48 kHz, used as the Ogg Opus pre-skip when the
    /// stream does not say otherwise.
    public static let defaultPreSkip = 312
}
