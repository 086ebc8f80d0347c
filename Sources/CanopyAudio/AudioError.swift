import Foundation

/// Errors from reading and writing audio files and streams. Each one renders as a single
/// line that names the file and says what to do, because the command line prints it
/// as-is and exits.
public enum AudioError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The input file is missing or libsndfile cannot read it.
    case cannotOpenInput(path: String, reason: String)
    /// The input has a channel layout Canopy does not downmix.
    case unsupportedChannelCount(path: String, channels: Int)
    /// Reading samples failed part-way.
    case readFailed(path: String, reason: String)
    /// The output file cannot be created.
    case cannotCreateOutput(path: String, reason: String)
    /// Writing to an output failed (disk full, closed pipe, ...).
    case writeFailed(path: String, reason: String)
    /// The output path's extension names no supported format.
    case unsupportedOutputFormat(path: String)
    /// A PCM buffer handed to a sink or encoder did not hold whole stereo frames.
    case invalidSampleCount(expected: String, actual: Int)
    /// A sample rate that cannot be converted (zero or negative).
    case invalidSampleRate(path: String, rate: Int)
    /// An Ogg stream could not be assembled (libogg refused a packet).
    case muxFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpenInput(path, reason):
            return "cannot read audio file '\(path)': \(reason) — check the path and give a WAV, FLAC or AIFF file (or use --input - for raw s16le 48 kHz stereo)"
        case let .unsupportedChannelCount(path, channels):
            return "audio file '\(path)' has \(channels) channels; Canopy takes mono or stereo — downmix it first (e.g. ffmpeg -i IN -ac 2 OUT.wav)"
        case let .readFailed(path, reason):
            return "reading audio from '\(path)' failed: \(reason) — check that the file is complete and readable"
        case let .cannotCreateOutput(path, reason):
            return "cannot create output file '\(path)': \(reason) — check that the directory exists and is writable"
        case let .writeFailed(path, reason):
            return "writing audio to '\(path)' failed: \(reason) — check free disk space, permissions or the receiving pipe"
        case let .unsupportedOutputFormat(path):
            return "output '\(path)' has an unsupported extension — use .wav, .opus or .ogg, or - for raw s16le 48 kHz stereo on stdout"
        case let .invalidSampleCount(expected, actual):
            return "got \(actual) samples where \(expected) were expected — pass interleaved 48 kHz stereo Int16"
        case let .invalidSampleRate(path, rate):
            return "audio file '\(path)' declares an invalid sample rate \(rate) — re-export the file"
        case let .muxFailed(path, reason):
            return "writing Ogg Opus to '\(path)' failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
