import Foundation
internal import CSndfile

/// Reads WAV, FLAC or AIFF (anything libsndfile opens) as Canopy frames.
///
/// 48 kHz files are read straight as Int16; other rates go through `Resampler` in
/// float so a 44.1 kHz CD rip plays at the right pitch and speed. Mono is duplicated to
/// both channels; more than two channels is refused rather than guessed at.
///
/// Not `Sendable`: it owns a libsndfile handle and a read position.
public final class AudioFileReader: AudioSource {
    /// The file being read.
    public let path: String
    /// The file's own sample rate (before conversion to 48 kHz).
    public let fileSampleRate: Int
    /// The file's channel count (1 or 2).
    public let fileChannels: Int
    /// Frames in the file at its own rate (libsndfile's count; may be 0 if unknown).
    public let fileFrames: Int

    private let handle: OpaquePointer
    private var resampler: Resampler?
    private var shortBuffer: [Int16]
    private var floatBuffer: [Float]
    private var pending: [Float] = []      // resampled, in file channels
    private var pendingIndex = 0           // first unread sample in `pending`
    private var inputEnded = false
    private var finished = false

    /// Opens `path`. Throws `AudioError` with a one-line message naming the path when it
    /// is missing, unreadable, not audio, or has more than two channels.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AudioError.cannotOpenInput(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw AudioError.cannotOpenInput(path: path, reason: "it is a directory")
        }
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = sf_strerror(nil).map { String(cString: $0) } ?? "unrecognised format"
            throw AudioError.cannotOpenInput(path: path, reason: reason)
        }
        guard info.channels == 1 || info.channels == 2 else {
            sf_close(handle)
            throw AudioError.unsupportedChannelCount(path: path, channels: Int(info.channels))
        }
        guard info.samplerate > 0 else {
            sf_close(handle)
            throw AudioError.invalidSampleRate(path: path, rate: Int(info.samplerate))
        }
        self.handle = handle
        fileSampleRate = Int(info.samplerate)
        fileChannels = Int(info.channels)
        fileFrames = Int(info.frames)
        shortBuffer = [Int16](repeating: 0, count: AudioFormat.frameLength * fileChannels)
        if fileSampleRate != AudioFormat.sampleRate {
            resampler = Resampler(inputRate: fileSampleRate, outputRate: AudioFormat.sampleRate, channels: fileChannels)
            floatBuffer = [Float](repeating: 0, count: 4096 * fileChannels)
        } else {
            floatBuffer = []
        }
    }

    deinit { sf_close(handle) }

    public func nextFrame() throws -> [Int16]? {
        if finished { return nil }
        return resampler == nil ? try nextDirect() : try nextResampled()
    }

    /// 48 kHz: libsndfile converts whatever the file holds to Int16 for us.
    private func nextDirect() throws -> [Int16]? {
        let want = AudioFormat.frameLength
        let got = shortBuffer.withUnsafeMutableBufferPointer { buf in
            Int(sf_readf_short(handle, buf.baseAddress, sf_count_t(want)))
        }
        if got < want { try checkError() }
        guard got > 0 else { finished = true; return nil }
        if got < want { finished = true }
        var frame = [Int16](repeating: 0, count: AudioFormat.samplesPerFrame)
        frame.withUnsafeMutableBufferPointer { out in
            shortBuffer.withUnsafeBufferPointer { src in
                if fileChannels == 2 {
                    out.baseAddress!.update(from: src.baseAddress!, count: got * 2)
                } else {
                    for i in 0..<got {
                        out[2 * i] = src[i]
                        out[2 * i + 1] = src[i]
                    }
                }
            }
        }
        return frame
    }

    /// Other rates: read float, convert to 48 kHz, cut into frames.
    private func nextResampled() throws -> [Int16]? {
        let channels = fileChannels
        let wantSamples = AudioFormat.frameLength * channels
        while pending.count - pendingIndex < wantSamples && !inputEnded {
            try refill()
        }
        let available = (pending.count - pendingIndex) / channels
        guard available > 0 else { finished = true; return nil }
        let frames = min(available, AudioFormat.frameLength)
        var frame = [Int16](repeating: 0, count: AudioFormat.samplesPerFrame)
        frame.withUnsafeMutableBufferPointer { out in
            pending.withUnsafeBufferPointer { src in
                var s = pendingIndex
                for i in 0..<frames {
                    let left = src[s].clippedInt16
                    let right = channels == 2 ? src[s + 1].clippedInt16 : left
                    out[2 * i] = left
                    out[2 * i + 1] = right
                    s += channels
                }
            }
        }
        pendingIndex += frames * channels
        if frames < AudioFormat.frameLength { finished = true }
        return frame
    }

    private func refill() throws {
        // Compact consumed samples so `pending` stays small.
        if pendingIndex > 0 {
            pending.removeFirst(pendingIndex)
            pendingIndex = 0
        }
        let capacityFrames = floatBuffer.count / fileChannels
        let got = floatBuffer.withUnsafeMutableBufferPointer { buf in
            Int(sf_readf_float(handle, buf.baseAddress, sf_count_t(capacityFrames)))
        }
        if got < capacityFrames { try checkError() }
        if got > 0 {
            if got == capacityFrames {
                resampler!.process(floatBuffer, into: &pending)
            } else {
                resampler!.process(Array(floatBuffer[0..<(got * fileChannels)]), into: &pending)
            }
        }
        if got < capacityFrames {
            resampler!.flush(into: &pending)
            inputEnded = true
        }
    }

    private func checkError() throws {
        let code = sf_error(handle)
        if code != 0 {
            let reason = sf_strerror(handle).map { String(cString: $0) } ?? "error \(code)"
            throw AudioError.readFailed(path: path, reason: reason)
        }
    }
}
