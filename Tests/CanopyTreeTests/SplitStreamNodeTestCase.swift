import XCTest
@testable import CanopyTree
import CanopyCore
import CanopyPastry
import CanopyStream
import NIOCore

/// The set-up shared by the tests that drive one SplitStream node by hand (feed it events,
/// read its effects): a two-stripe stream from `source`, an upcall runner, and a started
/// node already attached in both stripes. One place, so the tests agree on the stream and
/// on how a node is brought up.
class SplitStreamNodeTestCase: XCTestCase {
    let source = peer(0xA000_0000_0000_0000, 0)
    /// When the upcalls of a test happen unless it says otherwise.
    static let start = Instant(micros: 2_000_000)
    var start: Instant { Self.start }

    var info: StreamInfo {
        StreamInfo(streamID: NodeID(high: 0x5EED, low: 7), publicKey: ByteBuffer(repeating: 1, count: 32), mode: .tree,
                   modeParameter: 2, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 0, source: source)
    }

    var stripe0: NodeID { StripeTopics(streamID: info.streamID, stripes: 2).stripes[0] }

    /// Runs one upcall on `app` as node `ref`, with `queuedBytes` already in its upload
    /// queue; returns its effects and the routes it asked for.
    func run(_ app: inout SplitStream, as ref: NodeRef, at now: Instant = start, leafSet: [NodeRef] = [],
             queuedBytes: Int = 0, _ body: (inout SplitStream, inout KBRContext) -> Void)
        -> (effects: [Effect], routed: [Message]) {
        var kbr = KBRContext(testingAs: ref, leafSet: leafSet, now: now, uploadKbps: app.modeledUploadKbps,
                             queuedBytes: queuedBytes)
        body(&app, &kbr)
        return (kbr.effects.items, kbr.routeRequests.map(\.payload))
    }

    /// `run`, when only the effects matter.
    @discardableResult
    func upcall(_ app: inout SplitStream, as ref: NodeRef, at now: Instant = start, leafSet: [NodeRef] = [],
                queuedBytes: Int = 0, _ body: (inout SplitStream, inout KBRContext) -> Void) -> [Effect] {
        run(&app, as: ref, at: now, leafSet: leafSet, queuedBytes: queuedBytes, body).effects
    }

    /// Node `ref` (500 kbit/s upload), started and attached in both stripes under `parent`
    /// (the source itself when nil).
    func attached(as ref: NodeRef, under parent: NodeRef? = nil, at now: Instant = start,
                  config: TreeConfig = TreeConfig()) -> SplitStream {
        var app = SplitStream(uploadKbps: 500, config: config, info: info, modeledVerification: true)
        upcall(&app, as: ref, at: now) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        let from = parent ?? source
        let path = parent.map { [source.id, $0.id] } ?? [source.id]
        for topic in app.topics!.stripes {
            upcall(&app, as: ref, at: now) { $0.receive(.tree(.accept(topic: topic, path: path)), from: from, kbr: &$1) }
        }
        return app
    }

    /// Chunk `sequence` of the stream (160 bytes of payload), generated at `now`.
    func chunk(_ sequence: UInt32, at now: Instant = start) -> Message {
        .stream(.chunk(Chunk(streamID: info.streamID, sequence: sequence, generatedAt: now.micros,
                             payload: ByteBuffer(repeating: 0, count: 160), signature: ByteBuffer(repeating: 0, count: 64))))
    }

    /// Sequence numbers of the chunks sent to `to`.
    func chunks(_ effects: [Effect], to: NodeRef) -> [UInt32] {
        effects.compactMap { if case .send(.stream(.chunk(let c)), to.address) = $0 { c.sequence } else { nil } }
    }

    /// The fills (backfill asks or patch asks) sent to `to`.
    func fills(_ effects: [Effect], to: NodeRef) -> [(topic: NodeID, from: UInt32)] {
        effects.compactMap { if case .send(.tree(.fill(let topic, let from)), to.address) = $0 { (topic, from) } else { nil } }
    }

    /// The tree messages among `effects`, whoever they went to.
    func treeMessages(_ effects: [Effect]) -> [TreeMessage] {
        effects.compactMap { if case .send(.tree(let m), _) = $0 { m } else { nil } }
    }
}

/// A test node at simulated address `index` whose id starts with `high` (its first hex digit
/// decides the one stripe it forwards in).
func peer(_ high: UInt64, _ index: Int) -> NodeRef {
    NodeRef(id: NodeID(high: high, low: UInt64(index) + 1), address: PeerAddress(simulatedNode: index))
}
