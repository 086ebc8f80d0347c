import CanopyCore
import XCTest
@testable import CanopyPastry

/// One node fed events by hand; the effects it answers with are checked.
final class PastryNodeTests: XCTestCase {
    private func ref(_ high: UInt64, _ index: Int) -> NodeRef {
        NodeRef(id: NodeID(high: high, low: 0), address: PeerAddress(simulatedNode: index))
    }

    private struct Harness<App: KBRApplication> {
        var node: PastryNode<App>
        var rng = SeededRNG(seed: 3)
        var now = Instant(micros: 1_000_000)

        mutating func handle(_ event: Event) -> [Effect] {
            var effects = Effects()
            node.handle(event, now: now, rng: &rng, effects: &effects)
            return effects.items
        }

        mutating func receive(_ message: PastryMessage, from sender: NodeRef) -> [Effect] {
            handle(.received(.pastry(message), from: sender.address, sender: sender.id))
        }
    }

    private func sends(_ effects: [Effect]) -> [(PastryMessage, Int)] {
        effects.compactMap {
            if case .send(.pastry(let m), let to) = $0 { return (m, to.simulatedIndex) }
            return nil
        }
    }

    /// A joined node at id 1000 with leaf-set members around it and table entries far away.
    private func joinedNode<App: KBRApplication>(app: App, settings: PastrySettings = PastrySettings()) -> Harness<App> {
        var h = Harness(node: PastryNode(identity: ref(1000, 0), settings: settings, app: app))
        _ = h.handle(.command(.join(bootstrap: nil)))
        for (i, high) in [990, 995, 1005, 1010].enumerated() {
            _ = h.receive(.ping(sentAt: 0), from: ref(UInt64(high), i + 1))
        }
        return h
    }

    func testFirstNodeIsReadyAndDeliversItsOwnLookups() {
        var h = Harness(node: PastryNode(identity: ref(1000, 0), app: NoApplication()))
        let effects = h.handle(.command(.join(bootstrap: nil)))
        XCTAssertTrue(h.node.pastry.isJoined)
        XCTAssertTrue(effects.contains { if case .setTimer(let k, _) = $0 { k.kind == PastryTimers.leafTick } else { false } })
        let lookup = h.handle(.command(.lookup(key: NodeID(high: 5, low: 5), tag: 9)))
        let delivered = lookup.compactMap { if case .observe(let o) = $0 { o as? LookupDelivered } else { nil } }
        XCTAssertEqual(delivered.map(\.tag), [9])
        XCTAssertEqual(delivered.first?.hops, 0)
    }

    func testJoinRoutesTowardItsOwnIdThroughTheBootstrap() {
        var h = Harness(node: PastryNode(identity: ref(1000, 0), app: NoApplication()))
        let out = sends(h.handle(.command(.join(bootstrap: PeerAddress(simulatedNode: 7)))))
        XCTAssertEqual(out.count, 1)
        guard case (.route(let envelope), 7) = out[0], case .pastry(.join) = envelope.payload else {
            return XCTFail("expected a join route to the bootstrap, got \(out)")
        }
        XCTAssertEqual(envelope.key, h.node.identity.id)
        XCTAssertFalse(h.node.pastry.isJoined)
        // The root answers with its leaf set: the node is in, and announces itself to each member.
        let reply = sends(h.receive(.joinReply(leafSet: [ref(1010, 2), ref(990, 3)]), from: ref(1005, 1)))
        XCTAssertTrue(h.node.pastry.isJoined)
        let probed = Set(reply.compactMap { if case .leafProbe = $0.0 { $0.1 } else { nil } })
        XCTAssertEqual(probed, [1, 2, 3])
    }

    func testRootAnswersAJoinWithRowsAndLeafSet() {
        var h = joinedNode(app: NoApplication())
        let joiner = ref(1001, 9)
        let envelope = RouteEnvelope(seq: 4, key: joiner.id, origin: joiner, hops: 0, payload: .pastry(.join))
        let out = sends(h.receive(.route(envelope), from: joiner))
        XCTAssertTrue(out.contains { if case (.routeAck(4), 9) = $0 { true } else { false } })
        XCTAssertTrue(out.contains { if case (.joinReply(let leaves), 9) = $0 { leaves.count == 4 } else { false } })
        XCTAssertTrue(out.contains { if case (.rowReply, 9) = $0 { true } else { false } })
        XCTAssertFalse(h.node.pastry.leafSet.contains(joiner.id), "a joiner is taken in only once it announces itself")
    }

