import CanopyCore
import CanopyStream

/// Which protocol core a node runs for each stream mode: the one place the CLI, the demo
/// and the tests turn a mode into a core. Tree and mesh plug in here when they exist.
public enum StreamModes {
    /// Modes that `sourceCore`/`listenerCore` can build today.
    public static let available: Set<StreamMode> = [.direct]

    /// The source's core for `info.mode`.
    public static func sourceCore(info: StreamInfo, identity: NodeRef) throws(ModeUnavailable) -> any ProtocolCore {
        switch info.mode {
        case .direct: return DirectSource(identity: identity, info: info)
        case .tree, .mesh: throw ModeUnavailable(mode: info.mode)
        }
    }

    /// A listener's core for the stream `info` describes; only chunks of that stream
    /// (signed by the key whose hash is its id) are accepted.
    public static func listenerCore(info: StreamInfo, identity: NodeRef) throws(ModeUnavailable) -> any ProtocolCore {
        switch info.mode {
        case .direct: return DirectListener(identity: identity, expectedStream: info.streamID)
        case .tree, .mesh: throw ModeUnavailable(mode: info.mode)
        }
    }

    /// Parses a `--mode` value.
    public static func parse(_ text: String) -> StreamMode? {
        StreamMode.allCases.first { $0.description == text }
    }
}

/// A mode this build cannot run yet.
public struct ModeUnavailable: Error, CustomStringConvertible {
    public let mode: StreamMode
    public init(mode: StreamMode) { self.mode = mode }
    public var description: String {
        "\(mode) mode is not available yet — use --mode direct"
    }
}
