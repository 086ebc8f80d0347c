internal import COpus

/// Encodes 20 ms frames of 48 kHz stereo PCM into Opus packets.
///
/// Defaults are chosen for live streaming over a lossy overlay: 64 kbit/s, music
/// signal, in-band FEC on and an expected loss of 5 % (so the encoder actually spends
/// bits on FEC that a listener can use to rebuild a lost frame from the next packet).
///
/// Not `Sendable`: libopus encoder state is mutable and unsynchronised. Keep one encoder
/// on one task or event loop.
public final class OpusEncoder {
    private let state: OpaquePointer
    /// Scratch output reused by every `encode` call (4000 bytes is libopus's recommended
    /// maximum packet size).
    private var scratch: [UInt8]

    /// The current target bitrate in bit/s.
    public private(set) var bitrate: Int

    /// Samples per channel (at 48 kHz) that the decoder output lags the input by.
    /// An Ogg Opus file carries it as its pre-skip; comparisons must shift by it.
    public let preSkip: Int

    /// - Parameters:
    ///   - bitrate: target bitrate in bit/s (default 64 kbit/s).
    ///   - inbandFEC: embed a low-rate copy of each frame in the next packet.
    ///   - expectedLossPercent: tells the encoder how much loss to prepare FEC for.
    ///   - complexity: 0–10; 10 is best quality and still cheap at 64 kbit/s.
    public init(bitrate: Int = 64_000, inbandFEC: Bool = true, expectedLossPercent: Int = 5,
                complexity: Int = 10) throws {
        var error: Int32 = 0
        guard let st = opus_encoder_create(Int32(AudioFormat.sampleRate), Int32(AudioFormat.channels),
                                           OPUS_APPLICATION_AUDIO, &error), error == OPUS_OK else {
            throw OpusError.createFailed(code: error, message: OpusError.message(error))
        }
        state = st
        scratch = [UInt8](repeating: 0, count: 4000)
        self.bitrate = bitrate
        do {
            try Self.check("set bitrate", canopy_opus_set_bitrate(st, Int32(clamping: bitrate)))
            try Self.check("set inband FEC", canopy_opus_set_inband_fec(st, inbandFEC ? 1 : 0))
            try Self.check("set packet loss", canopy_opus_set_packet_loss_perc(st, Int32(clamping: expectedLossPercent)))
            try Self.check("set complexity", canopy_opus_set_complexity(st, Int32(clamping: complexity)))
            try Self.check("set signal", canopy_opus_set_signal_music(st))
            var lookahead: Int32 = 0
            try Self.check("get lookahead", canopy_opus_get_lookahead(st, &lookahead))
            preSkip = Int(lookahead)
        } catch {
            opus_encoder_destroy(st)
            throw error
        }
    }

    deinit { opus_encoder_destroy(state) }

    /// Changes the target bitrate (bit/s) between frames.
    public func setBitrate(_ bitsPerSecond: Int) throws {
        try Self.check("set bitrate", canopy_opus_set_bitrate(state, Int32(clamping: bitsPerSecond)))
        bitrate = bitsPerSecond
    }

    /// Encodes one frame (960 × 2 interleaved samples) and returns the packet.
    public func encode(_ pcm: [Int16]) throws -> [UInt8] {
        var packet: [UInt8] = []
        try encode(pcm, into: &packet)
        return packet
    }

    /// Encodes one frame into `packet`, replacing its contents. Reusing `packet` across
    /// calls avoids an allocation per frame.
    public func encode(_ pcm: [Int16], into packet: inout [UInt8]) throws {
        guard pcm.count == AudioFormat.samplesPerFrame else {
            throw OpusError.wrongFrameLength(expected: AudioFormat.samplesPerFrame, actual: pcm.count)
        }
        let capacity = Int32(scratch.count)
        let n = pcm.withUnsafeBufferPointer { input in
            scratch.withUnsafeMutableBufferPointer { out in
                opus_encode(state, input.baseAddress!, Int32(AudioFormat.frameLength), out.baseAddress!, capacity)
            }
        }
        guard n > 0 else { throw OpusError.encodeFailed(code: n, message: OpusError.message(n)) }
        packet.removeAll(keepingCapacity: true)
        packet.append(contentsOf: scratch[0..<Int(n)])
    }

    /// Clears the encoder's history, as if newly created.
    public func reset() throws {
        try Self.check("reset", canopy_opus_encoder_reset(state))
    }

    private static func check(_ request: String, _ code: Int32) throws {
        if code != OPUS_OK {
            throw OpusError.controlFailed(request: request, code: code, message: OpusError.message(code))
        }
    }
}

@available(*, unavailable, message: "libopus state is not thread-safe; keep the encoder on one task")
extension OpusEncoder: Sendable {}
