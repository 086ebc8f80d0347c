import XCTest
@testable import CanopyTree
import CanopyCore
import NIOCore

/// Backfill, one node at a time: a node that finds a new parent asks it for what it missed,
/// the parent sends exactly the kept chunks the child did not get live (only to a child, and
/// only while its upload queue is short), and a late chunk is passed down the same way.
final class TreeFillTests: SplitStreamNodeTestCase {
    /// Shares stripe 0's first digit, so a direct join in stripe 0 may make it a parent.
    private let parent = peer(0x0300_0000_0000_0000, 1)
    private let child = peer(0x5000_0000_0000_0000, 2)
    private let stranger = peer(0x7000_0000_0000_0000, 3)

    /// `parent` has stripe 0's chunks 0, 2, 4 when `child` joins, then passes 6 on live.
    private func parentWithChild() -> SplitStream {
        var app = attached(as: parent)
        for sequence: UInt32 in [0, 2, 4] { upcall(&app, as: parent) { $0.receive(chunk(sequence), from: source, kbr: &$1) } }
        let join = TreeJoin(topic: stripe0, joiner: child, budget: 0, spare: 0, children: 0)
        upcall(&app, as: parent) { $0.receive(.tree(.join(join)), from: child, kbr: &$1) }
        XCTAssertTrue(app.trees[0].hasChild(child.id))
        let live = upcall(&app, as: parent) { $0.receive(chunk(6), from: source, kbr: &$1) }
        XCTAssertEqual(chunks(live, to: child), [6])
        return app
    }

    func testAParentSendsAChildOnlyTheKeptChunksItMissed() {
        var app = parentWithChild()
        let sent = upcall(&app, as: parent) { $0.receive(.tree(.fill(topic: stripe0, from: 2)), from: child, kbr: &$1) }
        XCTAssertEqual(chunks(sent, to: child), [2, 4], "not 0 (not asked for), not 6 (sent live)")
        let again = upcall(&app, as: parent) { $0.tick(&$1) }
        XCTAssertEqual(chunks(again, to: child), [], "each owed chunk goes once")
    }

    func testOnlyAChildMayAskForAFill() {
        var app = parentWithChild()
        let sent = upcall(&app, as: parent) { $0.receive(.tree(.fill(topic: stripe0, from: 0)), from: stranger, kbr: &$1) }
        XCTAssertEqual(chunks(sent, to: stranger), [])
    }

    func testAFillWaitsForAShortUploadQueue() {
        var app = parentWithChild()
        // Ten seconds of a 500 kbit/s upload already queued.
        let busy = upcall(&app, as: parent, queuedBytes: 625_000) {
            $0.receive(.tree(.fill(topic: stripe0, from: 0)), from: child, kbr: &$1)
        }
        XCTAssertEqual(chunks(busy, to: child), [])
        let idle = upcall(&app, as: parent) { $0.tick(&$1) }
        XCTAssertEqual(chunks(idle, to: child), [0, 2, 4])
    }

    func testANodeAsksItsNewParentForWhatItMissed() {
        var app = attached(as: child)
        for sequence: UInt32 in [0, 1, 2] { upcall(&app, as: child) { $0.receive(chunk(sequence), from: source, kbr: &$1) } }
        upcall(&app, as: child) { $0.receive(.tree(.reject(topic: stripe0, handedDown: false)), from: source, kbr: &$1) }
        XCTAssertNil(app.trees[0].parent)
        let adopted = upcall(&app, as: child) {
            $0.receive(.tree(.accept(topic: stripe0, path: [source.id, parent.id])), from: parent, kbr: &$1)
        }
        XCTAssertEqual(fills(adopted, to: parent).map(\.from), [3], "everything after the newest chunk it holds in the stripe")
        XCTAssertEqual(fills(adopted, to: parent).map(\.topic), [stripe0])
    }