    func testForwardsTowardTheClosestLeafAndAcknowledges() {
        var h = joinedNode(app: NoApplication())
        let key = NodeID(high: 1009, low: 0)
        let envelope = RouteEnvelope(seq: 5, key: key, origin: ref(1, 20), hops: 1, payload: .pastry(.lookup(tag: 1, issuedAt: 0)))
        let out = sends(h.receive(.route(envelope), from: ref(1, 20)))
        XCTAssertTrue(out.contains { if case (.routeAck(5), 20) = $0 { true } else { false } })
        guard let forwarded = out.first(where: { if case .route = $0.0 { true } else { false } }),
              case .route(let next) = forwarded.0 else { return XCTFail("not forwarded") }
        XCTAssertEqual(forwarded.1, 4, "node 1010 is closest to 1009")
        XCTAssertEqual(next.hops, 2)
        XCTAssertNotEqual(next.seq, 0)
    }

    func testAFailedHopIsRoutedAroundNotLost() {
        var h = joinedNode(app: NoApplication())
        let key = NodeID(high: 1009, low: 0)
        let first = sends(h.handle(.command(.lookup(key: key, tag: 7))))
        guard case (.route(let sent), 4) = first.first(where: { if case .route = $0.0 { true } else { false } })! else {
            return XCTFail("expected the lookup to go to 1010")
        }
        // No ack: the hop is declared dead and the lookup goes to the next best node, 1005.
        h.now = h.now + .seconds(2)
        let retry = sends(h.handle(.timer(TimerKey(kind: PastryTimers.ackTimeout, argument: UInt64(sent.seq)))))
        XCTAssertFalse(h.node.pastry.leafSet.contains(NodeID(high: 1010, low: 0)))
        let rerouted = retry.filter { if case .route = $0.0 { true } else { false } }
        XCTAssertEqual(rerouted.map(\.1), [3])
        if case .route(let again) = rerouted.first?.0 { XCTAssertEqual(again.payload.typeCode, sent.payload.typeCode) }
    }

    func testLeafProbeTimeoutDeclaresDeadAndAsksTheFarthestForRepair() {
        var h = joinedNode(app: NoApplication())
        h.now = h.now + .seconds(20)
        _ = h.handle(.timer(TimerKey(kind: PastryTimers.leafTick)))
        // 1005 answers, the others stay silent through two timeouts.
        _ = h.receive(.leafReply(echo: h.now.micros, leafSet: []), from: ref(1005, 3))
        for _ in 0..<2 {
            h.now = h.now + .seconds(2)
            _ = h.handle(.timer(TimerKey(kind: PastryTimers.probeCheck)))
        }
        XCTAssertEqual(h.node.pastry.leafSet.members.map(\.id.high), [1005])
    }

    /// A lone node with a two-member leaf set, whose table holds nodes 5 and 6 (they pinged it).
    private func nodeWithTable(maintenancePeriod: TimeSpan) -> Harness<NoApplication> {
        var settings = PastrySettings()
        settings.leafSetSize = 2
        settings.tableMaintenancePeriod = maintenancePeriod
        var h = Harness(node: PastryNode(identity: ref(1000, 0), settings: settings, app: NoApplication()))
        _ = h.handle(.command(.join(bootstrap: nil)))
        for node in [ref(995, 1), ref(1005, 2), ref(1 << 63, 5), ref(1 << 62, 6)] { _ = h.receive(.ping(sentAt: 0), from: node) }
        return h
    }

    /// The nodes a table tick 30 s on pings.
    private func pingedByTableTick(_ h: inout Harness<NoApplication>) -> [Int] {
        h.now = h.now + .seconds(30)
        return sends(h.handle(.timer(TimerKey(kind: PastryTimers.tableTick))))
            .filter { if case .ping = $0.0 { true } else { false } }.map(\.1)
    }

