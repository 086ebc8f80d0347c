import Foundation

/// Writes raw PCM — s16le, 48 kHz, stereo interleaved, no header — to a file handle,
/// normally stdout, so `canopy listen --output - | aplay -f dat` (or ffmpeg, sox) works.
/// Each `write` goes straight to the descriptor: a pipe reader hears it at once.
///
/// Not `Sendable`: it owns a conversion buffer.
public final class RawPCMWriter: AudioSink {
    private let fileHandle: FileHandle
    private let name: String
    private var bytes: [UInt8] = []

    /// - Parameters:
    ///   - fileHandle: destination (default: standard output).
    ///   - name: how errors name the output (default "stdout").
    public init(fileHandle: FileHandle = .standardOutput, name: String = "stdout") {
        self.fileHandle = fileHandle
        self.name = name
    }

    public func write(pcm: [Int16]) throws {
        #if _endian(little)
        try pcm.withUnsafeBytes { try FileDescriptorIO.writeAll(fileHandle.fileDescriptor, $0, name: name) }
        #else
        bytes.removeAll(keepingCapacity: true)
        PCMBytes.appendLittleEndian(pcm, to: &bytes)
        try bytes.withUnsafeBytes { try FileDescriptorIO.writeAll(fileHandle.fileDescriptor, $0, name: name) }
        #endif
    }

    /// Nothing is buffered; the descriptor stays open (it is usually stdout).
    public func finish() throws {}
}
