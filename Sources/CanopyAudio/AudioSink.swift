/// One 20 ms frame as the listener played it: always the PCM, plus the Opus packet it was
/// decoded from when the packet arrived. `packet == nil` marks a frame the listener had
/// to rebuild (FEC or concealment).
///
/// Why both: PCM sinks (WAV, stdout) store what was heard; the Ogg Opus sink stores the
/// received packets untouched (no re-encoding) and needs to know where one was lost.
public struct PlayoutFrame: Sendable, Equatable {
    /// 960 × 2 interleaved 48 kHz samples, as played.
    public var pcm: [Int16]
    /// The received packet, or `nil` if this frame was lost and rebuilt.
    public var packet: [UInt8]?

    public init(pcm: [Int16], packet: [UInt8]?) {
        self.pcm = pcm
        self.packet = packet
    }
}

/// Where played audio goes: a WAV file, an Ogg Opus file, or stdout.
///
/// Sinks are written to one frame at a time and must leave a valid file behind after
/// `finish()` — and, for files, after each periodic flush — because the process may be
/// stopped at any moment (SIGINT, `--seconds`).
public protocol AudioSink {
    /// Appends interleaved 48 kHz stereo PCM (an even number of samples).
    mutating func write(pcm: [Int16]) throws
    /// Appends one played frame. The default writes `frame.pcm`; the Ogg Opus sink
    /// muxes `frame.packet` instead.
    mutating func write(frame: PlayoutFrame) throws
    /// Writes everything still buffered and completes the file (sizes, end-of-stream).
    /// Writing after `finish()` is a programming error.
    mutating func finish() throws
}

extension AudioSink {
    public mutating func write(frame: PlayoutFrame) throws {
        try write(pcm: frame.pcm)
    }
}
