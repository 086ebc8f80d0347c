import Foundation

/// Writes 48 kHz stereo 16-bit PCM as a canonical 44-byte-header WAV file, streaming.
///
/// Why the periodic flush: a listener may be killed at any time. Every `flushInterval`
/// of audio (default one second) the buffered samples are written and the RIFF and
/// data sizes in the header are patched to match, so the file on disk is always a valid
/// WAV holding everything up to the last flush. `finish()` does a final flush.
///
/// Not `Sendable`: it owns a file descriptor and a buffer.
public final class WAVWriter: AudioSink {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let flushBytes: Int
    private var dataBytes = 0          // data bytes on disk

    /// - Parameters:
    ///   - path: the file to create (truncated if it exists).
    ///   - flushInterval: how much audio to buffer between flushes, in seconds.
    public init(path: String, flushInterval: Double = 1.0) throws {
        self.path = path
        fd = try FileDescriptorIO.create(path)
        let frames = max(1, Int(flushInterval * Double(AudioFormat.sampleRate)))
        flushBytes = frames * AudioFormat.channels * 2
        buffer.reserveCapacity(flushBytes + AudioFormat.samplesPerFrame * 2)
        do {
            try Self.header(dataBytes: 0).withUnsafeBytes { try FileDescriptorIO.writeAll(fd, $0, name: path) }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit {
        if fd >= 0 {
            try? flush()   // best effort: keep what was written if finish() was never called
            close(fd)
        }
    }

    public func write(pcm: [Int16]) throws {
        guard pcm.count % AudioFormat.channels == 0 else {
            throw AudioError.invalidSampleCount(expected: "whole stereo frames", actual: pcm.count)
        }
        precondition(fd >= 0, "WAVWriter used after finish()")
        PCMBytes.appendLittleEndian(pcm, to: &buffer)
        if buffer.count >= flushBytes { try flush() }
    }

    /// Writes buffered samples and patches the header sizes; the file is valid afterwards.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        let room = Int(UInt32.max) - 36 - dataBytes
        let count = min(buffer.count, room - room % 4)
        try buffer.withUnsafeBytes { try FileDescriptorIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<count]), name: path) }
        dataBytes += count
        buffer.removeAll(keepingCapacity: true)
        var sizes = [UInt8]()
        Self.appendLE32(&sizes, UInt32(36 + dataBytes))
        try sizes.withUnsafeBytes { try FileDescriptorIO.writeAll(fd, $0, at: 4, name: path) }
        sizes.removeAll()
        Self.appendLE32(&sizes, UInt32(dataBytes))
        try sizes.withUnsafeBytes { try FileDescriptorIO.writeAll(fd, $0, at: 40, name: path) }
    }

    public func finish() throws {
        guard fd >= 0 else { return }
        try flush()
        close(fd)
        fd = -1
    }

    /// The 44-byte RIFF/WAVE header for 48 kHz stereo s16.
    static func header(dataBytes: Int) -> [UInt8] {
        var h = [UInt8]()
        h.reserveCapacity(44)
        h.append(contentsOf: Array("RIFF".utf8))
        appendLE32(&h, UInt32(36 + dataBytes))
        h.append(contentsOf: Array("WAVEfmt ".utf8))
        appendLE32(&h, 16)                                   // fmt chunk size
        appendLE16(&h, 1)                                    // PCM
        appendLE16(&h, UInt16(AudioFormat.channels))
        appendLE32(&h, UInt32(AudioFormat.sampleRate))
        appendLE32(&h, UInt32(AudioFormat.sampleRate * AudioFormat.channels * 2)) // byte rate
        appendLE16(&h, UInt16(AudioFormat.channels * 2))    // block align
        appendLE16(&h, 16)                                   // bits per sample
        h.append(contentsOf: Array("data".utf8))
        appendLE32(&h, UInt32(dataBytes))
        return h
    }

    static func appendLE32(_ out: inout [UInt8], _ v: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    static func appendLE16(_ out: inout [UInt8], _ v: UInt16) {
        out.append(UInt8(truncatingIfNeeded: v))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
    }
}
