import CanopyCore
import CanopyStream

/// The client/server baseline: node 0 runs `DirectSource` and unicasts every chunk to
/// every listener; listeners (`DirectListener`) join straight at the source.
public final class DirectMode: SimMode {
    public static let name = "direct"
    public static let blocks: [String] = []

    public init(scenario: Scenario, blocks: ModeBlocks) throws {}

    public func makeCore(node: Int, identity: NodeRef, uploadKbps: Double, sim: any SimContext) -> any ProtocolCore {
        if node == 0 { return DirectSource(identity: identity, info: sim.streamInfo) }
        return DirectListener(identity: identity, expectedStream: sim.streamInfo.streamID, modeledVerification: true)
    }

    /// Listeners always join at the source itself.
    public func bootstrap(for node: Int, sim: any SimContext) -> PeerAddress? {
        node == 0 ? nil : sim.identity(of: 0).address
    }
}
