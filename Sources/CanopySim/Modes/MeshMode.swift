import CanopyCore
import CanopyMesh

/// `"mode": "mesh"`: the pull mesh (DONet or Chainsaw). Node 0 runs the source's
/// `MeshNode`, every other node a peer that joins through a random live node.
///
/// The `"mesh"` block takes `MeshConfig`'s settings (see `MeshSettings`). Extra report
/// keys: `mesh.{scheduler, partners_mean, partners_min, view_mean}` over live peers at the end.
public final class MeshMode: SimMode {
    public static let name = "mesh"
    public static let blocks = ["mesh"]

    private let config: MeshConfig

    public var streamMode: StreamMode { .mesh }
    public var modeParameter: UInt8 { config.scheduler.rawValue }

    public init(scenario: Scenario, blocks: ModeBlocks) throws {
        var block = try blocks.object("mesh")
        config = try MeshSettings.read(&block)
        try block.finish()
    }

    public func makeCore(node: Int, identity: NodeRef, uploadKbps: Double, sim: any SimContext) -> any ProtocolCore {
        if node == 0 {
            return MeshNode(source: identity, info: sim.streamInfo, uploadKbps: uploadKbps, config: config)
        }
        return MeshNode(peer: identity, uploadKbps: uploadKbps, config: config,
                        expectedStream: sim.streamInfo.streamID, modeledVerification: true)
    }

    public func report(sim: any SimContext) -> ModeReport {
        let peers = sim.liveNodes.filter { $0 != 0 }.compactMap { sim.core($0) as? MeshNode }
        let partners = peers.map(\.partnerCount)
        let all = sim.liveNodes.compactMap { sim.core($0) as? MeshNode }
        let total = { (counter: KeyPath<MeshCounters, Int>) -> Int in all.reduce(0) { $0 + $1.counters[keyPath: counter] } }
        let mean = { (values: [Int]) -> Double? in
            values.isEmpty ? nil : Double(values.reduce(0, +)) / Double(values.count)
        }
        return ModeReport(extra: [
            ("mesh", .object([
                ("scheduler", .string(config.scheduler.description)),
                ("partners_mean", .number(mean(partners))),
                ("partners_min", .int(partners.min())),
                ("view_mean", .number(mean(peers.map(\.viewCount)))),
                ("requested", .int(total(\.requested))),
                ("refused_to_requesters", .int(total(\.refusedToUs))),
                ("timed_out", .int(total(\.timedOut))),
                ("served", .int(total(\.served))),
                ("refused_by_suppliers", .int(total(\.refusedByUs))),
                ("overdue_served", .int(total(\.overdueServed))),
                ("partners_refined", .int(total(\.refined))),
                ("partners_silent", .int(total(\.silent))),
                ("pushed", .int(total(\.pushed))),
                ("pusher_changes", .int(total(\.pusherChanges))),
                ("source_repushes", .int(total(\.reseeded))),
                ("rescue_spreads", .int(total(\.rescueSpreads))),
            ])),
        ])
    }
}
