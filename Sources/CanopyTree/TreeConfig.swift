import CanopyCore

/// SplitStream's knobs. The defaults suit a live audio stream with 20 ms chunks: a parent
/// that goes quiet for a few stripe periods is presumed dead, so repair starts well inside
/// a typical playout delay.
public struct TreeConfig: Sendable, Hashable {
    /// k: how many stripes (Scribe trees) the stream is cut into; 1...16 so every stripe id
    /// can start with its own hex digit.
    public var stripes: Int = 16
    /// Optional cap on children over all stripes; the lower of this and the upload bound applies.
    public var maxChildren: Int?
    /// Share of the upload that data may use; the rest is left for control traffic, so a
    /// node at its bound does not build an ever-growing upload queue. At 0.9 a burst of
    /// joins or overlay traffic drained at a tenth of the link and delayed the stream by
    /// seconds while the forest formed; at 0.85 it drains 1.5 times as fast (1,000 nodes,
    /// three seeds: continuity at 1 s up about 0.02, delivery unchanged).
    public var uploadHeadroom: Double = 0.85
    /// Upload kept for control traffic whatever the share above leaves: heartbeats,
    /// refreshes, joins and the overlay's own probes and routing cost roughly this much on
    /// every node, so a node with a small upload must not fill it with children.
    public var controlReserveKbps: Double = 32
    /// A node takes a new child only while its upload queue (as it models it from what it
    /// sent) would delay a message by less than this.
    public var admissionBacklog: TimeSpan = .milliseconds(Int64(150))
    /// A node whose queue stays longer than this sheds one leaf child a tick, which re-joins
    /// elsewhere: a long queue delays every child's stream, not just the newest one's.
    public var shedBacklog: TimeSpan = .seconds(1)
    /// What a node that offers no upload can still send (control only), for its queue model:
    /// a phone or a NATed peer still sends joins and refreshes, just slowly.
    public var controlFloorKbps: Double = 32
    /// The source's share: it also answers every fallback join and bootstraps the overlay,
    /// and a backlog on its link delays every stripe at once.
    public var sourceUploadHeadroom: Double = 0.6
    /// How often a node checks its parents, children and pending joins.
    public var tick: TimeSpan = .milliseconds(Int64(250))
    /// A parent sends a heartbeat to a child it has sent nothing to for this long.
    public var heartbeatInterval: TimeSpan = .milliseconds(Int64(500))
    /// A child that hears nothing (data or heartbeat) from its parent for this long re-joins:
    /// a bit over two heartbeats (and nearly four chunks of a 16-stripe stream). Every
    /// second of detection is a second of each orphaned subtree's stream that must be
    /// backfilled before the playout deadline; 1.2 s rather than 2 s repaired the 10% crash
    /// scenario with fewer gaps and no loss of continuity.
    public var parentTimeout: TimeSpan = .milliseconds(Int64(1200))
    /// A child whose parent is alive but has passed no data in a stripe for this long, while
    /// other stripes flow, re-joins: the parent's own supply is broken. Longer than
    /// `parentTimeout`, so after a crash the orphan at the top of a subtree repairs it
    /// before its descendants give up.
    public var starvationTimeout: TimeSpan = .seconds(4)
    /// How often a child tells each parent it is still there.
    public var refreshInterval: TimeSpan = .seconds(3)
    /// A parent drops a child it has not heard from for this long (frees the slot): a bit
    /// more than two refresh intervals, so one late refresh is forgiven but a crashed
    /// child's slot (and the upload its data wastes) is free again soon after a repair
    /// needs it — a full source holding dead children leaves a whole stripe unfed.
    public var childTimeout: TimeSpan = .seconds(7)
    /// How long a join attempt may wait for an answer before the next kind of attempt. An
    /// answer that comes at all comes within a few round trips; a join that dies (a dead
    /// hop, a full node with nobody to hand it to) costs the orphan this much per rung of
    /// the ladder, and after a crash most first rungs die. On scenarios/tree-1k-crash.json
    /// (seeds 7–13) 1.5 s → 0.75 s took repair p90 from 5.2–6.0 s to 3.8–5.0 s, and
    /// survivors playing without a gap at 5 s from 0.94–1.0 to 0.99–1.0.
    public var joinTimeout: TimeSpan = .milliseconds(Int64(750))
    /// Group trees (the spare-capacity group) carry no data: slower heartbeats suffice.
    public var groupHeartbeatInterval: TimeSpan = .seconds(2)
    public var groupParentTimeout: TimeSpan = .seconds(6)
    /// How many times a join may be handed on from a node that cannot take it: down to one
    /// of its children, or along to a node of the stripe's digit in its leaf set.
    public var pushDownBudget: UInt8 = 8
    /// An anycast walk visits at most this many group members and carries at most this many
    /// yet-to-visit nodes (within the wire limits): every hop carries both lists, so a long
    /// walk costs the relays more than it is likely to find.
    public var anycastVisits = 8
    public var anycastStack = 6
    /// Recent chunks a forwarding node keeps per stripe, to send a newly adopted child what it
    /// missed while it had no parent. With 16 stripes of 20 ms chunks, 32 cover about 10 s:
    /// a stripe that finds its parent within the 10 s a repair may take still gets every
    /// chunk. 16 (5 s) lost about 1,800 chunks a run at 1,000 nodes, asked for by stripes that
    /// found their first parent more than 5 s after the stream started. The cost is memory:
    /// tree-10k peaked at 858 MB instead of 683 MB.
    public var backfillChunks = 32
    /// Owed chunks go out only while the upload queue is shorter than this (checked when
    /// they become owed and every tick): a fill uses the upload the live stream leaves idle,
    /// so it delays live chunks by at most about this much. Patches, promotions and moves
    /// wait for the same. After a crash the new parents of a whole orphaned subtree are busy,
    /// and a fill that waits for a queue under 150 ms came too late: on
    /// scenarios/tree-1k-crash.json (seeds 7–18) single chunks reached survivors 5.0–5.7 s
    /// after they were made, and 0.9967–1.0 of survivors played without a gap at 5 s (one
    /// seed 0.98999). At 300 ms: 0.9956–1.0, mean 0.9982 → 0.9995; continuity at 1 s on
    /// tree-1k.json (seeds 7–12) 0.9907–0.9970 (0.9918–0.9968 before); on tree-10k.json
    /// nodes without a gap at 5 s 0.9933 → 0.9999 (seed 8), duplicates 1.2% → 0.7%.
    public var fillBacklog: TimeSpan = .milliseconds(Int64(300))

