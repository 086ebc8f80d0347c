/// Why a datagram was rejected. Every rejection is counted by reason, never thrown past
/// the driver, never delivered.
public enum WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer bytes than a field needs.
    case truncated
    /// Not our magic number: not a Canopy datagram.
    case badMagic
    /// A protocol version this build does not speak.
    case unsupportedVersion(UInt8)
    /// A message type nobody defined.
    case unknownType(UInt8)
    /// A field's value is out of its allowed range.
    case invalidField(String)
    /// Bytes left over after the message: the length fields lie.
    case trailingBytes(Int)
    /// More than the 1,200-byte datagram limit.
    case oversized(Int)

    /// A stable short name, the key under which rejections are counted.
    public var reason: String {
        switch self {
        case .truncated: "truncated"
        case .badMagic: "bad_magic"
        case .unsupportedVersion: "unsupported_version"
        case .unknownType: "unknown_type"
        case .invalidField: "invalid_field"
        case .trailingBytes: "trailing_bytes"
        case .oversized: "oversized"
        }
    }

    public var description: String {
        switch self {
        case .truncated: "datagram truncated"
        case .badMagic: "not a Canopy datagram (bad magic)"
        case .unsupportedVersion(let v): "unsupported protocol version \(v)"
        case .unknownType(let t): "unknown message type 0x\(String(t, radix: 16))"
        case .invalidField(let f): "invalid field \(f)"
        case .trailingBytes(let n): "\(n) trailing bytes"
        case .oversized(let n): "datagram of \(n) bytes exceeds the limit"
        }
    }
}
