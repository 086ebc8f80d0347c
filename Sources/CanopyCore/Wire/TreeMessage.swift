import NIOCore

/// A request to become a child in a Scribe tree: routed toward the topic id by the overlay,
/// or sent straight to a node when a full parent hands the joiner down (push-down), when a
/// root passes it to the source, or when a joiner falls back to the source.
public struct TreeJoin: Hashable, Sendable {
    public var topic: NodeID
    public var joiner: NodeRef
    /// How many more times the join may be handed down before it is refused, so a
    /// push-down chain always ends (in a `promote`: passed up).
    public var budget: UInt8
    /// Child slots the joiner has free (its advertised capacity): a parent never hands a
    /// later joiner down to a child that cannot forward.
    public var spare: UInt16
    /// Nodes already below the joiner in this topic (at most 255): a joiner that brings a
    /// subtree (a repairing forwarder, a stripe's root) outranks a leaf for a full parent's
    /// slot, and a parent sends to its biggest subtrees first.
    public var children: UInt8

    public init(topic: NodeID, joiner: NodeRef, budget: UInt8, spare: UInt16, children: UInt8) {
        self.topic = topic
        self.joiner = joiner
        self.budget = budget
        self.spare = spare
        self.children = children
    }

    static let size = WireSize.nodeID + WireSize.nodeRef + 1 + 2 + 1

    static func decode(from buffer: inout ByteBuffer) throws(WireError) -> TreeJoin {
        let topic = try buffer.readNodeID()
        let joiner = try buffer.readNodeRef()
        let budget: UInt8 = try buffer.readChecked()
        let spare: UInt16 = try buffer.readChecked()
        return TreeJoin(topic: topic, joiner: joiner, budget: budget, spare: spare, children: try buffer.readChecked())
    }
}

/// One topic in a child's refresh: how many nodes hang below the sender there (at most
/// 255), so a parent can send to its biggest subtrees first and to its leaves last.
public struct TreeTopicLoad: Hashable, Sendable {
    public var topic: NodeID
    public var children: UInt8

    public init(topic: NodeID, children: UInt8) {
        self.topic = topic
        self.children = children
    }

    static let size = WireSize.nodeID + 1
}

/// A child's periodic "still here" to one parent, covering every topic it has there; it
/// also advertises the child's spare forwarding capacity (push-down picks by it).
public struct TreeRefresh: Hashable, Sendable {
    /// Child slots the sender can still take, over all stripes.
    public var spare: UInt16
    public var topics: [TreeTopicLoad]

    public init(spare: UInt16, topics: [TreeTopicLoad]) {
        self.spare = spare
        self.topics = topics
    }
}

/// Scribe anycast: a depth-first walk of the `group` tree looking for a member that can
/// adopt `requester` in the `target` tree. The walk carries its own stack and visited set,
/// so no node keeps state for it; both are bounded so the message stays one datagram.
public struct TreeAnycast: Hashable, Sendable {
    public var group: NodeID
    public var target: NodeID
    public var requester: NodeRef
    public var visited: [NodeID]
    /// Nodes still to visit, the next one last.
    public var stack: [NodeRef]
    /// The requester is fed and only looking for a parent that would not have to forward in
    /// one more stripe (`tree.move`): a member adopts it only if it already forwards in
    /// `target` or in no stripe at all, and a walk that runs out ends unanswered.
    public var move: Bool

    public static let maxVisited = 16
    public static let maxStack = 16

    public init(group: NodeID, target: NodeID, requester: NodeRef, move: Bool = false,
                visited: [NodeID] = [], stack: [NodeRef] = []) {
        self.group = group
        self.target = target
        self.requester = requester
        self.move = move
        self.visited = visited
        self.stack = stack
    }
}

