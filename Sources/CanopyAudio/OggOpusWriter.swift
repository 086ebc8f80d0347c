import Foundation
internal import COgg
internal import COpus

/// Writes an Ogg Opus file (RFC 7845) from the Opus packets a listener received, as they
/// are — no decoding and re-encoding, so the file is bit-exact with the broadcast.
///
/// Layout: page 1 holds OpusHead (version 1, 2 channels, the stream's pre-skip, input
/// rate 48000, gain 0, mapping family 0); page 2 holds OpusTags (vendor "canopy"); audio
/// pages follow with granule positions counting 48 kHz samples. Pages are flushed at
/// least once per `flushInterval` of audio, so a killed process leaves a file that plays
/// up to the last flush; `finish()` marks the last packet end-of-stream.
///
/// **Lost frames.** Ogg Opus has no "gap" marker and a 0-byte packet is invalid, but
/// RFC 6716 §3.2.1 lets a frame have length 0, which decoders treat as lost. So a lost
/// frame is stored as a 1-byte packet: the previous packet's TOC byte (mode, bandwidth,
/// stereo flag, 20 ms) with frame-count code 0 and no frame data. Any player then runs
/// its own loss concealment for exactly those 20 ms, granule positions stay continuous
/// and nothing is re-encoded. (The live listener may have used FEC for that frame; a
/// player of the file conceals instead, which sounds the same or slightly worse.)
///
/// Not `Sendable`: it owns a file descriptor and libogg state.
public final class OggOpusWriter: AudioSink {
    public let path: String
    /// The pre-skip written in OpusHead, in 48 kHz samples.
    public let preSkip: Int

    private var fd: Int32
    private let stream: UnsafeMutablePointer<ogg_stream_state>
    private var pending: [UInt8]? = nil     // held back so `finish()` can flag it e_o_s
    private var pendingGranule: Int64 = 0
    private var granule: Int64 = 0          // samples in all packets handed in so far
    private var packetNumber: Int64 = 2
    private var lastFlushGranule: Int64 = 0
    private let flushSamples: Int64
    private var lastTOC: UInt8 = 0xFC       // CELT-only, fullband, 20 ms, stereo, code 0
    private var encoder: OpusEncoder?       // only for `write(pcm:)`
    private var pcmBuffer: [Int16] = []
    private var encoded: [UInt8] = []

    /// The vendor string in OpusTags.
    public static let vendor = "canopy"

