import XCTest
@testable import CanopyTree
import CanopyCore
import CanopyPastry
import CanopyStream
import NIOCore

/// The load-aware parts of SplitStream, one node at a time: the upload-queue model, refusing
/// children while the queue is long, re-joining a starving stripe, and pruning stray
/// parents without flooding them.
final class SplitStreamLoadTests: XCTestCase {
    private let source = NodeRef(id: NodeID(high: 0xA000_0000_0000_0000, low: 1), address: PeerAddress(simulatedNode: 0))
    private let parent = NodeRef(id: NodeID(high: 0x3000_0000_0000_0000, low: 2), address: PeerAddress(simulatedNode: 1))
    private let me = NodeRef(id: NodeID(high: 0x5000_0000_0000_0000, low: 3), address: PeerAddress(simulatedNode: 2))
    private let joiner = NodeRef(id: NodeID(high: 0x7000_0000_0000_0000, low: 4), address: PeerAddress(simulatedNode: 3))

    private var info: StreamInfo {
        StreamInfo(streamID: NodeID(high: 0x5EED, low: 7), publicKey: ByteBuffer(repeating: 1, count: 32), mode: .tree,
                   modeParameter: 2, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 0, source: source)
    }

    /// Runs one upcall on `app` as node `ref` at `now`; returns what it did.
    @discardableResult
    private func upcall(_ app: inout SplitStream, as ref: NodeRef, at now: Instant,
                        _ body: (inout SplitStream, inout KBRContext) -> Void) -> [Effect] {
        var kbr = KBRContext(testingAs: ref, now: now)
        body(&app, &kbr)
        return kbr.effects.items
    }

    private func sent(_ effects: [Effect]) -> [TreeMessage] {
        effects.compactMap { if case .send(.tree(let m), _) = $0 { m } else { nil } }
    }

    func testUploadMeterQueuesBytesAndDrainsAtTheUploadRate() {
        var meter = UploadMeter(uploadKbps: 80) // 10,000 bytes a second
        let t0 = Instant(micros: 5_000_000)
        meter.record(bytes: 10_000, now: t0)
        XCTAssertEqual(meter.backlog(at: t0).micros, 1_000_000)
        XCTAssertEqual(meter.backlog(at: t0 + .milliseconds(Int64(400))).micros, 600_000)
        meter.record(bytes: 5_000, now: t0 + .milliseconds(Int64(500)))
        XCTAssertEqual(meter.backlog(at: t0 + .milliseconds(Int64(500))).micros, 1_000_000, "0.5 s left plus 0.5 s more")
        XCTAssertEqual(meter.backlog(at: t0 + .seconds(3)), .zero, "an idle link drains completely")
    }

    /// The source has free slots either way; only its queue decides.
    func testANodeWithALongUploadQueueRefusesChildren() {
        let join = TreeJoin(topic: StripeTopics(streamID: info.streamID, stripes: 2).stripes[0], joiner: joiner,
                            budget: 0, spare: 0, children: 0)
        let now = Instant(micros: 2_000_000)
        var idle = SplitStream(uploadKbps: 2000, info: info, isSource: true, modeledVerification: true)
        let accepted = sent(upcall(&idle, as: source, at: now) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) })
        XCTAssertTrue(accepted.contains { if case .accept = $0 { true } else { false } })
        XCTAssertEqual(idle.usedSlots, 1)

        var busy = SplitStream(uploadKbps: 2000, info: info, isSource: true, modeledVerification: true)
        busy.meter.record(bytes: 250_000, now: now) // a second of upload already queued
        XCTAssertGreaterThan(busy.spareSlots, 0)
        let refused = sent(upcall(&busy, as: source, at: now) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) })
        XCTAssertTrue(refused.isEmpty, "a busy source takes no leaf and spends no upload refusing it")
        XCTAssertEqual(busy.usedSlots, 0, "no child taken while the queue is long")
    }

    /// A node joined to both stripes under `parent`, ready to be fed.
    private func attachedNode(at now: Instant) -> SplitStream {
        var app = SplitStream(uploadKbps: 500, info: info, modeledVerification: true)
        upcall(&app, as: me, at: now) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        for topic in app.topics!.stripes {
            upcall(&app, as: me, at: now) { $0.receive(.tree(.accept(topic: topic, path: [source.id, parent.id])), from: parent, kbr: &$1) }
        }
        return app
    }

    private func chunk(_ sequence: UInt32, at now: Instant) -> Message {
        .stream(.chunk(Chunk(streamID: info.streamID, sequence: sequence, generatedAt: now.micros,
                             payload: ByteBuffer(repeating: 0, count: 160), signature: ByteBuffer(repeating: 0, count: 64))))
    }

    func testAStripeThatGetsHeartbeatsButNoDataIsRejoined() {
        var now = Instant(micros: 1_000_000)
        var app = attachedNode(at: now)
        let starving = app.topics!.stripes[0]
        var sequence: UInt32 = 1
        var lostAt: Instant?
        var toParent: [TreeMessage] = []
        for _ in 0..<60 {
            now += .milliseconds(Int64(250))
            let effects = upcall(&app, as: me, at: now) { app, kbr in
                app.receive(self.chunk(sequence, at: now), from: self.parent, kbr: &kbr) // stripe 1 flows
                app.receive(.tree(.heartbeat(topics: [starving])), from: self.parent, kbr: &kbr)
                app.timer(SplitStream.tickTimer, kbr: &kbr)
            }
            sequence += 2
            toParent += sent(effects)
            if lostAt == nil, effects.contains(where: { if case .observe(let o) = $0 { o is TreeParentLost } else { false } }) {
                lostAt = now
            }
        }
        XCTAssertNotNil(lostAt, "the starving stripe was given up")
        XCTAssertNil(app.trees[0].parent, "and is being re-joined")
        XCTAssertEqual(app.trees[1].parent?.id, parent.id, "the stripe that flows keeps its parent")
        XCTAssertTrue(toParent.contains(.leave(topic: starving)), "the old parent is told to stop")
        if let lostAt {
            XCTAssertGreaterThan(lostAt - Instant(micros: 1_000_000), TreeConfig().parentTimeout,
                                 "heartbeats alone are not starvation until the starvation timeout")
        }
    }

    func testStrayDataIsPrunedOncePerChildTimeoutNotOncePerChunk() {
        var now = Instant(micros: 1_000_000)
        var app = attachedNode(at: now)
        let stray = NodeRef(id: NodeID(high: 0x9000_0000_0000_0000, low: 9), address: PeerAddress(simulatedNode: 9))
        var leaves = 0
        for sequence in stride(from: UInt32(0), to: 200, by: 2) { // 100 chunks of stripe 0 over 5 s
            now += .milliseconds(Int64(50))
            let effects = upcall(&app, as: me, at: now) { $0.receive(self.chunk(sequence, at: now), from: stray, kbr: &$1) }
            leaves += effects.filter { if case .send(.tree(.leave), let to) = $0 { to == stray.address } else { false } }.count
        }
        XCTAssertEqual(leaves, 1, "one leave for a whole burst of stray data")
    }
}