/// Scribe and SplitStream control messages (type bytes 0x80–0xBF). Stripe data travels as
/// `StreamMessage.chunk`: the stripe is the chunk's sequence number modulo the stripe count,
/// so data needs no second header.
public enum TreeMessage: MessageFamily, Hashable, Sendable {
    case join(TreeJoin)
    /// Parent → child: "you are my child in `topic`; my path from the source is `path`"
    /// (the source first, the parent last). Sent again whenever the parent's path changes,
    /// so every node can refuse a joiner that is its own ancestor (no loops).
    case accept(topic: NodeID, path: [NodeID])
    /// "I am not your parent in `topic`." `handedDown`: your join was passed to one of my
    /// children, wait for its answer before trying elsewhere.
    case reject(topic: NodeID, handedDown: Bool)
    /// Child → parent: prune me from `topic`.
    case leave(topic: NodeID)
    /// Parent → child: alive and still your parent in these topics (sent only when no data
    /// went to that child lately: data counts as a heartbeat).
    case heartbeat(topics: [NodeID])
    case refresh(TreeRefresh)
    case anycast(TreeAnycast)
    /// The walk found nobody; the requester falls back to the source.
    case anycastFailed(group: NodeID, target: NodeID)
    /// Child → its new parent in stripe `topic`: send me the chunks of this stripe you still
    /// hold from sequence `from` on — what I missed while I had no parent (I joined after the
    /// stream started, or my old parent failed), so a repair leaves no gap in playout.
    case fill(topic: NodeID, from: UInt32)
    /// Parent → child in stripe `topic`: find another parent in this stripe (a routed join)
    /// and leave me once one accepts; until then I keep feeding you. Sent by a parent that
    /// forwards in more than one stripe, so that each node forwards in one.
    case move(topic: NodeID)
    /// A forwarder deep in stripe `topic` asks to sit higher: sent to its parent, passed up
    /// its path (`budget`: how many more times) until an ancestor takes it into a free slot
    /// or in place of a leaf child. Laid out as `join`.
    case promote(TreeJoin)

    public static let typeBase: UInt8 = 0x80
    /// Longest source-to-node path a node accepts; deeper means a loop or a broken tree.
    public static let maxPath = 48
    /// Most topics in one heartbeat or refresh (k stripes plus the spare-capacity group).
    public static let maxTopics = 64

    public var kind: UInt8 {
        switch self {
        case .join: 0x01
        case .accept: 0x02
        case .reject: 0x03
        case .leave: 0x04
        case .heartbeat: 0x05
        case .refresh: 0x06
        case .anycast: 0x07
        case .anycastFailed: 0x08
        case .fill: 0x09
        case .move: 0x0A
        case .promote: 0x0B
        }
    }

    /// Lists are cut to the bounds decoding enforces (`maxPath`, `maxTopics`, the anycast
    /// limits) when sizing and encoding, so a sender never emits a datagram every receiver
    /// would reject: a cut path is at the limit, which the receiver refuses as too deep.
    public var bodySize: Int {
        switch self {
        case .join, .promote: TreeJoin.size
        case .accept(_, let path): WireSize.nodeID + 1 + min(path.count, Self.maxPath) * WireSize.nodeID
        case .reject: WireSize.nodeID + 1
        case .leave: WireSize.nodeID
        case .heartbeat(let topics): 1 + min(topics.count, Self.maxTopics) * WireSize.nodeID
        case .refresh(let r): 2 + 1 + min(r.topics.count, Self.maxTopics) * TreeTopicLoad.size
        case .anycast(let a):
            2 * WireSize.nodeID + WireSize.nodeRef + 1 + 1 + min(a.visited.count, TreeAnycast.maxVisited) * WireSize.nodeID
                + WireSize.nodeRefs(min(a.stack.count, TreeAnycast.maxStack))
        case .anycastFailed: 2 * WireSize.nodeID
        case .fill: WireSize.nodeID + 4
        case .move: WireSize.nodeID
        }
    }