    func testAStripeThatNeverDeliveredAsksFromTheFirstOwedChunk() {
        var app = SplitStream(uploadKbps: 500, info: info, modeledVerification: true)
        upcall(&app, as: child) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        let stripe1 = app.topics!.stripes[1]
        let early = upcall(&app, as: child) { $0.receive(.tree(.accept(topic: stripe1, path: [source.id])), from: source, kbr: &$1) }
        XCTAssertTrue(early.allSatisfy { if case .send(.tree(.fill), _) = $0 { false } else { true } },
                      "before its first chunk, a node does not know what it is owed")
        upcall(&app, as: child) { $0.receive(chunk(5), from: source, kbr: &$1) }
        let adopted = upcall(&app, as: child) {
            $0.receive(.tree(.accept(topic: stripe0, path: [source.id, parent.id])), from: parent, kbr: &$1)
        }
        XCTAssertEqual(fills(adopted, to: parent).map(\.from), [5])
    }

    /// `parent`, attached, with `child` adopted in stripe 0 and chunk `newest` received.
    private func parentWithOneChild(newest: UInt32) -> SplitStream {
        var app = attached(as: parent)
        let join = TreeJoin(topic: stripe0, joiner: child, budget: 0, spare: 0, children: 0)
        upcall(&app, as: parent) { $0.receive(.tree(.join(join)), from: child, kbr: &$1) }
        upcall(&app, as: parent) { $0.receive(chunk(newest), from: source, kbr: &$1) }
        return app
    }

    /// A node that has stripe 0 up to chunk 6 gets chunk 4 late (its own fill): its child
    /// missed it too, and gets it once the queue is short.
    func testALateChunkIsPassedDownWhenTheQueueAllows() {
        var fresh = parentWithOneChild(newest: 6)
        let busy = upcall(&fresh, as: parent, queuedBytes: 625_000) { $0.receive(chunk(4), from: source, kbr: &$1) }
        XCTAssertEqual(chunks(busy, to: child), [], "a late chunk never jumps ahead of a long queue")
        XCTAssertTrue(busy.contains { if case .deliver(let c) = $0 { c.sequence == 4 } else { false } }, "it still plays")
        let idle = upcall(&fresh, as: parent) { $0.tick(&$1) }
        XCTAssertEqual(chunks(idle, to: child), [4])
    }

    /// A repaired stripe's backfill (chunk 100 of stripe 0 when stripe 1 is at 201: 2 s behind)
    /// waits for a short queue like a late chunk, so it cannot hold up the live stream; a chunk
    /// a few stripe periods behind is live and goes at once.
    func testABackfilledChunkWaitsForAShortQueueButALiveOneDoesNot() {
        var app = parentWithOneChild(newest: 201)
        let busy = upcall(&app, as: parent, queuedBytes: 625_000) { $0.receive(chunk(100), from: source, kbr: &$1) }
        XCTAssertEqual(chunks(busy, to: child), [], "the backfill waits")
        let live = upcall(&app, as: parent, queuedBytes: 625_000) { $0.receive(chunk(196), from: source, kbr: &$1) }
        XCTAssertEqual(chunks(live, to: child), [196])
        let idle = upcall(&app, as: parent) { $0.tick(&$1) }
        XCTAssertEqual(chunks(idle, to: child), [100])
    }

    /// Catch-up is judged against the stripe's parent timeout, which grows with the interval
    /// between one stripe's chunks: with 1 s chunks on 2 stripes a chunk is normally a
    /// second or two behind the other stripe's newest, and is live; with 20 ms chunks, 1.2 s
    /// behind is catch-up.
    func testCatchUpAllowsForTheIntervalBetweenAStripesChunks() {
        var short = attached(as: parent)
        short.newest = [200, 199]
        XCTAssertFalse(short.isBackfill(Chunk(streamID: info.streamID, sequence: 141, generatedAt: 0, payload: ByteBuffer(), signature: ByteBuffer())))
        XCTAssertTrue(short.isBackfill(Chunk(streamID: info.streamID, sequence: 139, generatedAt: 0, payload: ByteBuffer(), signature: ByteBuffer())))
        var slowInfo = info
        slowInfo.chunkMicros = 1_000_000
        var long = SplitStream(uploadKbps: 500, info: slowInfo, modeledVerification: true)
        upcall(&long, as: parent) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        XCTAssertEqual(long.stripeCount, 2)
        long.newest = [20, 19]
        XCTAssertFalse(long.isBackfill(Chunk(streamID: info.streamID, sequence: 18, generatedAt: 0, payload: ByteBuffer(), signature: ByteBuffer())),
                       "2 s behind: within a heartbeat and a chunk interval per stripe (2.5 s)")
        XCTAssertTrue(long.isBackfill(Chunk(streamID: info.streamID, sequence: 17, generatedAt: 0, payload: ByteBuffer(), signature: ByteBuffer())))
    }

