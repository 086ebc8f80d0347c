internal import COpus

/// Decodes Opus packets into 20 ms frames of 48 kHz stereo PCM, and fills in frames
/// that never arrived — from the next packet's in-band FEC when it is there, otherwise
/// by packet-loss concealment.
///
/// Every method returns exactly one frame (960 × 2 interleaved samples), so the
/// playout side keeps time whatever the network did.
///
/// Not `Sendable`: libopus decoder state is mutable and unsynchronised.
public final class OpusDecoder {
    private let state: OpaquePointer

    public init() throws {
        var error: Int32 = 0
        guard let st = opus_decoder_create(Int32(AudioFormat.sampleRate), Int32(AudioFormat.channels), &error),
              error == OPUS_OK else {
            throw OpusError.createFailed(code: error, message: OpusError.message(error))
        }
        state = st
    }

    deinit { opus_decoder_destroy(state) }

    /// Decodes one received packet. A packet that is not exactly 20 ms, or is corrupt,
    /// throws (it came from the network and is not trusted).
    public func decode(_ packet: [UInt8]) throws -> [Int16] {
        var pcm: [Int16] = []
        try decode(packet, into: &pcm)
        return pcm
    }

    /// Like `decode(_:)`, writing into a reused buffer.
    public func decode(_ packet: [UInt8], into pcm: inout [Int16]) throws {
        guard !packet.isEmpty else { throw OpusError.decodeFailed(code: OPUS_INVALID_PACKET, message: OpusError.message(OPUS_INVALID_PACKET)) }
        try checkDuration(packet)
        try run(packet, fec: false, into: &pcm)
    }

    /// Rebuilds the frame *before* `nextPacket` (which was lost) from the FEC data inside
    /// `nextPacket`. Call `decode(nextPacket)` afterwards for the next frame itself.
    /// If `nextPacket` carries no FEC, libopus falls back to concealment.
    public func decodeFEC(_ nextPacket: [UInt8]) throws -> [Int16] {
        var pcm: [Int16] = []
        try decodeFEC(nextPacket, into: &pcm)
        return pcm
    }

    /// Like `decodeFEC(_:)`, writing into a reused buffer.
    public func decodeFEC(_ nextPacket: [UInt8], into pcm: inout [Int16]) throws {
        guard !nextPacket.isEmpty else { try conceal(into: &pcm); return }
        try run(nextPacket, fec: true, into: &pcm)
    }

    /// Packet-loss concealment: invents a plausible frame for one that is missing and
    /// whose successor is not here either.
    public func conceal() throws -> [Int16] {
        var pcm: [Int16] = []
        try conceal(into: &pcm)
        return pcm
    }

    /// Like `conceal()`, writing into a reused buffer.
    public func conceal(into pcm: inout [Int16]) throws {
        Self.prepare(&pcm)
        let n = pcm.withUnsafeMutableBufferPointer { out in
            opus_decode(state, nil, 0, out.baseAddress!, Int32(AudioFormat.frameLength), 0)
        }
        try Self.check(n)
    }

    /// Clears the decoder's history (e.g. after a long gap or a stream switch).
    public func reset() throws {
        let code = canopy_opus_decoder_reset(state)
        if code != OPUS_OK { throw OpusError.controlFailed(request: "reset", code: code, message: OpusError.message(code)) }
    }

    private func checkDuration(_ packet: [UInt8]) throws {
        let samples = packet.withUnsafeBufferPointer { p in
            opus_packet_get_nb_samples(p.baseAddress!, Int32(p.count), Int32(AudioFormat.sampleRate))
        }
        if samples < 0 { throw OpusError.decodeFailed(code: samples, message: OpusError.message(samples)) }
        if Int(samples) != AudioFormat.frameLength {
            throw OpusError.wrongFrameLength(expected: AudioFormat.frameLength, actual: Int(samples))
        }
    }

    private func run(_ packet: [UInt8], fec: Bool, into pcm: inout [Int16]) throws {
        Self.prepare(&pcm)
        let n = packet.withUnsafeBufferPointer { p in
            pcm.withUnsafeMutableBufferPointer { out in
                opus_decode(state, p.baseAddress, Int32(p.count), out.baseAddress!,
                            Int32(AudioFormat.frameLength), fec ? 1 : 0)
            }
        }
        try Self.check(n)
    }

    /// Makes `pcm` exactly one frame long so libopus can decode straight into it.
    private static func prepare(_ pcm: inout [Int16]) {
        if pcm.count != AudioFormat.samplesPerFrame {
            pcm = [Int16](repeating: 0, count: AudioFormat.samplesPerFrame)
        }
    }

    private static func check(_ n: Int32) throws {
        guard n >= 0 else { throw OpusError.decodeFailed(code: n, message: OpusError.message(n)) }
        guard Int(n) == AudioFormat.frameLength else {
            throw OpusError.wrongFrameLength(expected: AudioFormat.frameLength, actual: Int(n))
        }
    }
}

@available(*, unavailable, message: "libopus state is not thread-safe; keep the decoder on one task")
extension OpusDecoder: Sendable {}
