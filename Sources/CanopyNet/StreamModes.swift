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

    /// The scheduler a mesh stream announces in `modeParameter` (meaningless in other modes).
    static func meshScheduler(of info: StreamInfo) -> MeshScheduler {
        MeshScheduler(rawValue: info.modeParameter) ?? .donet
    }

    /// A playout delay that plays gaplessly on loopback in each mode: DONet's buffer-map
    /// exchange adds about one period per hop, so it needs more slack than push or HAVE.
    /// The one rule behind `canopy demo`'s default and `canopy listen`'s.
    public static func defaultPlayoutDelay(mode: StreamMode, scheduler: MeshScheduler) -> TimeSpan {
        .milliseconds(mode == .mesh && scheduler == .donet ? 1_500 : 500)
    }

    /// The default for a stream a listener has joined: it learns the mode only from the
    /// stream's info, so a bare `canopy listen` plays a DONet mesh without gaps too.
    public static func defaultPlayoutDelay(for info: StreamInfo) -> TimeSpan {
        defaultPlayoutDelay(mode: info.mode, scheduler: meshScheduler(of: info))
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
            config.scheduler = meshScheduler(of: info)
            return MeshNode(source: identity, info: info, uploadKbps: upload, config: config)
        }
    }

    /// A listener's core for the stream `info` describes; only chunks of that stream
    /// (signed by the key whose hash is its id) are accepted. A mesh peer times its requests
    /// to `playoutDelay` when given (`MeshConfig.fitted(toPlayoutDelay:)`).
    public static func listenerCore(info: StreamInfo, identity: NodeRef, uploadKbps: Double?,
                                    playoutDelay: TimeSpan? = nil) -> any ProtocolCore {
        let upload = uploadKbps ?? unlimitedUploadKbps
        switch info.mode {
        case .direct:
            return DirectListener(identity: identity, expectedStream: info.streamID)
        case .tree:
            return PastryNode(identity: identity, app: SplitStream(uploadKbps: upload, info: info))
        case .mesh:
            let config = playoutDelay.map { MeshConfig().fitted(toPlayoutDelay: $0) } ?? MeshConfig()
            return MeshNode(peer: identity, uploadKbps: upload, config: config, expectedStream: info.streamID)
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