    func testWarmUpTableTicksPingNoEntryAndTheFirstSettledTickPingsEveryOne() {
        var h = nodeWithTable(maintenancePeriod: .seconds(30))
        // Ticks come 3, 6, 12 and 24 s apart while the table is young, then every 30 s.
        let pingedPerTick = (0..<5).map { _ in pingedByTableTick(&h) }
        XCTAssertEqual(pingedPerTick.prefix(4).map(\.count), [0, 0, 0, 0], "warm-up ticks ping no entry")
        XCTAssertTrue(pingedPerTick[4].contains(5) && pingedPerTick[4].contains(6), "the first settled tick pings every entry, got \(pingedPerTick[4])")
    }

    func testTableEntryThatStopsAnsweringIsDroppedFromTheTableOnly() {
        // Every tick is a settled one: warm-up ticks leave liveness to routes.
        var h = nodeWithTable(maintenancePeriod: .seconds(3))
        let silent = ref(1 << 63, 5), alive = ref(1 << 62, 6)
        XCTAssertTrue(h.node.pastry.table.contains(silent.id))
        let pinged = pingedByTableTick(&h)
        XCTAssertTrue(pinged.contains(5) && pinged.contains(6), "every table entry is pinged, got \(pinged)")
        _ = h.receive(.pong(echo: h.now.micros), from: alive)
        for _ in 0..<2 {
            h.now = h.now + .seconds(2)
            _ = h.handle(.timer(TimerKey(kind: PastryTimers.probeCheck)))
        }
        XCTAssertFalse(h.node.pastry.table.contains(silent.id))
        XCTAssertTrue(h.node.pastry.table.contains(alive.id))
        XCTAssertEqual(h.node.pastry.leafSet.members.count, 2, "silence to a table ping does not declare a leaf dead")
    }

    /// Answers a ping arriving `rtt` after it was sent.
    private func pong(_ h: inout Harness<NoApplication>, from node: NodeRef, rtt: Int64) -> [(PastryMessage, Int)] {
        sends(h.receive(.pong(echo: h.now.micros - rtt * 1_000), from: node))
    }

    func testANearerNodeThatTakesASlotIsAskedForItsRowAndItsNeighbours() {
        var h = joinedNode(app: NoApplication())
        let far = ref(0x9000_0000_0000_0000, 11), near = ref(0x9100_0000_0000_0000, 12)
        let first = pong(&h, from: far, rtt: 80)
        XCTAssertEqual(h.node.pastry.table.entry(row: 0, column: 9)?.ref, far)
        XCTAssertFalse(first.contains { if case .rowRequest = $0.0 { true } else { false } }, "an empty slot filled: nothing to chase")
        let second = pong(&h, from: near, rtt: 10)
        XCTAssertEqual(h.node.pastry.table.entry(row: 0, column: 9)?.ref, near, "proximity selection keeps the nearer")
        XCTAssertTrue(second.contains { if case (.rowRequest(0), 12) = $0 { true } else { false } },
                      "the node that displaced a farther entry is asked for its row, got \(second)")
        XCTAssertTrue(second.contains { if case (.neighbourRequest, 12) = $0 { true } else { false } },
                      "a new nearest node is asked for its neighbourhood set")
    }

    func testNeighbourRequestIsAnsweredWithTheNearestFirst() {
        var h = joinedNode(app: NoApplication())
        let a = ref(0x9000_0000_0000_0000, 11), b = ref(0x5000_0000_0000_0000, 12), c = ref(0x3000_0000_0000_0000, 13)
        _ = pong(&h, from: a, rtt: 40)
        _ = pong(&h, from: b, rtt: 5)
        _ = pong(&h, from: c, rtt: 20)
        let reply = sends(h.receive(.neighbourRequest, from: ref(0x7000_0000_0000_0000, 14)))
        guard case (.neighbourReply(let entries), 14)? = reply.first(where: { if case .neighbourReply = $0.0 { true } else { false } }) else {
            return XCTFail("no neighbourhood set sent back, got \(reply)")
        }
        XCTAssertEqual(Array(entries.map(\.id).prefix(3)), [b.id, c.id, a.id])
    }

