import NIOCore

/// A message on its way through the overlay toward the node responsible for `key`.
///
/// The payload is any `Message` (Scribe's, a lookup, a join), carried whole so an upper
/// layer's bytes are size-accounted exactly. `seq` asks the next hop for a `routeAck`,
/// which is how a forwarder learns that a hop is dead and re-routes around it.
public struct RouteEnvelope: Sendable {
    /// Hop acknowledgement id chosen by the sender of this hop; 0 asks for no ack.
    public var seq: UInt32
    public var key: NodeID
    /// The node that started the route.
    public var origin: NodeRef
    /// Overlay hops taken so far.
    public var hops: UInt8
    public var payload: Message

    /// seq, key, origin, hops, payload type byte.
    static let fixedSize = 4 + WireSize.nodeID + WireSize.nodeRef + 1 + 1

    public init(seq: UInt32, key: NodeID, origin: NodeRef, hops: UInt8, payload: Message) {
        self.seq = seq
        self.key = key
        self.origin = origin
        self.hops = hops
        self.payload = payload
    }
}

/// Pastry's messages (type bytes 0x40–0x7F): routing, join, leaf-set probing and repair,
/// routing-table maintenance and RTT measurement. Layouts in docs/PROTOCOL.md.
public enum PastryMessage: MessageFamily, Sendable {
    /// A routed message (any payload).
    indirect case route(RouteEnvelope)
    /// "I have the routed message you sent with this seq."
    case routeAck(seq: UInt32)
    /// Payload of the route a joining node starts: every node on the way sends the joiner
    /// its routing-table rows, the root also its leaf set.
    case join
    /// Payload of a lookup (the lookup application): the tag of the command and when the
    /// origin issued it, on the origin's clock.
    case lookup(tag: UInt64, issuedAt: Int64)
    /// The root's answer to a join: its leaf set (the root itself is the sender).
    case joinReply(leafSet: [NodeRef])
    /// Ask for one row of the routing table (maintenance and repair).
    case rowRequest(row: UInt8)
    /// One row of the sender's routing table (answer to `rowRequest`, or sent to a joiner).
    case rowReply(row: UInt8, entries: [NodeRef])
    /// Liveness probe carrying the sender's leaf set; answered by `leafReply`.
    case leafProbe(sentAt: Int64, leafSet: [NodeRef])
    /// Answer to `leafProbe`: the probe's time echoed (an RTT sample) and the leaf set.
    case leafReply(echo: Int64, leafSet: [NodeRef])
    /// RTT probe for proximity neighbour selection.
    case ping(sentAt: Int64)
    case pong(echo: Int64)
    /// Graceful leave: the sender's leaf set, so the receiver can repair its own at once.
    case leave(leafSet: [NodeRef])
    /// Ask for the neighbourhood set (the nodes nearest the receiver by RTT): the nodes
    /// near a near node are near us too, which is how proximity selection finds them.
    case neighbourRequest
    /// The sender's neighbourhood set, nearest first (answer to `neighbourRequest`).
    case neighbourReply(entries: [NodeRef])

    public static let typeBase: UInt8 = 0x40
    /// Most node references a leaf set or a row on the wire may hold.
    public static let maxRefs = 255
    /// A route that has taken more hops than this is dropped (a routing loop).
    public static let maxHops: UInt8 = 64

    public var kind: UInt8 {
        switch self {
        case .route: 0x01
        case .routeAck: 0x02
        case .join: 0x03
        case .lookup: 0x04
        case .joinReply: 0x05
        case .rowRequest: 0x06
        case .rowReply: 0x07
        case .leafProbe: 0x08
        case .leafReply: 0x09
        case .ping: 0x0A
        case .pong: 0x0B
        case .leave: 0x0C
        case .neighbourRequest: 0x0D
        case .neighbourReply: 0x0E
        }
    }

    public var bodySize: Int {
        switch self {
        case .route(let r): RouteEnvelope.fixedSize + r.payload.bodySize
        case .routeAck: 4
        case .join, .neighbourRequest: 0
        case .lookup: 16
        case .joinReply(let refs), .leave(let refs), .neighbourReply(let refs): WireSize.nodeRefs(refs.count)
        case .rowRequest: 1
        case .rowReply(_, let refs): 1 + WireSize.nodeRefs(refs.count)
        case .leafProbe(_, let refs), .leafReply(_, let refs): 8 + WireSize.nodeRefs(refs.count)
        case .ping, .pong: 8
        }
    }

