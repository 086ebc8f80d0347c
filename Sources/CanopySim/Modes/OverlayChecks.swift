import CanopyCore
import CanopyPastry

/// Whole-overlay checks only a simulator can make, because it sees every node at once.
public enum OverlayChecks {
    /// The fraction of joined live nodes whose leaf set is exactly right: on each side,
    /// the L/2 nearest joined live ids in ring order. Nil when no node has joined.
    public static func leafSetConsistency(sim: any SimContext) -> Double? {
        var ring: [(id: NodeID, pastry: Pastry)] = []
        for node in sim.liveNodes {
            if let host = sim.core(node) as? any OverlayHosting, host.pastry.isJoined {
                ring.append((host.pastry.local.id, host.pastry))
            }
        }
        guard !ring.isEmpty else { return nil }
        ring.sort { $0.id < $1.id }
        let n = ring.count
        var consistent = 0
        for (i, entry) in ring.enumerated() {
            let leaves = entry.pastry.leafSet
            let width = min(leaves.half, n - 1)
            let right = (1...max(width, 1)).prefix(width).map { ring[(i + $0) % n].id }
            let left = (1...max(width, 1)).prefix(width).map { ring[(i - $0 + n) % n].id }
            if leaves.right.map(\.id) == right && leaves.left.map(\.id) == left { consistent += 1 }
        }
        return Double(consistent) / Double(n)
    }

    /// Per-node routing state and join costs over the live joined nodes.
    public struct StateSummary {
        public var joined = 0
        public var entriesMean = 0.0
        public var entriesMax = 0
        public var tableRowsMean = 0.0
        public var tableEntriesMean = 0.0
        /// Join-related messages sent, summed over live nodes, per live node (each joined once).
        public var joinMessagesPerJoin = 0.0
        public var maintenanceMessagesPerNode = 0.0
    }

    public static func summarize(sim: any SimContext) -> StateSummary {
        var s = StateSummary()
        var entries = 0, rows = 0, tableEntries = 0, joinMessages = 0, maintenance = 0
        for node in sim.liveNodes {
            guard let host = sim.core(node) as? any OverlayHosting, host.pastry.isJoined else { continue }
            let p = host.pastry
            s.joined += 1
            entries += p.stateSize
            s.entriesMax = max(s.entriesMax, p.stateSize)
            rows += p.table.rowCount
            tableEntries += p.table.count
            joinMessages += p.stats.joinMessages
            maintenance += p.stats.maintenanceMessages
        }
        guard s.joined > 0 else { return s }
        let n = Double(s.joined)
        s.entriesMean = Double(entries) / n
        s.tableRowsMean = Double(rows) / n
        s.tableEntriesMean = Double(tableEntries) / n
        s.joinMessagesPerJoin = Double(joinMessages) / n
        s.maintenanceMessagesPerNode = Double(maintenance) / n
        return s
    }
}