    /// Records upcalls; stops messages whose payload is a clock probe with sentAt 0.
    private struct Recorder: KBRApplication {
        var delivered: [Message] = []
        var forwarded: [NodeRef] = []
        var updates: [(NodeID, Bool)] = []
        var ready = false

        mutating func deliver(_ payload: Message, route: RouteInfo, kbr: inout KBRContext) { delivered.append(payload) }
        mutating func forward(_ payload: inout Message, route: RouteInfo, nextHop: NodeRef,
                              kbr: inout KBRContext) -> ForwardDecision {
            forwarded.append(nextHop)
            if case .stream(.clockProbe(0)) = payload { return .stop }
            payload = .stream(.clockProbe(sentAt: 77))
            return .proceed
        }
        mutating func update(_ node: NodeRef, joined: Bool, kbr: inout KBRContext) { updates.append((node.id, joined)) }
        mutating func overlayReady(kbr: inout KBRContext) {
            ready = true
            kbr.route(kbr.local.id, .stream(.clockProbe(sentAt: 1)))
        }
    }

    func testApplicationUpcalls() {
        var h = joinedNode(app: Recorder())
        XCTAssertTrue(h.node.app.ready)
        XCTAssertEqual(h.node.app.delivered.count, 1, "the route queued in overlayReady reached this node, its root")
        XCTAssertEqual(h.node.app.updates.filter(\.1).count, 4, "four nodes entered the leaf set")
        // forward may change the payload on its way...
        let key = NodeID(high: 1009, low: 0)
        let pass = RouteEnvelope(seq: 1, key: key, origin: ref(1, 20), hops: 1, payload: .stream(.clockProbe(sentAt: 5)))
        let passed = sends(h.receive(.route(pass), from: ref(1, 20)))
        guard case .route(let onward)? = passed.first(where: { if case .route = $0.0 { true } else { false } })?.0 else {
            return XCTFail("not forwarded")
        }
        guard case .stream(.clockProbe(77)) = onward.payload else { return XCTFail("payload not modified") }
        // ...or stop it.
        let stop = RouteEnvelope(seq: 2, key: key, origin: ref(1, 20), hops: 1, payload: .stream(.clockProbe(sentAt: 0)))
        let stopped = sends(h.receive(.route(stop), from: ref(1, 20)))
        XCTAssertFalse(stopped.contains { if case .route = $0.0 { true } else { false } })
        XCTAssertTrue(stopped.contains { if case .routeAck(2) = $0.0 { true } else { false } })
    }

    func testContextForApplicationTests() {
        let me = ref(1000, 0)
        let context = KBRContext(testingAs: me, leafSet: [ref(990, 1), ref(1010, 2)])
        XCTAssertTrue(context.isResponsible(for: NodeID(high: 1003, low: 0)))
        XCTAssertFalse(context.isResponsible(for: NodeID(high: 1007, low: 0)))
    }

    // MARK: thin upload links

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

    private func probes(_ effects: [Effect]) -> [(leaves: Int, to: Int)] {
        sends(effects).compactMap { if case .leafProbe(_, let members) = $0.0 { (members.count, $0.1) } else { nil } }
    }

    /// A leaf set is ~400 bytes: routine probes repeat it only when it changed since the
    /// member last saw it.
    func testARoutineProbeCarriesTheLeafSetOnlyWhenItIsNews() {
        var h = joinedNode(app: NoApplication())
        var rounds: [[(leaves: Int, to: Int)]] = []
        for round in 0..<3 {
            if round == 2 { _ = h.receive(.ping(sentAt: 0), from: ref(1002, 9)) } // a new member
            h.now = h.now + .seconds(20)
            let sent = probes(h.handle(.timer(TimerKey(kind: PastryTimers.leafTick))))
            let ids: [Int: UInt64] = [1: 990, 2: 995, 3: 1005, 4: 1010, 9: 1002]
            for probe in sent { _ = h.receive(.leafReply(echo: h.now.micros, leafSet: []), from: ref(ids[probe.to]!, probe.to)) }
            rounds.append(sent)
        }
        XCTAssertEqual(rounds[0].count, 4)
        XCTAssertTrue(rounds[0].allSatisfy { $0.leaves == 4 }, "first probe to each member: the whole leaf set")
        XCTAssertEqual(rounds[1].count, 4)
        XCTAssertTrue(rounds[1].allSatisfy { $0.leaves == 0 }, "nothing changed: bare liveness probes")
        XCTAssertTrue(rounds[2].allSatisfy { $0.leaves == 5 }, "the leaf set changed: everyone hears of it once")
    }

