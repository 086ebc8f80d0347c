import Foundation

/// Reads raw PCM — signed 16-bit little-endian, 48 kHz, stereo interleaved — from a file
/// handle, normally stdin, so `ffmpeg … -f s16le -ar 48000 -ac 2 - | canopy source
/// --input -` works. There is no header, so the format cannot be checked: it is the
/// contract of `--input -`.
///
/// Not `Sendable`: it owns a read position.
public final class RawPCMReader: AudioSource {
    private let fileHandle: FileHandle
    private let name: String
    private var bytes: [UInt8]
    private var finished = false

    /// - Parameters:
    ///   - fileHandle: where to read from (default: standard input).
    ///   - name: how errors name the input (default "stdin").
    public init(fileHandle: FileHandle = .standardInput, name: String = "stdin") {
        self.fileHandle = fileHandle
        self.name = name
        bytes = [UInt8](repeating: 0, count: AudioFormat.samplesPerFrame * 2)
    }

    public func nextFrame() throws -> [Int16]? {
        if finished { return nil }
        let want = bytes.count
        var filled = 0
        let fd = fileHandle.fileDescriptor
        while filled < want {
            let n = bytes.withUnsafeMutableBytes { buf in
                read(fd, buf.baseAddress! + filled, want - filled)
            }
            if n > 0 {
                filled += n
            } else if n == 0 {
                finished = true
                break
            } else if errno != EINTR {
                let reason = String(cString: strerror(errno))
                finished = true
                throw AudioError.readFailed(path: name, reason: reason)
            }
        }
        let samples = filled / 2
        guard samples > 0 else { return nil }
        var frame = [Int16](repeating: 0, count: AudioFormat.samplesPerFrame)
        frame.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBytes { raw in
                for i in 0..<samples {
                    out[i] = Int16(bitPattern: UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)
                }
            }
        }
        return frame
    }
}