    /// How long a node that has not started playing waits for the first chunk it is owed
    /// while later ones arrive (see `play`): about what a stripe that finds its parent after
    /// the stream started takes to be backfilled. At 1,000 nodes (seeds 7–9) 1 s and 2 s gave
    /// the same delivery; 1 s starts playing sooner (startup p90 1.3–1.9 s instead of 1.3–2.6 s).
    public var startupHold: TimeSpan = .seconds(1)

    /// How often a stripe with an overdue hole asks a parent of another stripe for its
    /// missing chunks (`SplitStream.askForPatches`). It is about one round trip plus a
    /// stripe's chunk interval, so an ask is answered before the next one and few chunks
    /// come twice.
    public var patchInterval: TimeSpan = .milliseconds(Int64(500))
    /// Most chunks one patch sends: 16 is 5 s of one stripe of a 20 ms, 16-stripe stream.
    /// 0 turns patches off.
    public var patchChunks = 16
    /// How often a node that forwards in more than one stripe asks a child of its smallest
    /// other stripe to find another parent (`SplitStream.consolidate`); 0 turns moves off.
    /// On scenarios/tree-1k.json (seeds 7–9) nodes interior in at most one stripe went from
    /// 0.787 / 0.779 / 0.784 without moves to 0.959 / 0.891 / 0.968, continuity unchanged.
    /// Moves once slowed repairs after a crash (the stripes' own nodes full, the group's
    /// upper nodes swamped by anycast walks); with swamped relays dropping walks
    /// (`runAnycast`), every survivor of tree-1k-crash.json (seeds 7–13) had every stripe
    /// 10 s after the crash.
    public var consolidateInterval: TimeSpan = .seconds(1)
    /// How long after its first chunk a node waits before consolidating: while the forest
    /// forms, orphans need every free slot at once.
    public var consolidateAfter: TimeSpan = .seconds(10)
    /// How often a forwarder at least `promoteDepth` deep in a stripe asks to sit higher
    /// (`SplitStream.promote`; each ask that finds no place doubles the wait, up to 16
    /// times); 0 turns promotion off. On scenarios/tree-1k.json (seeds 7–12) the depth went
    /// from 3.05–3.36 mean, 8–10 max, to 2.75–2.86 and 4–6, and continuity at 1 s on seed 12
    /// from 0.9725 to 0.9871; on tree-10k.json (seed 8) from 5.18 and 18 to 3.95 and 9, and
    /// continuity at 1 s from 0.715 to 0.807. Every 5 s did no better at 10,000 nodes (0.797).
    public var promoteInterval: TimeSpan = .seconds(10)
    /// Depth (edges below the source) from which a forwarder asks to be promoted.
    public var promoteDepth = 3
    /// How long after its join (or its first chunk, which restarts the wait) a forwarder may
    /// first ask: the forest is deepest while it forms. On tree-10k.json (seed 8), against
    /// 10 s: continuity at 1 s 0.807 → 0.821, nodes without a gap at 5 s 0.918 → 0.997,
    /// duplicates 1.3% → 0.7% (3 s: 0.814, 0.978, 1.1%). On tree-1k.json seeds 7–12,
    /// continuity at 1 s on seed 12 0.9871 → 0.9902, and the share of nodes interior in at
    /// most one stripe 0.904–0.969 → 0.897–0.956.
    public var promoteAfter: TimeSpan = .seconds(1)