    /// - Parameters:
    ///   - path: the file to create (truncated if it exists).
    ///   - preSkip: the encoder lookahead the stream announced (libopus: 312).
    ///   - serialNumber: the Ogg logical stream serial (random by default, as RFC 3533 asks).
    ///   - flushInterval: maximum audio between page flushes, in seconds.
    public init(path: String, preSkip: Int = AudioFormat.defaultPreSkip,
                serialNumber: Int32 = Int32.random(in: Int32.min...Int32.max),
                flushInterval: Double = 1.0) throws {
        self.path = path
        self.preSkip = max(0, min(preSkip, Int(UInt16.max)))
        flushSamples = Int64(max(1, flushInterval * Double(AudioFormat.sampleRate)))
        fd = try FileDescriptorIO.create(path)
        stream = .allocate(capacity: 1)
        stream.initialize(to: ogg_stream_state())
        guard ogg_stream_init(stream, serialNumber) == 0 else {
            close(fd)
            stream.deallocate()
            throw AudioError.muxFailed(path: path, reason: "ogg_stream_init failed")
        }
        do {
            try packetIn(Self.opusHead(preSkip: self.preSkip), granule: 0, number: 0, bos: true, eos: false)
            try flushPages()
            try packetIn(Self.opusTags(), granule: 0, number: 1, bos: false, eos: false)
            try flushPages()
        } catch {
            close(fd)
            fd = -1
            throw error
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        ogg_stream_clear(stream)
        stream.deallocate()
    }

    /// Appends one received Opus packet unchanged.
    public func write(packet: [UInt8]) throws {
        precondition(fd >= 0, "OggOpusWriter used after finish()")
        let samples = packet.isEmpty ? OPUS_INVALID_PACKET : packet.withUnsafeBufferPointer {
            opus_packet_get_nb_samples($0.baseAddress!, Int32($0.count), Int32(AudioFormat.sampleRate))
        }
        guard samples > 0 else {
            let code = samples == 0 ? OPUS_INVALID_PACKET : samples
            throw OpusError.decodeFailed(code: code, message: OpusError.message(code))
        }
        lastTOC = packet[0] & 0xFC
        try append(packet, samples: Int64(samples))
    }

    /// Records a lost frame of `samples` per channel (default 20 ms) as 1-byte
    /// TOC-only packets, so players conceal it and timing stays exact.
    public func writeLost(samples: Int = AudioFormat.frameLength) throws {
        precondition(fd >= 0, "OggOpusWriter used after finish()")
        var toc = lastTOC
        if Self.duration(ofTOC: toc) != AudioFormat.frameLength { toc = 0xFC }
        var left = samples
        while left > 0 {
            try append([toc], samples: Int64(AudioFormat.frameLength))
            left -= AudioFormat.frameLength
        }
    }

    /// Received frames are muxed as packets; lost ones become TOC-only packets.
    public func write(frame: PlayoutFrame) throws {
        if let packet = frame.packet {
            try write(packet: packet)
        } else {
            try writeLost(samples: max(AudioFormat.frameLength, frame.pcm.count / AudioFormat.channels))
        }
    }

    /// For PCM that was never Opus (e.g. a source saving its own input): encodes it with a
    /// private 64 kbit/s encoder. A listener should use `write(frame:)` instead.
    public func write(pcm: [Int16]) throws {
        guard pcm.count % AudioFormat.channels == 0 else {
            throw AudioError.invalidSampleCount(expected: "whole stereo frames", actual: pcm.count)
        }
        if encoder == nil { encoder = try OpusEncoder() }
        pcmBuffer.append(contentsOf: pcm)
        try encodeBuffered(final: false)
    }

    /// Writes the last packet flagged end-of-stream and closes the file.
    public func finish() throws {
        guard fd >= 0 else { return }
        try encodeBuffered(final: true)
        if let last = pending {
            pending = nil
            try packetIn(last, granule: pendingGranule, number: packetNumber, bos: false, eos: true)
        } else {
            // No audio at all: one silent 20 ms packet carries the end-of-stream flag.
            granule += Int64(AudioFormat.frameLength)
            try packetIn([0xFC], granule: granule, number: packetNumber, bos: false, eos: true)
        }
        try flushPages()
        close(fd)
        fd = -1
    }

    // MARK: - Internals

    private func encodeBuffered(final: Bool) throws {
        guard let encoder else { return }
        let frame = AudioFormat.samplesPerFrame
        if final && pcmBuffer.count % frame != 0 {
            pcmBuffer.append(contentsOf: repeatElement(0, count: frame - pcmBuffer.count % frame))
        }
        var start = 0
        while pcmBuffer.count - start >= frame {
            try encoder.encode(Array(pcmBuffer[start..<(start + frame)]), into: &encoded)
            try write(packet: encoded)
            start += frame
        }
        if start > 0 { pcmBuffer.removeFirst(start) }
    }

    private func append(_ packet: [UInt8], samples: Int64) throws {
        if let previous = pending {
            try packetIn(previous, granule: pendingGranule, number: packetNumber, bos: false, eos: false)
            packetNumber += 1
        }
        granule += samples
        pending = packet
        pendingGranule = granule
        if granule - lastFlushGranule >= flushSamples {
            try flushPages()
            lastFlushGranule = granule
        } else {
            try writeReadyPages()
        }
    }

    private func packetIn(_ data: [UInt8], granule: Int64, number: Int64, bos: Bool, eos: Bool) throws {
        var copy = data
        let result = copy.withUnsafeMutableBufferPointer { buf -> Int32 in
            var packet = ogg_packet()
            packet.packet = buf.baseAddress
            packet.bytes = buf.count
            packet.b_o_s = bos ? 1 : 0
            packet.e_o_s = eos ? 1 : 0
            packet.granulepos = granule
            packet.packetno = number
            return ogg_stream_packetin(stream, &packet)
        }
        if result != 0 { throw AudioError.muxFailed(path: path, reason: "libogg refused packet \(number)") }
    }

    /// Writes every page libogg has completed on its own (about 4 KB each).
    private func writeReadyPages() throws {
        var page = ogg_page()
        while ogg_stream_pageout(stream, &page) != 0 { try writePage(page) }
    }

    /// Forces all submitted packets out into pages and onto disk.
    private func flushPages() throws {
        var page = ogg_page()
        while ogg_stream_flush(stream, &page) != 0 { try writePage(page) }
    }

    private func writePage(_ page: ogg_page) throws {
        try FileDescriptorIO.writeAll(fd, UnsafeRawBufferPointer(start: page.header, count: page.header_len), name: path)
        try FileDescriptorIO.writeAll(fd, UnsafeRawBufferPointer(start: page.body, count: page.body_len), name: path)
    }

    private static func duration(ofTOC toc: UInt8) -> Int {
        var byte = toc
        return Int(opus_packet_get_nb_samples(&byte, 1, Int32(AudioFormat.sampleRate)))
    }

    /// RFC 7845 §5.1 identification header.
    static func opusHead(preSkip: Int) -> [UInt8] {
        var h = Array("OpusHead".utf8)
        h.append(1)                                           // version
        h.append(UInt8(AudioFormat.channels))
        WAVWriter.appendLE16(&h, UInt16(preSkip))
        WAVWriter.appendLE32(&h, UInt32(AudioFormat.sampleRate)) // original input rate
        WAVWriter.appendLE16(&h, 0)                           // output gain
        h.append(0)                                           // mapping family 0: mono/stereo
        return h
    }

    /// RFC 7845 §5.2 comment header: vendor string, no user comments.
    static func opusTags() -> [UInt8] {
        var t = Array("OpusTags".utf8)
        let vendor = Array(vendor.utf8)
        WAVWriter.appendLE32(&t, UInt32(vendor.count))
        t.append(contentsOf: vendor)
        WAVWriter.appendLE32(&t, 0)
        return t
    }
}
