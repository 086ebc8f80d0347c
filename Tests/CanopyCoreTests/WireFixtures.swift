import Foundation
import XCTest
import NIOCore
import CanopyCore

/// One sample message of every type of every family, each named as its vector in
/// docs/PROTOCOL.md, shared by the codec and fuzz tests.
enum WireFixtures {
    static let sender = NodeID(hex: "00112233445566778899aabbccddeeff")!
    static let stream = NodeID(hex: "f0e1d2c3b4a5968778695a4b3c2d1e0f")!
    static let topic = NodeID(hex: "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a")!
    static let group = NodeID(hex: "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5")!

    static let source = NodeRef(id: sender, address: PeerAddress(host: 0x7F00_0001, port: 7070))
    static let peerA = NodeRef(id: NodeID(hex: "0123456789abcdef0123456789abcdef")!,
                               address: PeerAddress(host: 0x0A00_0002, port: 7001))
    static let peerB = NodeRef(id: NodeID(hex: "fedcba9876543210fedcba9876543210")!,
                               address: PeerAddress(host: 0x0A00_0003, port: 7002))

    static let chunk = Chunk(streamID: stream, sequence: 7, generatedAt: 1_000_000,
                             payload: ByteBuffer(bytes: [0x00, 0x03, 0xFC, 0xFF, 0xFE]),
                             signature: ByteBuffer(repeating: 0xAB, count: 64))

    static let info = StreamInfo(streamID: stream, publicKey: ByteBuffer(repeating: 0x11, count: 32), mode: .tree,
                                 modeParameter: 16, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 312, source: source)

    /// A buffer map of `count` chunks from `start` holding `held`.
    static func map(start: UInt32, count: Int, held: [UInt32]) -> BufferMap {
        var map = BufferMap(start: start, count: count)
        for sequence in held { map.insert(sequence) }
        return map
    }

    static let messages: [(name: String, message: Message)] = [
        ("stream.chunk", .stream(.chunk(chunk))),
        ("stream.info_request", .stream(.infoRequest)),
        ("stream.info", .stream(.info(info))),
        ("stream.direct_join", .stream(.directJoin)),
        ("stream.direct_leave", .stream(.directLeave)),
        ("stream.clock_probe", .stream(.clockProbe(sentAt: 42))),
        ("stream.clock_reply", .stream(.clockReply(probeSentAt: 42, answeredAt: -7))),
        ("stream.fragment", .stream(.fragment(Fragment(messageID: 3, index: 1, count: 2, bytes: ByteBuffer(bytes: [9, 8, 7]))))),

        ("pastry.route", .pastry(.route(RouteEnvelope(seq: 9, key: topic, origin: peerA, hops: 2,
                                                      payload: .pastry(.lookup(tag: 5, issuedAt: 2_000_000)))))),
        ("pastry.route_ack", .pastry(.routeAck(seq: 9))),
        ("pastry.join", .pastry(.join)),
        ("pastry.lookup", .pastry(.lookup(tag: 5, issuedAt: 2_000_000))),
        ("pastry.join_reply", .pastry(.joinReply(leafSet: [peerA, peerB]))),
        ("pastry.row_request", .pastry(.rowRequest(row: 3))),
        ("pastry.row_reply", .pastry(.rowReply(row: 3, entries: [peerA]))),
        ("pastry.leaf_probe", .pastry(.leafProbe(sentAt: 42, leafSet: [peerA]))),
        ("pastry.leaf_reply", .pastry(.leafReply(echo: 42, leafSet: [peerB]))),
        ("pastry.ping", .pastry(.ping(sentAt: 42))),
        ("pastry.pong", .pastry(.pong(echo: 42))),
        ("pastry.leave", .pastry(.leave(leafSet: [peerA]))),
        ("pastry.neighbour_request", .pastry(.neighbourRequest)),
        ("pastry.neighbour_reply", .pastry(.neighbourReply(entries: [peerA, peerB]))),

        ("tree.join", .tree(.join(TreeJoin(topic: topic, joiner: peerA, budget: 4, spare: 3, children: 1)))),
        ("tree.accept", .tree(.accept(topic: topic, path: [sender, peerB.id]))),
        ("tree.reject", .tree(.reject(topic: topic, handedDown: true))),
        ("tree.leave", .tree(.leave(topic: topic))),
        ("tree.heartbeat", .tree(.heartbeat(topics: [topic, group]))),
        ("tree.refresh", .tree(.refresh(TreeRefresh(spare: 5, topics: [TreeTopicLoad(topic: topic, children: 2),
                                                                        TreeTopicLoad(topic: group, children: 0)])))),
        ("tree.anycast", .tree(.anycast(TreeAnycast(group: group, target: topic, requester: peerA, move: true,
                                                    visited: [peerB.id], stack: [source])))),
        ("tree.anycast_failed", .tree(.anycastFailed(group: group, target: topic))),
        ("tree.fill", .tree(.fill(topic: topic, from: 0x0102_0304))),
        ("tree.move", .tree(.move(topic: topic))),
        ("tree.promote", .tree(.promote(TreeJoin(topic: topic, joiner: peerA, budget: 2, spare: 7, children: 3)))),

        ("mesh.join", .mesh(.join)),
        ("mesh.members", .mesh(.members([peerA, peerB]))),
        ("mesh.partner_request", .mesh(.partnerRequest(MeshStatus(spareKbps: 256, level: 20,
                                                                  map: map(start: 100, count: 10, held: [100, 101, 103, 109]))))),
        ("mesh.partner_accept", .mesh(.partnerAccept(MeshStatus(spareKbps: 0, level: 255, map: map(start: 0, count: 0, held: []))))),
        ("mesh.partner_refuse", .mesh(.partnerRefuse([peerB]))),
        ("mesh.status", .mesh(.status(MeshStatus(spareKbps: 128, level: 8,
                                                 map: map(start: 1000, count: 16, held: Array(1000...1007) + [1015]))))),
        ("mesh.have", .mesh(.have(spareKbps: 64, level: 24, sequences: [110, 111]))),
        ("mesh.request", .mesh(.request([104, 105, 106]))),
        ("mesh.refuse", .mesh(.refuse([106]))),
        ("mesh.data", .mesh(.data(chunk, status: MeshStatus(spareKbps: 96, level: 34, map: map(start: 0, count: 8, held: [0, 7]))))),
        ("mesh.leave", .mesh(.leave)),
        ("mesh.subscribe", .mesh(.subscribe(0x8005, from: 1000))),
        ("mesh.declined", .mesh(.declined(0x0004))),
    ]

    static func envelopes() -> [Envelope] { messages.map { Envelope(sender: sender, message: $0.message) } }

    /// The fixture with this vector name.
    static func message(_ name: String) throws -> Message {
        try XCTUnwrap(messages.first { $0.name == name }?.message, "no fixture named \(name)")
    }
}

extension ByteBuffer {
    var hexString: String { readableBytesView.map { String(format: "%02x", $0) }.joined() }

    init?(hex: String) {
        let digits = hex.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes: bytes)
    }
}