    public init() {}
}

/// How many children a node may feed, from its upload and the stream's rate on the wire.
///
/// SplitStream's bound is floor(upload / (stream rate / k)) over all stripes. The rate used
/// here is what one child really costs: the chunk's datagram (headers and signature
/// included), not the codec's nominal bitrate, because that is what the upload queue carries.
public struct ForwardingCapacity: Sendable, Hashable {
    public var uploadKbps: Double
    /// Upload one child of one stripe costs, kbit/s.
    public var perChildKbps: Double

    public init(uploadKbps: Double, info: StreamInfo, config: TreeConfig, isSource: Bool = false) {
        self.uploadKbps = uploadKbps
        let chunkSeconds = Double(info.chunkMicros) / 1e6
        let payload = Int((Double(info.bitrateKbps) * 1000 * chunkSeconds / 8).rounded())
        let wire = Fragmenter.wireCost(envelopeSize: WireHeader.size + StreamMessage.chunkBodySize(payloadBytes: payload)).bytes
        perChildKbps = Double(wire) * 8 / chunkSeconds / 1000 / Double(config.stripes)
        let share = isSource ? config.sourceUploadHeadroom : config.uploadHeadroom
        let forData = min(uploadKbps * share, uploadKbps - config.controlReserveKbps)
        bound = Self.bound(uploadKbps: forData, perChildKbps: perChildKbps, maxChildren: config.maxChildren)
    }

    /// Children over all stripes this node may have, never exceeded.
    public private(set) var bound: Int

    static func bound(uploadKbps: Double, perChildKbps: Double, maxChildren: Int?) -> Int {
        guard perChildKbps > 0, uploadKbps > 0 else { return 0 }
        let byUpload = Int((uploadKbps / perChildKbps).rounded(.down))
        return min(byUpload, maxChildren ?? Int.max)
    }
}