    func testABareProbeIsAnsweredWithTheLeafSetOnlyOnce() {
        var h = joinedNode(app: NoApplication())
        let prober = ref(1005, 3)
        func reply(_ probe: PastryMessage) -> Int? {
            sends(h.receive(probe, from: prober)).compactMap { if case .leafReply(_, let m) = $0.0 { m.count } else { nil } }.first
        }
        XCTAssertEqual(reply(.leafProbe(sentAt: 1, leafSet: [])), 4, "news to the prober")
        XCTAssertEqual(reply(.leafProbe(sentAt: 2, leafSet: [])), 0, "it has it already")
        XCTAssertEqual(reply(.leafProbe(sentAt: 3, leafSet: [ref(1010, 4)])), 4, "a probe with a leaf set asks for an exchange")
    }

    /// An application on a `kbps` link that queues `replies` rows of 40 entries (about
    /// 0.9 kB each) whenever it is sent anything: on 8 kbit/s, 5 of them are ~4.5 s of upload.
    private struct QueueingApp: KBRApplication {
        var kbps: Double
        var replies: Int
        var modeledUploadKbps: Double? { kbps }
        mutating func receive(_ message: Message, from sender: NodeRef, kbr: inout KBRContext) {
            let filler = (0..<40).map { NodeRef(id: NodeID(high: 7, low: UInt64($0)), address: PeerAddress(simulatedNode: 50)) }
            for _ in 0..<replies { kbr.send(.pastry(.rowReply(row: 0, entries: filler)), to: sender) }
        }
    }

    /// A node whose own upload queue is long must not blame the wait on its peers: probes
    /// are timed from when they leave, so its healthy leaf set is not declared dead (which
    /// would set off repairs that lengthen the queue further).
    func testASwampedNodeTimesItsProbesFromWhenTheyLeave() {
        var h = joinedNode(app: QueueingApp(kbps: 8, replies: 5))
        h.now = h.now + .seconds(20)
        _ = h.handle(.received(.stream(.infoRequest), from: PeerAddress(simulatedNode: 50), sender: NodeID(high: 7, low: 99)))
        let backlogged = h.handle(.timer(TimerKey(kind: PastryTimers.leafTick)))
        XCTAssertEqual(probes(backlogged).count, 4)
        // Named by a peer while swamped: not probed now (later gossip names it again).
        let gossip = h.receive(.leafReply(echo: h.now.micros, leafSet: [ref(1003, 8)]), from: ref(1005, 3))
        XCTAssertFalse(probes(gossip).contains { $0.to == 8 })
        // Optional answers wait too: a row for someone's table upkeep, a leaf set in a reply.
        XCTAssertTrue(sends(h.receive(.rowRequest(row: 0), from: ref(1010, 4))).isEmpty)
        let answer = sends(h.receive(.leafProbe(sentAt: 1, leafSet: [ref(1010, 4)]), from: ref(995, 2)))
        XCTAssertTrue(answer.contains { if case .leafReply(_, let m) = $0.0 { m.isEmpty } else { false } },
                      "liveness is answered, without the leaf set")
        // Two probe timeouts pass while the probes still sit in the queue: no retry, nobody dead.
        for _ in 0..<2 {
            h.now = h.now + .seconds(2)
            XCTAssertTrue(probes(h.handle(.timer(TimerKey(kind: PastryTimers.probeCheck)))).isEmpty)
        }
        XCTAssertEqual(h.node.pastry.leafSet.members.count, 4)
    }