    /// A listener is owed every chunk generated since it asked to join: one that asked a
    /// second before its first chunk (sequence 100, 20 ms chunks) is owed from chunk 50, and
    /// asks a new parent in a stripe that never delivered for everything from there.
    func testANewParentIsAskedForEveryChunkSinceTheJoin() {
        var app = attached(as: child)
        upcall(&app, as: child, at: start + .seconds(1)) { $0.receive(chunk(100, at: start + .seconds(1)), from: source, kbr: &$1) }
        let stripe1 = app.topics!.stripes[1]
        upcall(&app, as: child, at: start + .seconds(1)) {
            $0.receive(.tree(.reject(topic: stripe1, handedDown: false)), from: source, kbr: &$1)
        }
        let adopted = upcall(&app, as: child, at: start + .seconds(1)) {
            $0.receive(.tree(.accept(topic: stripe1, path: [source.id, parent.id])), from: parent, kbr: &$1)
        }
        XCTAssertEqual(fills(adopted, to: parent).map(\.from), [50], "not from 100, the first chunk it received")
    }

    /// A parent found before the stream reached the node: the node asks it when the stripe's
    /// first chunk shows that earlier ones of the stripe were owed, and only then.
    func testAParentFoundBeforeTheFirstChunkIsAskedWhenTheStripeMissedItsStart() {
        var late = attached(as: child, under: parent)
        let missed = upcall(&late, as: child, at: start + .seconds(1)) {
            $0.receive(chunk(100, at: start + .seconds(1)), from: parent, kbr: &$1)
        }
        XCTAssertEqual(fills(missed, to: parent).map(\.topic), [stripe0])
        XCTAssertEqual(fills(missed, to: parent).map(\.from), [50])
        let again = upcall(&late, as: child, at: start + .seconds(1)) {
            $0.receive(chunk(102, at: start + .seconds(1)), from: parent, kbr: &$1)
        }
        XCTAssertEqual(fills(again, to: parent).count, 0, "asked once")

        var onTime = attached(as: child, under: parent)
        let first = upcall(&onTime, as: child, at: start + .seconds(1)) {
            $0.receive(chunk(0, at: start + .milliseconds(900)), from: parent, kbr: &$1)
        }
        XCTAssertEqual(fills(first, to: parent).count, 0, "the stripe's first chunk is the first it was owed")
    }

    /// A busy parent's owed chunks stay owed after newer ones push them out of its store.
    func testAnOwedChunkIsSentAfterItLeftTheParentsStore() {
        var config = TreeConfig()
        config.backfillChunks = 2
        var app = attached(as: parent, config: config)
        for sequence: UInt32 in [0, 2, 4] { upcall(&app, as: parent) { $0.receive(chunk(sequence), from: source, kbr: &$1) } }
        let join = TreeJoin(topic: stripe0, joiner: child, budget: 0, spare: 0, children: 0)
        upcall(&app, as: parent) { $0.receive(.tree(.join(join)), from: child, kbr: &$1) }
        let busy = upcall(&app, as: parent, queuedBytes: 625_000) {
            $0.receive(.tree(.fill(topic: stripe0, from: 2)), from: child, kbr: &$1)
        }
        XCTAssertEqual(chunks(busy, to: child), [])
        for sequence: UInt32 in [6, 8] {
            upcall(&app, as: parent, queuedBytes: 625_000) { $0.receive(chunk(sequence), from: source, kbr: &$1) }
        }
        XCTAssertEqual(app.recent[0].map(\.sequence), [6, 8], "2 and 4 are no longer kept")
        let idle = upcall(&app, as: parent) { $0.tick(&$1) }
        XCTAssertEqual(chunks(idle, to: child), [2, 4])
    }
}
