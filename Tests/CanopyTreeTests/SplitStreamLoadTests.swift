import XCTest
@testable import CanopyTree
import CanopyCore
import CanopyPastry
import NIOCore

/// The load-aware parts of SplitStream, one node at a time: refusing children while the
/// queue is long, re-joining a starving stripe (but not before the stream arrived), keeping
/// new forwarders at the source, not relaying joins through a swamped link, and pruning
/// stray parents without flooding them.
final class SplitStreamLoadTests: SplitStreamNodeTestCase {
    private let parent = peer(0x3000_0000_0000_0000, 1)
    private let me = peer(0x5000_0000_0000_0000, 2)
    private let joiner = peer(0x7000_0000_0000_0000, 3)

    /// The source has free slots either way; only its queue decides.
    func testANodeWithALongUploadQueueRefusesChildren() {
        let join = TreeJoin(topic: stripe0, joiner: joiner,
                            budget: 0, spare: 0, children: 0)
        let now = Instant(micros: 2_000_000)
        var idle = SplitStream(uploadKbps: 2000, info: info, isSource: true, modeledVerification: true)
        let accepted = treeMessages(upcall(&idle, as: source, at: now) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) })
        XCTAssertTrue(accepted.contains { if case .accept = $0 { true } else { false } })
        XCTAssertEqual(idle.usedSlots, 1)

        var busy = SplitStream(uploadKbps: 2000, info: info, isSource: true, modeledVerification: true)
        XCTAssertGreaterThan(busy.spareSlots, 0)
        // A second of upload (2,000 kbit/s) already queued.
        let refused = treeMessages(upcall(&busy, as: source, at: now, queuedBytes: 250_000) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) })
        XCTAssertTrue(refused.isEmpty, "a busy source takes no leaf and spends no upload refusing it")
        XCTAssertEqual(busy.usedSlots, 0, "no child taken while the queue is long")
    }

    func testAStripeThatGetsHeartbeatsButNoDataIsRejoined() {
        let now = Instant(micros: 1_000_000)
        var app = attached(as: me, under: parent, at: now)
        let starving = app.topics!.stripes[0]
        var lostAt: Instant?
        var toParent: [TreeMessage] = []
        for (at, effects) in starve(&app, quiet: starving, from: now, steps: 60) {
            toParent += treeMessages(effects)
            if lostAt == nil, lost(effects) { lostAt = at }
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
        var app = attached(as: me, under: parent, at: now)
        let stray = peer(0x9000_0000_0000_0000, 9)
        var leaves = 0
        for sequence in stride(from: UInt32(0), to: 200, by: 2) { // 100 chunks of stripe 0 over 5 s
            now += .milliseconds(Int64(50))
            let effects = upcall(&app, as: me, at: now) { $0.receive(self.chunk(sequence, at: now), from: stray, kbr: &$1) }
            leaves += effects.filter { if case .send(.tree(.leave), let to) = $0 { to == stray.address } else { false } }.count
        }
        XCTAssertEqual(leaves, 1, "one leave for a whole burst of stray data")
    }

    /// Every 250 ms from `start`: a chunk of stripe 1 and a bare heartbeat for `quiet`, then
    /// a tick. Returns each step's time and effects.
    private func starve(_ app: inout SplitStream, quiet: NodeID, from start: Instant, steps: Int) -> [(Instant, [Effect])] {
        var now = start
        var sequence: UInt32 = 1
        var log: [(Instant, [Effect])] = []
        for _ in 0..<steps {
            now += .milliseconds(Int64(250))
            let at = now
            let effects = upcall(&app, as: me, at: at) { app, kbr in
                app.receive(self.chunk(sequence, at: at), from: self.parent, kbr: &kbr)
                app.receive(.tree(.heartbeat(topics: [quiet])), from: self.parent, kbr: &kbr)
                app.timer(SplitStream.tickTimer, kbr: &kbr)
            }
            sequence += 2
            log.append((at, effects))
        }
        return log
    }

    private func lost(_ effects: [Effect]) -> Bool {
        effects.contains { if case .observe(let o) = $0 { o is TreeParentLost } else { false } }
    }

    /// Trees form before the stream starts: a parent accepted long before the first chunk
    /// is not "starving" the moment another stripe's first chunk arrives.
    func testStarvationIsCountedFromTheStreamsArrival() {
        var now = Instant(micros: 1_000_000)
        var app = attached(as: me, under: parent, at: now)
        let quiet = app.topics!.stripes[0]
        now = Instant(micros: 20_000_000) // the stream starts long after the accepts
        var lostAfter: TimeSpan?
        for (at, effects) in starve(&app, quiet: quiet, from: now, steps: 48) where lostAfter == nil && lost(effects) {
            lostAfter = at - now
        }
        guard let lostAfter else { return XCTFail("a stripe that never flows is given up in the end") }
        XCTAssertGreaterThan(lostAfter, TreeConfig().starvationTimeout, "patience starts with the stream, not the accept")
    }

    /// A forwarder the source has just taken in is not mistaken for a leaf (its first
    /// refresh has not come yet) and evicted when the next forwarder needs room.
    func testTheSourceKeepsAForwarderItJustTookIn() {
        var config = TreeConfig()
        config.maxChildren = 2
        var source = SplitStream(uploadKbps: 2000, config: config, info: info, isSource: true, modeledVerification: true)
        let topic = source.topics!.stripes[0]
        let leaf = peer(0x0100_0000_0000_0000, 5)
        let forwarder = peer(0x0200_0000_0000_0000, 6)
        let next = peer(0x0300_0000_0000_0000, 7)
        let now = Instant(micros: 2_000_000)
        for (joiner, children) in [(leaf, UInt8(0)), (forwarder, 4), (next, 9)] {
            let join = TreeJoin(topic: topic, joiner: joiner, budget: 0, spare: 0, children: children)
            upcall(&source, as: self.source, at: now) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        }
        XCTAssertEqual(Set(source.trees[0].children.map(\.ref.id)), [forwarder.id, next.id], "the leaf made room")
    }

    /// A chunk goes first to the child with the most nodes below it, leaves last: each send
    /// waits its turn in the upload queue, and a child's delay is its whole subtree's.
    func testAChunkGoesToTheBiggestSubtreeFirst() {
        var source = SplitStream(uploadKbps: 2000, info: info, isSource: true, modeledVerification: true)
        let topic = source.topics!.stripes[0]
        let leaf = peer(0x0100_0000_0000_0000, 5)
        let small = peer(0x0200_0000_0000_0000, 6)
        let big = peer(0x0300_0000_0000_0000, 7)
        for (joiner, children) in [(leaf, UInt8(0)), (small, 2), (big, 9)] {
            let join = TreeJoin(topic: topic, joiner: joiner, budget: 0, spare: 0, children: children)
            upcall(&source, as: self.source) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        }
        let first = Chunk(streamID: info.streamID, sequence: 0, generatedAt: start.micros,
                          payload: ByteBuffer(repeating: 0, count: 160), signature: ByteBuffer(repeating: 0, count: 64))
        let effects = upcall(&source, as: self.source) { app, kbr in app.command(.publish(first), kbr: &kbr) }
        let order = effects.compactMap { if case .send(.stream(.chunk), let address) = $0 { address } else { nil } }
        XCTAssertEqual(order, [big.address, small.address, leaf.address])
    }

    /// A node counts everyone below it, not just its children: each child counts itself and
    /// what it said hangs below it. That count is what its parent orders its sends by.
    func testANodeCountsEveryNodeBelowIt() {
        let forwarder = peer(0x0400_0000_0000_0000, 4)
        var app = attached(as: forwarder)
        let topic = app.topics!.stripes[0]
        for (joiner, below) in [(peer(0x0500_0000_0000_0000, 5), UInt8(3)), (peer(0x0600_0000_0000_0000, 6), 0)] {
            let join = TreeJoin(topic: topic, joiner: joiner, budget: 0, spare: 0, children: below)
            upcall(&app, as: forwarder) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        }
        XCTAssertEqual(app.trees[0].children.count, 2)
        XCTAssertEqual(app.trees[0].descendants, 5)
        let kbr = KBRContext(testingAs: forwarder, leafSet: [], now: start, uploadKbps: app.modeledUploadKbps, queuedBytes: 0)
        XCTAssertEqual(app.joinRequest(0, kbr).children, 5, "what it tells a new parent")
    }

    /// A walk over the spare-capacity group that this node cannot serve goes on to the next
    /// member while the node's queue is short; past `shedBacklog` it ends here, and the
    /// requester's join timeout moves it on.
    func testASwampedNodeEndsAnAnycastWalkItCannotServe() {
        let now = Instant(micros: 1_000_000)
        var full = TreeConfig()
        full.maxChildren = 0
        var app = attached(as: me, under: parent, at: now, config: full)
        let next = peer(0x9000_0000_0000_0000, 9)
        let walk = TreeAnycast(group: app.topics!.spareGroup, target: app.topics!.stripes[0], requester: joiner,
                               visited: [], stack: [next])
        let idle = treeMessages(upcall(&app, as: me, at: now) { $0.receive(.tree(.anycast(walk)), from: joiner, kbr: &$1) })
        XCTAssertTrue(idle.contains { if case .anycast = $0 { true } else { false } }, "an idle node passes the walk on")
        // Two seconds of upload (500 kbit/s) already queued.
        let swamped = upcall(&app, as: me, at: now, queuedBytes: 125_000) { $0.receive(.tree(.anycast(walk)), from: joiner, kbr: &$1) }
        XCTAssertTrue(treeMessages(swamped).isEmpty, "a swamped node neither relays the walk nor answers it")
    }

    /// A node without upload relays routed joins like any Pastry hop, unless its own queue
    /// is longer than the joiner waits for an answer: then relaying only lengthens the queue.
    func testASwampedNodeDropsRoutedJoinsInsteadOfRelayingThem() {
        let now = Instant(micros: 1_000_000)
        var app = SplitStream(uploadKbps: 0, info: info, modeledVerification: true)
        upcall(&app, as: me, at: now) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        let join = TreeJoin(topic: app.topics!.stripes[0], joiner: joiner, budget: 8, spare: 0, children: 0)
        let route = RouteInfo(key: join.topic, origin: joiner, previousHop: joiner, hops: 1)
        func decision(queuedBytes: Int) -> (ForwardDecision, [Effect]) {
            var payload = Message.tree(.join(join))
            var result = ForwardDecision.proceed
            let effects = upcall(&app, as: me, at: now, queuedBytes: queuedBytes) { app, kbr in
                result = app.forward(&payload, route: route, nextHop: self.parent, kbr: &kbr)
            }
            return (result, effects)
        }
        XCTAssertEqual(decision(queuedBytes: 0).0, .proceed, "an idle thin node passes the join on")
        let swamped = decision(queuedBytes: 40_000) // 10 s at the 32 kbit/s control floor
        XCTAssertEqual(swamped.0, .stop)
        XCTAssertTrue(treeMessages(swamped.1).isEmpty)
    }
}
