import NIOCore
import CanopyCore
@testable import CanopyMesh

/// Hand-made identities, stream, chunks and nodes for the mesh tests.
enum MeshFixtures {
    static let streamID = NodeID(high: 0x5157, low: 0xEA)

    static func ref(_ index: Int) -> NodeRef {
        NodeRef(id: NodeID(high: 0xA0, low: UInt64(index)), address: PeerAddress(simulatedNode: index))
    }

    static func info(_ scheduler: MeshScheduler = .donet) -> StreamInfo {
        StreamInfo(streamID: streamID, publicKey: ByteBuffer(repeating: 7, count: StreamInfo.publicKeySize),
                   mode: .mesh, modeParameter: scheduler.rawValue, chunkMicros: 200_000, bitrateKbps: 64,
                   preSkip: 312, source: ref(0))
    }

    static func chunk(_ sequence: UInt32, stream: StreamID = streamID) -> Chunk {
        Chunk(streamID: stream, sequence: sequence, generatedAt: Int64(sequence) * 200_000,
              payload: ByteBuffer(repeating: UInt8(truncatingIfNeeded: sequence), count: 1_600),
              signature: ByteBuffer(repeating: 0x55, count: Chunk.signatureSize))
    }

    static func map(start: UInt32, count: Int, held: [UInt32]) -> BufferMap {
        var map = BufferMap(start: start, count: count)
        for s in held { map.insert(s) }
        return map
    }

    /// A partner's status; `level` 8 (one hop from the source) unless said otherwise.
    static func status(spare: UInt16, held: [UInt32], start: UInt32 = 0, count: Int = 40, level: UInt8 = 8) -> MeshStatus {
        MeshStatus(spareKbps: spare, level: level, map: map(start: start, count: count, held: held))
    }
}

/// One core under test with its effects collected, driven at a hand-set clock.
struct Harness {
    var node: MeshNode
    var now = Instant(micros: 1_000_000)
    var rng = SeededRNG(seed: 42)
    var effects = Effects()

    init(_ node: MeshNode) { self.node = node }

    /// Runs one event and returns the effects it produced.
    @discardableResult
    mutating func run(_ event: Event) -> [Effect] {
        effects.removeAll()
        node.handle(event, now: now, rng: &rng, effects: &effects)
        return effects.items
    }

    /// As a driver delivers it: the sender's id only if the message's header form carries it.
    @discardableResult
    mutating func receive(_ message: MeshMessage, from index: Int) -> [Effect] {
        let peer = MeshFixtures.ref(index)
        let wire = Message.mesh(message)
        return run(.received(wire, from: peer.address, sender: wire.namesSender ? peer.id : nil))
    }

    mutating func advance(_ span: TimeSpan) { now += span }

    /// Wakes the node each time its upload link drains, from the effects `sent`, until its
    /// serve queue is empty: the chunks it sent, in order, as "sequence→partner index".
    mutating func drainUploads(after sent: [Effect]) -> [String] {
        var sent = sent
        var order: [String] = []
        for _ in 0..<20 {
            order += sent.meshSends.compactMap { if case .data(let c, _) = $0.0 { "\(c.sequence)→\($0.1)" } else { nil } }
            guard let wake = sent.timer(MeshNode.uploadTimer) else { break }
            now = wake
            sent = run(.timer(MeshNode.uploadTimer))
        }
        return order
    }

    /// The source with `push` pushes a chunk and partners `1...partners` (spare upload from
    /// `spare`, 100 kbit/s unless said otherwise).
    static func source(upload: Double = 2_000, push: Int, partners: Int,
                       spare: (Int) -> UInt16 = { _ in 100 }) -> Harness {
        var config = MeshConfig()
        config.sourcePush = push
        var h = Harness(MeshNode(source: MeshFixtures.ref(0), info: MeshFixtures.info(), uploadKbps: upload, config: config))
        h.run(.command(.join(bootstrap: nil)))
        for index in 1...partners { h.receive(.partnerRequest(MeshFixtures.status(spare: spare(index), held: [])), from: index) }
        return h
    }

    /// A joined peer that knows the stream and has `partners` (index → status) as partners.
    static func peer(upload: Double = 256, config: MeshConfig = MeshConfig(), scheduler: MeshScheduler = .donet,
                     partners: [(Int, MeshStatus)]) -> Harness {
        var h = Harness(MeshNode(peer: MeshFixtures.ref(1), uploadKbps: upload, config: config,
                                 expectedStream: MeshFixtures.streamID, modeledVerification: true))
        h.run(.command(.join(bootstrap: MeshFixtures.ref(0).address)))
        h.run(.received(.stream(.info(MeshFixtures.info(scheduler))), from: MeshFixtures.ref(0).address,
                        sender: MeshFixtures.ref(0).id))
        for (index, status) in partners { h.receive(.partnerAccept(status), from: index) }
        return h
    }
}

extension Array where Element == Effect {
    /// Every mesh message sent, with its destination's node index.
    var meshSends: [(MeshMessage, Int)] {
        compactMap {
            if case .send(.mesh(let m), let to) = $0 { return (m, to.simulatedIndex) }
            return nil
        }
    }

    /// Sequence numbers requested from node `index`.
    func requested(from index: Int) -> [UInt32] {
        meshSends.flatMap { message, to -> [UInt32] in
            if case .request(let seqs) = message, to == index { return seqs }
            return []
        }
    }

    var delivered: [UInt32] {
        compactMap { if case .deliver(let c) = $0 { return c.sequence }; return nil }
    }

    func observed<T: Observation>(_ type: T.Type) -> [T] {
        compactMap { if case .observe(let o) = $0 { return o as? T }; return nil }
    }

    func timer(_ key: TimerKey) -> Instant? {
        compactMap { if case .setTimer(key, let at) = $0 { return at }; return nil }.last
    }
}