    /// Upkeep others can get elsewhere waits once the queue is a fraction of a second long,
    /// not only when probes are about to time out: everything the node must send, routed
    /// joins included, waits behind it.
    func testUpkeepIsSkippedOnceTheUploadQueueIsAQuarterSecondLong() {
        var h = joinedNode(app: QueueingApp(kbps: 80, replies: 4)) // ~0.35 s of queue
        h.now = h.now + .seconds(20)
        let asker = ref(1010, 4)
        XCTAssertTrue(sends(h.receive(.rowRequest(row: 0), from: asker)).contains { if case .rowReply = $0.0 { true } else { false } },
                      "an idle node answers")
        h.now = h.now + .seconds(20)
        _ = h.handle(.received(.stream(.infoRequest), from: PeerAddress(simulatedNode: 50), sender: NodeID(high: 7, low: 99)))
        let backlog = h.node.pastry.meter?.backlog(at: h.now) ?? .zero
        XCTAssertGreaterThan(backlog, PastrySettings().swampedBacklog)
        XCTAssertLessThan(backlog, PastrySettings().probeTimeout / 2, "far from a probe timeout")
        XCTAssertTrue(h.node.pastry.isSwamped(h.now))
        XCTAssertTrue(sends(h.receive(.rowRequest(row: 0), from: asker)).isEmpty)
        let answer = sends(h.receive(.leafProbe(sentAt: 1, leafSet: [asker]), from: ref(995, 2)))
        XCTAssertTrue(answer.contains { if case .leafReply(_, let m) = $0.0 { m.isEmpty } else { false } },
                      "liveness is answered, without the leaf set")
    }

    /// A node whose queue would hold an ack past any sender's timeout stays silent to routes,
    /// so the previous hop goes round it at once instead of a copy leaving here seconds later;
    /// once the queue has drained it relays again.
    func testADrowningNodeLeavesRoutedMessagesToOtherRoutes() {
        var h = joinedNode(app: QueueingApp(kbps: 8, replies: 5)) // seconds of queue at 1 kB/s
        h.now = h.now + .seconds(20)
        _ = h.handle(.received(.stream(.infoRequest), from: PeerAddress(simulatedNode: 50), sender: NodeID(high: 7, low: 99)))
        XCTAssertGreaterThan(h.node.pastry.meter?.backlog(at: h.now) ?? .zero, PastrySettings().drowningBacklog)
        let envelope = RouteEnvelope(seq: 5, key: NodeID(high: 1009, low: 0), origin: ref(1, 20), hops: 1,
                                     payload: .pastry(.lookup(tag: 1, issuedAt: 0)))
        XCTAssertTrue(sends(h.receive(.route(envelope), from: ref(1, 20))).isEmpty, "no ack, no relay")
        h.now = h.now + .seconds(30)
        let out = sends(h.receive(.route(envelope), from: ref(1, 20)))
        XCTAssertTrue(out.contains { if case (.routeAck(5), 20) = $0 { true } else { false } })
        XCTAssertTrue(out.contains { if case (.route, 4) = $0 { true } else { false } }, "relayed toward node 1010")
    }

    /// Chasing a nearer node's row costs that node an answer: it comes out of the same
    /// proximity budget as the pings, so a young overlay's reshuffles do not flood anyone.
    func testTheRowOfANearerNodeIsAskedForOnlyWithinThePingBudget() {
        var settings = PastrySettings()
        settings.pingBudget = 0
        var h = joinedNode(app: NoApplication(), settings: settings)
        let far = ref(0x9000_0000_0000_0000, 11), near = ref(0x9100_0000_0000_0000, 12)
        _ = pong(&h, from: far, rtt: 80)
        let second = pong(&h, from: near, rtt: 10)
        XCTAssertEqual(h.node.pastry.table.entry(row: 0, column: 9)?.ref, near, "proximity selection still keeps the nearer")
        XCTAssertFalse(second.contains { if case .rowRequest = $0.0 { true } else { false } }, "no budget left: no row asked for")
    }
}
