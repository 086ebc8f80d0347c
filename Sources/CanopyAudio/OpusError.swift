internal import COpus

/// A failure reported by libopus, carrying libopus's own explanation
/// (`opus_strerror`) so a log line says what actually went wrong.
public enum OpusError: Error, Equatable, CustomStringConvertible {
    /// Creating an encoder or decoder failed.
    case createFailed(code: Int32, message: String)
    /// A control request (bitrate, FEC, ...) was refused.
    case controlFailed(request: String, code: Int32, message: String)
    /// `opus_encode` failed.
    case encodeFailed(code: Int32, message: String)
    /// `opus_decode` failed, typically on a corrupt or hostile packet.
    case decodeFailed(code: Int32, message: String)
    /// The PCM handed in, or a packet's duration, is not one 20 ms stereo frame.
    case wrongFrameLength(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .createFailed(code, message): return "opus: cannot create codec: \(message) (\(code))"
        case let .controlFailed(request, code, message): return "opus: \(request) failed: \(message) (\(code))"
        case let .encodeFailed(code, message): return "opus: encode failed: \(message) (\(code))"
        case let .decodeFailed(code, message): return "opus: decode failed: \(message) (\(code))"
        case let .wrongFrameLength(expected, actual):
            return "opus: expected \(expected) samples, got \(actual)"
        }
    }

    /// libopus's text for an error code.
    static func message(_ code: Int32) -> String {
        guard let text = opus_strerror(code) else { return "unknown error" }
        return String(cString: text)
    }
}
