import Foundation

/// Picks an output sink from the `--output` argument, so the command line has one rule:
/// the extension names the format.
public enum AudioSinkFactory {
    /// Extensions `make(path:preSkip:)` understands (plus "-" for stdout).
    public static let supportedExtensions = ["wav", "opus", "ogg"]

    /// `-` → raw s16le on stdout; `.wav` → `WAVWriter`; `.opus`/`.ogg` → `OggOpusWriter`.
    /// Anything else throws `AudioError.unsupportedOutputFormat`, naming the choices.
    /// - Parameter preSkip: the stream's encoder lookahead, for the Ogg Opus header.
    public static func make(path: String, preSkip: Int = AudioFormat.defaultPreSkip) throws -> any AudioSink {
        if path == "-" { return RawPCMWriter() }
        switch (path as NSString).pathExtension.lowercased() {
        case "wav": return try WAVWriter(path: path)
        case "opus", "ogg": return try OggOpusWriter(path: path, preSkip: preSkip)
        default: throw AudioError.unsupportedOutputFormat(path: path)
        }
    }
}

/// Picks an input source from the `--input`/`--tone` arguments.
public enum AudioSourceFactory {
    /// `-` → raw s16le 48 kHz stereo from stdin; anything else → `AudioFileReader`.
    public static func make(input: String) throws -> any AudioSource {
        if input == "-" { return RawPCMReader() }
        return try AudioFileReader(path: input)
    }

    /// A generated signal: a sine at `toneHz`, or the test music when `toneHz` is nil.
    public static func make(toneHz: Double?, seconds: Double? = nil) -> any AudioSource {
        TestSignal(kind: toneHz.map { .tone(frequency: $0) } ?? .music, seconds: seconds)
    }
}