    public var dataPayloadBytes: Int? {
        if case .route(let r) = self { return r.payload.dataPayloadBytes }
        return nil
    }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .route(let r):
            buffer.writeInteger(r.seq)
            buffer.writeNodeID(r.key)
            buffer.writeNodeRef(r.origin)
            buffer.writeInteger(r.hops)
            buffer.writeInteger(r.payload.typeCode)
            r.payload.encodeBody(into: &buffer)
        case .routeAck(let seq): buffer.writeInteger(seq)
        case .join, .neighbourRequest: break
        case .lookup(let tag, let issuedAt):
            buffer.writeInteger(tag)
            buffer.writeInteger(issuedAt)
        case .joinReply(let refs), .leave(let refs), .neighbourReply(let refs): buffer.writeNodeRefs(refs)
        case .rowRequest(let row): buffer.writeInteger(row)
        case .rowReply(let row, let refs):
            buffer.writeInteger(row)
            buffer.writeNodeRefs(refs)
        case .leafProbe(let t, let refs), .leafReply(let t, let refs):
            buffer.writeInteger(t)
            buffer.writeNodeRefs(refs)
        case .ping(let t), .pong(let t): buffer.writeInteger(t)
        }
    }

    public static func decodeBody(kind: UInt8, from buffer: inout ByteBuffer) throws(WireError) -> PastryMessage {
        switch kind {
        case 0x01:
            let seq: UInt32 = try buffer.readChecked()
            let key = try buffer.readNodeID()
            let origin = try buffer.readNodeRef()
            let hops: UInt8 = try buffer.readChecked()
            guard hops <= maxHops else { throw .invalidField("route.hops") }
            let type: UInt8 = try buffer.readChecked()
            // One level of nesting only: a route inside a route is never sent, and refusing
            // it bounds the decoder's recursion.
            guard type != typeBase + 0x01 else { throw .invalidField("route.payload") }
            let payload = try Message.decodeBody(type: type, from: &buffer)
            // A fragment is the driver's, never a routed payload: refused here as it is in a
            // reassembled datagram, it can reach neither Pastry nor the application.
            if case .stream(.fragment) = payload { throw .invalidField("route.payload") }
            return .route(RouteEnvelope(seq: seq, key: key, origin: origin, hops: hops, payload: payload))
        case 0x02: return .routeAck(seq: try buffer.readChecked())
        case 0x03: return .join
        case 0x04:
            let tag: UInt64 = try buffer.readChecked()
            return .lookup(tag: tag, issuedAt: try buffer.readChecked())
        case 0x05: return .joinReply(leafSet: try buffer.readNodeRefs(max: maxRefs, field: "join_reply.leaf_set"))
        case 0x06: return .rowRequest(row: try buffer.readChecked())
        case 0x07:
            let row: UInt8 = try buffer.readChecked()
            return .rowReply(row: row, entries: try buffer.readNodeRefs(max: maxRefs, field: "row_reply.entries"))
        case 0x08:
            let t: Int64 = try buffer.readChecked()
            return .leafProbe(sentAt: t, leafSet: try buffer.readNodeRefs(max: maxRefs, field: "leaf_probe.leaf_set"))
        case 0x09:
            let t: Int64 = try buffer.readChecked()
            return .leafReply(echo: t, leafSet: try buffer.readNodeRefs(max: maxRefs, field: "leaf_reply.leaf_set"))
        case 0x0A: return .ping(sentAt: try buffer.readChecked())
        case 0x0B: return .pong(echo: try buffer.readChecked())
        case 0x0C: return .leave(leafSet: try buffer.readNodeRefs(max: maxRefs, field: "leave.leaf_set"))
        case 0x0D: return .neighbourRequest
        case 0x0E: return .neighbourReply(entries: try buffer.readNodeRefs(max: maxRefs, field: "neighbour_reply.entries"))
        default: throw .unknownType(typeBase + kind)
        }
    }
}