    public var dataPayloadBytes: Int? { nil }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .join(let j), .promote(let j):
            buffer.writeNodeID(j.topic)
            buffer.writeNodeRef(j.joiner)
            buffer.writeInteger(j.budget)
            buffer.writeInteger(j.spare)
            buffer.writeInteger(j.children)
        case .accept(let topic, let path):
            buffer.writeNodeID(topic)
            buffer.writeNodeIDs(path.prefix(Self.maxPath))
        case .reject(let topic, let handedDown):
            buffer.writeNodeID(topic)
            buffer.writeFlag(handedDown)
        case .leave(let topic):
            buffer.writeNodeID(topic)
        case .heartbeat(let topics):
            buffer.writeNodeIDs(topics.prefix(Self.maxTopics))
        case .refresh(let r):
            let loads = r.topics.prefix(Self.maxTopics)
            buffer.writeInteger(r.spare)
            buffer.writeInteger(UInt8(loads.count))
            for load in loads {
                buffer.writeNodeID(load.topic)
                buffer.writeInteger(load.children)
            }
        case .anycast(let a):
            buffer.writeNodeID(a.group)
            buffer.writeNodeID(a.target)
            buffer.writeNodeRef(a.requester)
            buffer.writeFlag(a.move)
            buffer.writeNodeIDs(a.visited.prefix(TreeAnycast.maxVisited))
            buffer.writeNodeRefs(a.stack.prefix(TreeAnycast.maxStack))
        case .anycastFailed(let group, let target):
            buffer.writeNodeID(group)
            buffer.writeNodeID(target)
        case .fill(let topic, let from):
            buffer.writeNodeID(topic)
            buffer.writeInteger(from)
        case .move(let topic):
            buffer.writeNodeID(topic)
        }
    }

    public static func decodeBody(kind: UInt8, from buffer: inout ByteBuffer) throws(WireError) -> TreeMessage {
        switch kind {
        case 0x01:
            return .join(try TreeJoin.decode(from: &buffer))
        case 0x02:
            let topic = try buffer.readNodeID()
            return .accept(topic: topic, path: try buffer.readNodeIDs(max: maxPath, field: "accept.path"))
        case 0x03:
            let topic = try buffer.readNodeID()
            return .reject(topic: topic, handedDown: try buffer.readFlag(field: "reject.handed_down"))
        case 0x04:
            return .leave(topic: try buffer.readNodeID())
        case 0x05:
            return .heartbeat(topics: try buffer.readNodeIDs(max: maxTopics, field: "heartbeat.topics"))
        case 0x06:
            let spare: UInt16 = try buffer.readChecked()
            let count = try buffer.readCount(UInt8.self, max: maxTopics, minElementSize: TreeTopicLoad.size,
                                             field: "refresh.topics")
            var topics: [TreeTopicLoad] = []
            topics.reserveCapacity(count)
            for _ in 0..<count {
                let topic = try buffer.readNodeID()
                topics.append(TreeTopicLoad(topic: topic, children: try buffer.readChecked()))
            }
            return .refresh(TreeRefresh(spare: spare, topics: topics))
        case 0x07:
            let group = try buffer.readNodeID()
            let target = try buffer.readNodeID()
            let requester = try buffer.readNodeRef()
            let move = try buffer.readFlag(field: "anycast.move")
            let visited = try buffer.readNodeIDs(max: TreeAnycast.maxVisited, field: "anycast.visited")
            let stack = try buffer.readNodeRefs(max: TreeAnycast.maxStack, field: "anycast.stack")
            return .anycast(TreeAnycast(group: group, target: target, requester: requester, move: move,
                                        visited: visited, stack: stack))
        case 0x08:
            let group = try buffer.readNodeID()
            return .anycastFailed(group: group, target: try buffer.readNodeID())
        case 0x09:
            let topic = try buffer.readNodeID()
            return .fill(topic: topic, from: try buffer.readChecked())
        case 0x0A:
            return .move(topic: try buffer.readNodeID())
        case 0x0B:
            return .promote(try TreeJoin.decode(from: &buffer))
        default:
            throw .unknownType(typeBase + kind)
        }
    }
}

extension ByteBuffer {
    /// A list of node ids with a 1-byte count, bounded by `max` before allocating.
    fileprivate mutating func readNodeIDs(max: Int, field: String) throws(WireError) -> [NodeID] {
        try readList(max: max, elementSize: WireSize.nodeID, field: field) { (b: inout ByteBuffer) throws(WireError) in try b.readNodeID() }
    }

    fileprivate mutating func writeNodeIDs(_ ids: ArraySlice<NodeID>) {
        writeList(ids) { $0.writeNodeID($1) }
    }
}
