import CanopyCore
import CanopyPastry
import CanopyStream
import NIOCore

/// Several Pastry nodes (lookup application only) in one process, each on its own UDP
/// socket: what `canopy overlay` runs and what the loopback tests build overlays from.
/// Lets one process stand for many overlay members, so a real-UDP overlay of dozens of
/// nodes spread over a few OS processes stays cheap to start.
public final class OverlayHost: Sendable {
    public let nodes: [NodeDriver]
    private let recorder: OverlayRecorder

    private init(nodes: [NodeDriver], recorder: OverlayRecorder) {
        self.nodes = nodes
        self.recorder = recorder
    }

    /// Starts `count` nodes one after another, each joining before the next starts (joins
    /// stay cheap and the overlay stays consistent while it grows).
    /// - Parameters:
    ///   - bind: host to bind; a non-zero port gives node `i` port `port + i`.
    ///   - bootstrap: an overlay node to join through; nil makes the first node start a
    ///     new overlay, which the others join.
    ///   - joinTimeout: how long one node may take to join before `start` gives up.
    public static func start(count: Int, on group: any EventLoopGroup, bind: PeerAddress, bootstrap: PeerAddress?,
                             settings: PastrySettings = PastrySettings(),
                             joinTimeout: TimeSpan = .seconds(15)) async throws -> OverlayHost {
        let recorder = OverlayRecorder()
        var nodes: [NodeDriver] = []
        do {
            for index in 0..<count {
                let port = bind.port == 0 ? 0 : UInt16(Int(bind.port) + index)
                // Ids are hashes of public keys, as on any real node (the key itself is not kept:
                // lookup nodes sign nothing).
                let configuration = NodeConfiguration(bind: PeerAddress(host: bind.host, port: port),
                                                      nodeID: SourceKey().streamID)
                let node = try await NodeDriver.start(on: group, configuration: configuration, application: recorder) {
                    PastryNode(identity: $0, settings: settings, app: NoApplication())
                }
                nodes.append(node)
                let through = bootstrap ?? (index == 0 ? nil : nodes[0].localAddress)
                node.command(.join(bootstrap: through))
                try await waitForJoin(of: node, through: through, recorder: recorder, timeout: joinTimeout)
            }
        } catch {
            for node in nodes { await node.close() }
            throw error
        }
        return OverlayHost(nodes: nodes, recorder: recorder)
    }

    private static func waitForJoin(of node: NodeDriver, through: PeerAddress?, recorder: OverlayRecorder,
                                    timeout: TimeSpan) async throws {
        let deadline = MonotonicClock.now() + timeout
        while !recorder.hasJoined(node.identity.id) {
            guard MonotonicClock.now() < deadline else {
                throw OverlayJoinTimeout(node: node.identity, through: through, timeout: timeout)
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    public var refs: [NodeRef] { nodes.map(\.identity) }

    /// Routes a lookup for `key` from node `index`; its delivery shows up in `deliveries`
    /// of whichever host holds the responsible node.
    @discardableResult
    public func lookup(_ key: NodeID, from index: Int) -> UInt64 {
        let node = nodes[index]
        let tag = recorder.issue(key: key, origin: node.identity.id)
        node.command(.lookup(key: key, tag: tag))
        return tag
    }

    /// Lookups issued here, completed with their delivery when it happened here.
    public var lookups: [OverlayLookupRecord] { recorder.lookups }

    /// Every lookup delivered at one of these nodes (first delivery of each).
    public var deliveries: [OverlayLookupRecord] { recorder.deliveries }

    /// Each node's leaf set, as ids (left side then right side, nearest first).
    public func leafSets() async throws -> [[NodeID]] {
        var sets: [[NodeID]] = []
        for node in nodes {
            let ids = try await node.inspectCore { core in
                (core as? any OverlayHosting).map { $0.pastry.leafSet.left.map(\.id) + $0.pastry.leafSet.right.map(\.id) }
            }
            sets.append((ids ?? nil) ?? [])
        }
        return sets
    }

    /// How many of these nodes have a leaf set other than the true one for the overlay made
    /// of `members` (all nodes of all processes): 0 once joins have fully settled.
    public func leafSetMismatches(members: [NodeID], settings: PastrySettings = PastrySettings()) async throws -> Int {
        let actual = try await leafSets()
        return zip(nodes, actual).filter { node, ids in
            var truth = LeafSet(owner: node.identity.id, size: settings.leafSetSize)
            var evicted: [NodeRef] = []
            for id in members { truth.insert(NodeRef(id: id, address: PeerAddress(host: 0, port: 0)), evicted: &evicted) }
            return truth.left.map(\.id) + truth.right.map(\.id) != ids
        }.count
    }

    /// Waits until no node's leaf set has changed for `quiet`, or `timeout` passed; true if quiet.
    public func waitForStableLeafSets(quiet: TimeSpan = .seconds(1), timeout: TimeSpan = .seconds(10)) async throws -> Bool {
        let deadline = MonotonicClock.now() + timeout
        var last = try await leafSets()
        var stableSince = MonotonicClock.now()
        while MonotonicClock.now() < deadline {
            try await Task.sleep(nanoseconds: 200_000_000)
            let current = try await leafSets()
            if current != last {
                last = current
                stableSince = MonotonicClock.now()
            } else if MonotonicClock.now() - stableSince >= quiet {
                return true
            }
        }
        return false
    }

    /// This host's report: its nodes, the lookups it issued, the deliveries it saw.
    public func report(complete: Bool) -> OverlayReport {
        OverlayReport(complete: complete,
                      nodes: nodes.map { OverlayReport.Node(id: $0.identity.id.description, address: $0.localAddress.description) },
                      lookups: lookups, deliveries: deliveries)
    }

    /// Every node leaves (saying goodbye) and closes its socket.
    public func close() async {
        for node in nodes { await node.close() }
    }
}

/// A node did not finish joining in time: the bootstrap is unreachable or not an overlay node.
public struct OverlayJoinTimeout: Error, CustomStringConvertible {
    public let node: NodeRef
    public let through: PeerAddress?
    public let timeout: TimeSpan

    public var description: String {
        "node \(node.id.short()) on \(node.address) did not join through \(through.map(\.description) ?? "itself") within \(timeout.seconds) s — check that --bootstrap names a running overlay node"
    }
}
