import CanopyCore

/// One child edge as its parent sees it.
public struct TreeChild: Sendable, Hashable {
    public var ref: NodeRef
    /// Last refresh (or the accept) — a child silent for `childTimeout` is dropped.
    var lastHeard: Instant
    /// Last time anything (data or heartbeat) went to it, to know when a heartbeat is due.
    var lastSent: Instant
    /// How many nodes hang below it here (at most 255), as its join or last refresh said.
    /// Children with more are served first: a child's delay adds to everyone below it.
    public var load: Int
    /// The child has children of its own here.
    public var forwards: Bool { load > 0 }
    /// Child slots it advertised as free (push-down hands joiners to those with room).
    var spare: Int
    /// The newest chunk this node held when it adopted the child: later ones went to it
    /// live, so a `fill` owes it at most up to here.
    var adoptedAfter: UInt32?
    /// When it became our child: a promotion does not hand down a child placed lately
    /// (after a crash, a repaired leaf was handed down again and went two seconds unfed).
    var since: Instant
    /// Kept chunks it is owed and has not been sent yet, ascending: those it asked for with
    /// `fill`, and late ones this node received by its own fill (its subtree missed them too).
    var owed: [Chunk] = []
}

/// Why a node is looking for a parent, and how far its search has gone.
struct PendingJoin: Sendable, Hashable {
    /// Each attempt escalates: route toward the topic, anycast the spare group, ask the source.
    var attempt: Int
    var deadline: Instant
}

/// A node's state in one Scribe tree (a stripe or a group).
public struct ScribeTopic: Sendable {
    public let id: NodeID
    /// The stripe index, nil for a group topic (no data, no degree bound).
    public let stripe: Int?
    /// True when this node wants the topic (a stripe it plays, a group it belongs to);
    /// false for a pure forwarder that only stays while it has children.
    public var member = false
    public internal(set) var parent: NodeRef?
    /// Source (or group root) first, the parent last; empty at the top.
    public internal(set) var path: [NodeID] = []
    public internal(set) var children: [TreeChild] = []
    /// This node is the top of the tree (the source for stripes, the Scribe root for groups).
    public internal(set) var isTop = false
    var lastHeardFromParent = Instant.zero
    /// Last chunk from the parent (or its accept): a parent that answers heartbeats but
    /// passes no data is starving us.
    var lastDataFromParent = Instant.zero
    var pending: PendingJoin?
    /// When this node last lost its parent, for the repair-time observation.
    var lostParentAt: Instant?
    /// The current parent was asked for the chunks this node missed before it came.
    var askedFill = false
    /// Earliest time to tell a stray sender of data again that we are not its child.
    var nextPrune = Instant.zero
    /// Earliest time to ask for this stripe's missing chunks again (`askForPatches`).
    var nextPatch = Instant.zero
    /// Until when a move our parent asked for (`SplitStream.handleMove`) may find a new parent.
    var movingUntil: Instant?
    /// The node that accepted us during the move. It replaces our parent when its first
    /// chunk of this stripe arrives (`SplitStream.completeMove`), so a move never trades a
    /// parent that feeds us for one that has lost its own supply.
    var nextParent: (ref: NodeRef, path: [NodeID])?
    /// The depth from which our own promotion (`SplitStream.promote`) is under way: only a
    /// parent that puts us higher is taken. Nil for any other move.
    var promotingFrom: Int?

    init(id: NodeID, stripe: Int?) {
        self.id = id
        self.stripe = stripe
    }

    /// In the tree and fed (or about to be) from above.
    public var isAttached: Bool { isTop || parent != nil }
    /// Edges from the top of the tree: the source has depth 0.
    public var depth: Int { path.count }

    /// Nodes below this one here, by its children's last word: what its own parent should
    /// know to serve it in the right order.
    var descendants: Int { children.reduce(0) { $0 + 1 + $1.load } }

    func childIndex(_ id: NodeID) -> Int? { children.firstIndex { $0.ref.id == id } }
    func hasChild(_ id: NodeID) -> Bool { childIndex(id) != nil }

    /// The path this node hands its children: its own, with itself appended.
    func pathForChildren(self me: NodeID) -> [NodeID] { path + [me] }
}
