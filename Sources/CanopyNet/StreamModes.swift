import CanopyCore
import CanopyStream
import CanopyPastry
import CanopyTree
import CanopyMesh

/// Which protocol core a node runs for each stream mode: the one place the CLI, the demo
/// and the tests turn a mode into a core.
public enum StreamModes {
    /// Modes that `sourceCore`/`listenerCore` can build.
    public static let available: Set<StreamMode> = [.direct, .tree, .mesh]

    /// The upload a node without `--upload-kbps` offers its peers: it decides how many
    /// children or requests it takes, so "unlimited" must still be a number.
    public static let unlimitedUploadKbps = 100_000.0

    /// `StreamInfo.modeParameter` for a mode: the stripe count in tree mode, the
    /// scheduler in mesh mode.
    public static func parameter(for mode: StreamMode, scheduler: MeshScheduler = .donet) -> UInt8 {
        switch mode {
        case .direct: 0
        case .tree: UInt8(TreeConfig().stripes)
        case .mesh: scheduler.rawValue
        }
    }

    /// The source's core for `info.mode`.
    public static func sourceCore(info: StreamInfo, identity: NodeRef, uploadKbps: Double?) -> any ProtocolCore {
        let upload = uploadKbps ?? unlimitedUploadKbps
        switch info.mode {
        case .direct:
            return DirectSource(identity: identity, info: info)
        case .tree:
            return PastryNode(identity: identity, app: SplitStream(uploadKbps: upload, info: info, isSource: true))
        case .mesh:
            var config = MeshConfig()
            config.scheduler = MeshScheduler(rawValue: info.modeParameter) ?? .donet
            return MeshNode(source: identity, info: info, uploadKbps: upload, config: config)
        }
    }

    /// A listener's core for the stream `info` describes; only chunks of that stream
    /// (signed by the key whose hash is its id) are accepted.
    public static func listenerCore(info: StreamInfo, identity: NodeRef, uploadKbps: Double?) -> any ProtocolCore {
        let upload = uploadKbps ?? unlimitedUploadKbps
        switch info.mode {
        case .direct:
            return DirectListener(identity: identity, expectedStream: info.streamID)
        case .tree:
            return PastryNode(identity: identity, app: SplitStream(uploadKbps: upload, info: info))
        case .mesh:
            return MeshNode(peer: identity, uploadKbps: upload, expectedStream: info.streamID)
        }
    }

}

/// A mode this build cannot run.
public struct ModeUnavailable: Error, CustomStringConvertible {
    public let mode: StreamMode
    public init(mode: StreamMode) { self.mode = mode }
    public var description: String {
        "\(mode) mode is not available in this build — use --mode direct"
    }
}
