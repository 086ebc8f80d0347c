import XCTest
import NIOCore
import CanopyCore
import CanopyStream
@testable import CanopyMesh

/// The core fed by hand: joining, partnering, serving within capacity, timeouts.
final class MeshNodeTests: XCTestCase {
    func testJoinAsksTheBootstrapAndItAnswersWithMembersAndTheStream() {
        var source = Harness(MeshNode(source: MeshFixtures.ref(0), info: MeshFixtures.info(), uploadKbps: 1_000))
        source.run(.command(.join(bootstrap: nil)))
        var peer = Harness(MeshNode(peer: MeshFixtures.ref(1), uploadKbps: 100, modeledVerification: true))
        let sent = peer.run(.command(.join(bootstrap: MeshFixtures.ref(0).address)))
        guard case .join = sent.meshSends.first?.0 else { return XCTFail("no join sent: \(sent)") }
        let answer = source.receive(.join, from: 1)
        XCTAssertTrue(answer.meshSends.contains { if case .members(let refs) = $0.0 { refs.contains(MeshFixtures.ref(0)) } else { false } })
        XCTAssertTrue(answer.contains { if case .send(.stream(.info), _) = $0 { true } else { false } })

        peer.run(.received(.mesh(.members([MeshFixtures.ref(0), MeshFixtures.ref(2)])), from: MeshFixtures.ref(0).address, sender: MeshFixtures.ref(0).id))
        let afterInfo = peer.run(.received(.stream(.info(MeshFixtures.info())), from: MeshFixtures.ref(0).address, sender: MeshFixtures.ref(0).id))
        let asked = afterInfo.meshSends.filter { if case .partnerRequest = $0.0 { true } else { false } }.map(\.1)
        XCTAssertEqual(Set(asked), [0, 2], "partners are asked from the view once the stream is known")
    }

    func testAFullNodeRefusesPartnersAndNamesOthers() {
        var config = MeshConfig()
        config.partners = 2
        var h = Harness.peer(config: config, partners: [])
        for index in 2..<(2 + config.maxPartners) {
            let reply = h.receive(.partnerRequest(MeshFixtures.status(spare: 10, held: [])), from: index)
            guard case .partnerAccept = reply.meshSends.last?.0 else { return XCTFail("partner \(index) refused") }
        }
        XCTAssertEqual(h.node.partnerCount, config.maxPartners)
        let reply = h.receive(.partnerRequest(MeshFixtures.status(spare: 10, held: [])), from: 50)
        guard case .partnerRefuse(let others) = reply.meshSends.last?.0 else { return XCTFail("not refused: \(reply)") }
        XCTAssertFalse(others.isEmpty)
        XCTAssertEqual(h.node.partnerCount, config.maxPartners)
    }

    func testDonetRequestsMissingChunksInOneMessagePerSupplier() {
        var h = Harness.peer(partners: [(2, MeshFixtures.status(spare: 200, held: [10, 11, 12]))])
        guard let at = h.effects.items.timer(MeshNode.scheduleTimer) else { return XCTFail("no schedule timer") }
        h.now = at
        let sent = h.run(.timer(MeshNode.scheduleTimer))
        XCTAssertEqual(sent.meshSends.filter { if case .request = $0.0 { true } else { false } }.count, 1)
        XCTAssertEqual(Set(sent.requested(from: 2)), [10, 11, 12], "start lag 2: chunks 10...12")
    }

    func testVerifiedChunksAreDeliveredOnceAndDuplicatesObserved() {
        var h = Harness.peer(partners: [(2, MeshFixtures.status(spare: 200, held: [5]))])
        XCTAssertEqual(h.receive(.data(MeshFixtures.chunk(5), status: nil), from: 2).delivered, [5])
        let again = h.receive(.data(MeshFixtures.chunk(5), status: nil), from: 2)
        XCTAssertEqual(again.delivered, [])
        XCTAssertEqual(again.observed(DuplicateChunk.self).map(\.sequence), [5])
        let foreign = h.receive(.data(MeshFixtures.chunk(6, stream: NodeID(high: 1, low: 1)), status: nil), from: 2)
        XCTAssertEqual(foreign.delivered, [])
        XCTAssertEqual(foreign.observed(ChunkRejected.self).map(\.reason), [.wrongStream])
        XCTAssertFalse(h.node.holds(6), "a rejected chunk is not kept or forwarded")
    }

    func testASupplierServesWithinItsUploadAndRefusesTheRest() {
        // 96 kbit/s and an 800 ms queue: one 1,800-byte data message takes about 150 ms.
        var config = MeshConfig()
        config.maxQueue = .seconds(0.8)
        var h = Harness.peer(upload: 96, config: config, partners: [(2, MeshFixtures.status(spare: 0, held: []))])
        for s in UInt32(0)..<10 { h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 3) }
        var sent = h.receive(.request(Array(0..<10)), from: 2)
        guard case .refuse(let refused) = sent.meshSends.first(where: { if case .refuse = $0.0 { true } else { false } })?.0 else {
            return XCTFail("nothing refused: \(sent)")
        }
        // The rest leaves one message at a time as the link drains (never queued without bound).
        var served: [UInt32] = []
        for _ in 0..<20 {
            served += sent.meshSends.compactMap { if case .data(let c, _) = $0.0 { c.sequence } else { nil } }
            guard let wake = sent.timer(MeshNode.uploadTimer) else { break }
            h.now = wake
            sent = h.run(.timer(MeshNode.uploadTimer))
        }
        XCTAssertGreaterThanOrEqual(served.count, 4)
        XCTAssertLessThanOrEqual(served.count, 6)
        XCTAssertEqual((served + refused).sorted(), Array(0..<10), "each chunk served or refused")
    }

    func testANodeWithoutUploadServesNothingAndAnnouncesNothing() {
        var h = Harness.peer(upload: 0, scheduler: .chainsaw, partners: [(2, MeshFixtures.status(spare: 100, held: [1]))])
        let got = h.receive(.data(MeshFixtures.chunk(1), status: nil), from: 2)
        XCTAssertTrue(got.meshSends.allSatisfy { if case .have = $0.0 { false } else { true } }, "no HAVE from a node nobody can ask")
        let reply = h.receive(.request([1]), from: 2)
        XCTAssertEqual(reply.meshSends.count, 1)
        guard case .refuse([1]) = reply.meshSends[0].0 else { return XCTFail("\(reply)") }
    }

    func testChainsawAnnouncesNewChunksOnlyToPartnersLackingThem() {
        var h = Harness.peer(scheduler: .chainsaw, partners: [
            (2, MeshFixtures.status(spare: 100, held: [])),
            (3, MeshFixtures.status(spare: 100, held: [7])),
            (4, MeshFixtures.status(spare: 100, held: [])),
        ])
        let sent = h.receive(.data(MeshFixtures.chunk(7), status: nil), from: 2)
        let haves = sent.meshSends.compactMap { if case .have(_, _, let seqs) = $0.0 { ($0.1, seqs) } else { nil } }
        XCTAssertEqual(haves.map(\.0), [4], "2 sent it, 3 already has it")
        XCTAssertEqual(haves.first?.1, [7])
    }

    func testATimedOutRequestIsSentElsewhere() {
        var h = Harness.peer(partners: [(2, MeshFixtures.status(spare: 500, held: [10]))])
        h.now = h.effects.items.timer(MeshNode.scheduleTimer)!
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10])
        // A second supplier appears; partner 2 never answers.
        h.advance(.seconds(0.2))
        h.receive(.partnerAccept(MeshFixtures.status(spare: 100, held: [10])), from: 3)
        h.receive(.status(MeshFixtures.status(spare: 500, held: [10])), from: 2)
        // Before the timeout nobody is asked again; after it, the other holder is.
        let timeout = MeshConfig().requestTimeout
        h.advance(timeout - .seconds(0.3))
        let early = h.run(.timer(MeshNode.scheduleTimer))
        XCTAssertEqual(early.requested(from: 2) + early.requested(from: 3), [])
        h.advance(.seconds(0.2))
        let late = h.run(.timer(MeshNode.scheduleTimer))
        XCTAssertEqual(late.requested(from: 2), [], "the supplier that failed is tried last")
        XCTAssertEqual(late.requested(from: 3), [10])
    }

    func testAPartnerSilentSinceATimedOutRequestIsNotAskedUntilItSpeaks() {
        var h = Harness.peer(partners: [(2, MeshFixtures.status(spare: 500, held: [10]))])
        h.now = h.effects.items.timer(MeshNode.scheduleTimer)!
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10])
        h.advance(MeshConfig().requestTimeout + .seconds(0.1))
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [],
                       "silent since the request: probably gone, though it is the only holder")
        h.receive(.status(MeshFixtures.status(spare: 500, held: [10])), from: 2)
        h.now = h.effects.items.timer(MeshNode.scheduleTimer)!
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10], "it spoke again")
    }

    func testARequestAtASupplierThatFallsSilentIsSentElsewhereBeforeItsTimeout() {
        let config = MeshConfig().fitted(toPlayoutDelay: .milliseconds(500))
        var h = Harness.peer(config: config, partners: [(2, MeshFixtures.status(spare: 900, held: [10])),
                                                        (3, MeshFixtures.status(spare: 50, held: [10]))])
        // Both talk every 20 ms, as streaming partners on loopback do.
        func bothSpeak(_ speakers: [Int]) {
            h.advance(.milliseconds(20))
            for i in speakers { h.receive(.status(MeshFixtures.status(spare: i == 2 ? 900 : 50, held: [10])), from: i) }
        }
        for _ in 0..<30 { bothSpeak([2, 3]) }
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10])
        // Then 2 is killed: it says nothing more.
        for _ in 0..<5 { bothSpeak([3]) }
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 3), [], "100 ms of silence is not yet suspect")
        for _ in 0..<5 { bothSpeak([3]) }
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 3), [10],
                       "suspect after a quarter of the playout delay, long before the request's \(config.requestTimeout) timeout")
    }

    func testTimersAreFittedOnlyToPlayoutDelaysShorterThanTheyAssume() {
        let defaults = MeshConfig()
        XCTAssertEqual(defaults.fitted(toPlayoutDelay: .seconds(5)), defaults, "the simulator's 5 s")
        let loopback = defaults.fitted(toPlayoutDelay: .milliseconds(500))
        XCTAssertEqual(loopback.shortestSuspicion, .milliseconds(125))
        XCTAssertEqual(loopback.pushGrace, .milliseconds(125))
        XCTAssertEqual(loopback.longestPushGrace, .milliseconds(250))
        XCTAssertEqual(loopback.deadline, .milliseconds(250))
        XCTAssertEqual(loopback.requestTimeout, defaults.requestTimeout, "shorter timeouts only multiply requests")
        XCTAssertTrue(loopback.reissueAtSuspicion)
    }

    func testAChattyPartnerThatFallsSilentIsGivenUpSoonerThanAQuietOne() {
        var config = MeshConfig()
        config.shortestAbsence = .seconds(1.5)
        func partner(speakingEvery gap: TimeSpan) -> (Partner, Instant) {
            var now = Instant(micros: 1_000_000)
            var p = Partner(ref: MeshFixtures.ref(2), status: MeshFixtures.status(spare: 500, held: []), now: now)
            for _ in 0..<20 {
                now += gap
                p.spoke(now: now)
            }
            return (p, now)
        }
        let (chatty, t) = partner(speakingEvery: .seconds(0.2))
        XCTAssertTrue(chatty.responsive(now: t + .seconds(0.9), config: config))
        XCTAssertFalse(chatty.responsive(now: t + .seconds(1.2), config: config), "silent for six of its usual gaps")
        XCTAssertTrue(chatty.heardLately(now: t + .seconds(1.2), within: config.suspectAfter), "still served: it may only be taking from us")
        let (quiet, u) = partner(speakingEvery: config.keepalive)
        XCTAssertTrue(quiet.responsive(now: u + .seconds(2.5), config: config), "it only keeps alive")
        XCTAssertFalse(quiet.responsive(now: u + config.suspectAfter + .seconds(0.1), config: config))
        XCTAssertFalse(quiet.heardLately(now: u + config.suspectAfter + .seconds(0.1), within: config.suspectAfter))
        XCTAssertFalse(chatty.gone(now: t + config.shortestAbsence - .seconds(0.1), config: config), "a second's hush is not a crash")
        XCTAssertTrue(chatty.gone(now: t + config.shortestAbsence + .seconds(0.1), config: config),
                      "a crashed chatty partner is replaced before its keep-alives are missed")
        XCTAssertFalse(quiet.gone(now: u + .seconds(5), config: config), "a lost keep-alive does not end a quiet partnership")
        XCTAssertTrue(quiet.gone(now: u + config.silenceTimeout + .seconds(0.1), config: config))
    }

    func testARefusalIsRetriedElsewhereAtOnce() {
        var h = Harness.peer(partners: [(2, MeshFixtures.status(spare: 900, held: [10])),
                                        (3, MeshFixtures.status(spare: 50, held: [10]))])
        h.advance(MeshConfig().scheduleDelay)
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10])
        XCTAssertEqual(h.receive(.refuse([10]), from: 2).requested(from: 3), [10])
    }

    func testASilentPartnerIsReplaced() {
        var h = Harness.peer(partners: [(2, MeshFixtures.status(spare: 100, held: []))])
        XCTAssertEqual(h.node.partnerCount, 1)
        for _ in 0..<16 {
            h.advance(.seconds(0.5))
            h.run(.timer(MeshNode.tickTimer))
        }
        XCTAssertEqual(h.node.partnerCount, 0, "silent for 8 s > 6 s")
    }

    func testASuspectPartnerIsReplacedBeforeItIsDropped() {
        var config = MeshConfig()
        config.partners = 2
        config.shortestAbsence = .seconds(1.5)
        var h = Harness.peer(config: config, partners: [(2, MeshFixtures.status(spare: 100, held: [])),
                                                         (3, MeshFixtures.status(spare: 100, held: []))])
        h.receive(.members([MeshFixtures.ref(4)]), from: 3)
        for _ in 0..<20 {
            h.advance(.seconds(0.2))
            h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 2)
            h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 3)
        }
        h.advance(.seconds(0.6))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 3)
        XCTAssertTrue(h.run(.timer(MeshNode.tickTimer)).meshSends.filter { if case .partnerRequest = $0.0 { true } else { false } }.isEmpty,
                      "partner 2 has been quiet for three of its usual gaps: not suspect yet")
        h.advance(.seconds(0.6))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 3)
        let asked = h.run(.timer(MeshNode.tickTimer)).meshSends.filter { if case .partnerRequest = $0.0 { true } else { false } }.map(\.1)
        XCTAssertEqual(h.node.partnerCount, 2, "silent for 1.2 s, partner 2 is suspect but not dropped yet")
        guard let replacement = asked.first else { return XCTFail("a replacement is sought for the suspect at once") }
        XCTAssertFalse(asked.contains(2) || asked.contains(3))
        h.receive(.partnerAccept(MeshFixtures.status(spare: 100, held: [])), from: replacement)
        XCTAssertEqual(h.node.partnerCount, 3, "the replacement is taken although the list counts the suspect")
        h.advance(.seconds(0.4))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 3)
        h.run(.timer(MeshNode.tickTimer))
        XCTAssertEqual(h.node.partnerCount, 2, "silent for 1.6 s, four times its usual gap and past the shortest absence")
    }

    func testTheSourcePushesEachChunkToAFewPartnersInRotation() {
        var h = Harness.source(push: 3, partners: 6) { $0 == 6 ? 0 : 100 }
        XCTAssertEqual(h.node.partnerAddresses.map(\.simulatedIndex), [1, 2, 3, 4, 5], "a node that cannot forward is refused")
        var pushed: [[Int]] = []
        for s in UInt32(0)..<3 {
            h.advance(.seconds(0.2))
            let sent = h.run(.command(.publish(MeshFixtures.chunk(s))))
            pushed.append(sent.meshSends.compactMap { if case .data = $0.0 { $0.1 } else { nil } })
        }
        XCTAssertEqual(pushed.map(\.count), [3, 3, 3])
        XCTAssertFalse(pushed.joined().contains(6), "a node that cannot forward is not pushed to")
        XCTAssertNotEqual(pushed[0], pushed[1], "rotation spreads the load")
    }

    func testTheSourcePushesOnlyWhatItsLinkSendsWithinOneChunkDuration() {
        // A 1.6 kB chunk takes about 85 ms at 160 kbit/s: two copies fit in a 200 ms chunk
        // duration, a third would still be queued when the next chunk comes.
        var h = Harness.source(upload: 160, push: 3, partners: 5)
        var pushed: [Int] = []
        for s in UInt32(0)..<6 {
            h.advance(.seconds(0.2))
            let sent = h.run(.command(.publish(MeshFixtures.chunk(s))))
            pushed.append(sent.meshSends.filter { if case .data = $0.0 { true } else { false } }.count)
            XCTAssertLessThanOrEqual(h.node.upload.backlog(now: h.now), .seconds(0.2), "chunk \(s) left a push queued past the next chunk")
        }
        XCTAssertEqual(pushed, [2, 2, 2, 2, 2, 2])
    }

    /// The source hears from its partners every half second, others every 2 s, so it can
    /// stop pushing into a crashed partner after 1.25 s instead of 3 s.
    func testTheSourceIsKeptAliveMoreOftenAndStopsFeedingASilentPartnerSooner() {
        var h = Harness.peer(partners: [(0, MeshFixtures.status(spare: 100, held: [], level: 0)),
                                        (2, MeshFixtures.status(spare: 100, held: []))])
        var keepalives = [0: 0, 2: 0]
        for _ in 0..<8 {
            h.advance(MeshNode.tickPeriod)
            for (message, to) in h.run(.timer(MeshNode.tickTimer)).meshSends {
                if case .status = message { keepalives[to, default: 0] += 1 }
            }
        }
        XCTAssertEqual(keepalives[0], 8, "4 s: one every tick to the source")
        XCTAssertEqual(keepalives[2], 2, "4 s: one every 2 s to anyone else")

        var source = Harness.source(push: 3, partners: 3)
        source.advance(.seconds(1.3))
        source.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 1)
        source.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 3)
        let pushed = source.run(.command(.publish(MeshFixtures.chunk(0)))).meshSends.compactMap {
            if case .data = $0.0 { $0.1 } else { nil }
        }
        XCTAssertEqual(pushed.sorted(), [1, 3], "2 missed two keep-alives: most likely crashed")
    }

    /// The pushes of chunk 0 went to partners that crashed right after they last spoke:
    /// nobody confirms it, so the source pushes it again to partners heard from since. A
    /// chunk that a partner's map confirms is not pushed again.
    func testTheSourcePushesAChunkAgainWhenNoPartnerConfirmsHoldingIt() {
        var h = Harness.source(push: 2, partners: 6)
        func dataSends(_ effects: [Effect]) -> [(UInt32, Int)] {
            effects.meshSends.compactMap { if case .data(let c, _) = $0.0 { (c.sequence, $0.1) } else { nil } }
        }
        h.advance(.seconds(0.2))
        let first = dataSends(h.run(.command(.publish(MeshFixtures.chunk(0))))).map(\.1)
        XCTAssertEqual(first.count, 2)
        let alive = (1...6).filter { !first.contains($0) }
        h.advance(.seconds(0.5))
        for index in alive { h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: index) }
        h.advance(.seconds(0.5))
        let again = dataSends(h.run(.command(.publish(MeshFixtures.chunk(1)))))
        let repushed = again.filter { $0.0 == 0 }.map(\.1)
        XCTAssertEqual(repushed.count, 2, "chunk 0 pushed again: \(again)")
        XCTAssertTrue(repushed.allSatisfy(alive.contains), "only to partners heard from since: \(repushed)")

        // Chunk 1's receivers say they hold it: it is not pushed again.
        let holders = again.filter { $0.0 == 1 }.map(\.1)
        XCTAssertFalse(holders.isEmpty)
        h.advance(.seconds(0.5))
        for index in holders { h.receive(.status(MeshFixtures.status(spare: 100, held: [0, 1])), from: index) }
        h.advance(.seconds(0.5))
        let later = dataSends(h.run(.command(.publish(MeshFixtures.chunk(2)))))
        XCTAssertFalse(later.contains { $0.0 == 1 }, "chunk 1 was confirmed: \(later)")

        // Chunk 2's receivers only ask for something, well after the push: alive, so it is
        // not pushed again either.
        let receivers = later.filter { $0.0 == 2 }.map(\.1)
        XCTAssertFalse(receivers.isEmpty)
        h.advance(.seconds(0.5))
        for index in receivers { h.receive(.request([0]), from: index) }
        h.advance(.seconds(0.5))
        let last = dataSends(h.run(.command(.publish(MeshFixtures.chunk(3)))))
        XCTAssertFalse(last.contains { $0.0 == 2 }, "chunk 2's receivers spoke after it: \(last)")
    }

    /// A re-push that reached nobody (no partner had spoken since the push) is not one of the
    /// source's two tries: the chunk goes out once live partners are heard, while it is still
    /// young enough to spread.
    func testARepushThatReachedNobodyIsTriedAgain() {
        var h = Harness.source(push: 2, partners: 6)
        func repushes(_ effects: [Effect]) -> [Int] {
            effects.meshSends.compactMap { if case .data(let c, _) = $0.0, c.sequence == 0 { $0.1 } else { nil } }
        }
        h.advance(.seconds(0.2))
        let first = repushes(h.run(.command(.publish(MeshFixtures.chunk(0)))))
        XCTAssertEqual(first.count, 2)
        h.advance(.seconds(1))
        XCTAssertEqual(repushes(h.run(.command(.publish(MeshFixtures.chunk(1))))), [], "nobody spoke since the push")
        h.advance(.seconds(0.2))
        XCTAssertEqual(repushes(h.run(.command(.publish(MeshFixtures.chunk(2))))), [])
        h.advance(.seconds(0.1))
        // The first receivers stay silent (crashed); the others speak.
        for index in 1...6 where !first.contains(index) {
            h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: index)
        }
        h.advance(.seconds(0.1))
        XCTAssertEqual(repushes(h.run(.command(.publish(MeshFixtures.chunk(3))))).count, 2,
                       "pushed again once partners are heard")
    }

    /// An unasked chunk from the source that left it well after it was made is its second
    /// push of a chunk that may exist nowhere else alive: passed straight on, to partners
    /// that upload and lack it, most lately heard first. A fresh first push is not.
    func testTheSourcesSecondPushIsPassedStraightOn() {
        var partners = [(0, MeshFixtures.status(spare: 500, held: []))]
        partners += (2...7).map { ($0, MeshFixtures.status(spare: $0 == 7 ? 0 : 100, held: [])) }
        var h = Harness.peer(partners: partners)
        h.receive(.data(MeshFixtures.chunk(5), status: nil), from: 2)
        h.advance(.seconds(0.5))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [5])), from: 3)
        h.receive(.status(MeshFixtures.status(spare: 100, held: [5, 6])), from: 4)
        h.advance(.seconds(0.1))
        func passedOn(_ effects: [Effect], _ sequence: UInt32) -> [Int] {
            effects.meshSends.compactMap { if case .data(let c, _) = $0.0, c.sequence == sequence { $0.1 } else { nil } }
        }
        let fresh = h.receive(.data(MeshFixtures.chunk(8), status: nil), from: 0)
        XCTAssertEqual(passedOn(fresh, 8), [], "chunk 8 is 0.0 s old: a first push")
        let second = h.receive(.data(MeshFixtures.chunk(6), status: nil), from: 0)
        XCTAssertEqual(passedOn(second, 6).sorted(), [2, 3, 5, 6], "0.4 s old: 4 holds it, 7 uploads nothing, 0 sent it")
        XCTAssertEqual(passedOn(second, 6).first, 3, "3 spoke last")
        XCTAssertEqual(h.node.counters.rescueSpreads, 4)
    }

    func testTwoNodesWithoutUploadDoNotPartner() {
        var h = Harness.peer(upload: 0, partners: [])
        guard case .partnerRefuse = h.receive(.partnerRequest(MeshFixtures.status(spare: 0, held: [])), from: 5).meshSends.last?.0 else {
            return XCTFail("a node that cannot serve us was taken as a partner")
        }
        guard case .partnerAccept = h.receive(.partnerRequest(MeshFixtures.status(spare: 100, held: [])), from: 6).meshSends.last?.0 else {
            return XCTFail("a supplier was refused")
        }
        XCTAssertEqual(h.node.partnerAddresses.map(\.simulatedIndex), [6])
    }

    func testForwardingPartnersAreServedFirstNewestFirstThenTheRestOldestFirst() {
        var h = Harness.peer(upload: 96, partners: [(2, MeshFixtures.status(spare: 0, held: [])),
                                                   (3, MeshFixtures.status(spare: 100, held: []))])
        for s in UInt32(0)..<10 { h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 9) }
        var sent = h.receive(.request([0]), from: 3)  // leaves at once: the link is busy for ~150 ms
        sent += h.receive(.request([1, 2]), from: 2)
        sent += h.receive(.request([3, 8]), from: 3)
        let order = h.drainUploads(after: sent)
        XCTAssertEqual(order, ["0→3", "8→3", "3→3", "1→2", "2→2"])
    }

    private var rescuing: MeshConfig {
        var config = MeshConfig()
        config.overdueRescue = true
        return config
    }

    /// A chunk more than twice the deadline old goes out ahead of the queue's order, but
    /// only every other send: fresh chunks for forwarding partners keep half the link. One
    /// older still (by more than another deadline) is past saving and keeps its place.
    func testAnOverdueChunkJumpsTheQueueEveryOtherSend() {
        var h = Harness.peer(config: rescuing, partners: [(2, MeshFixtures.status(spare: 0, held: [])),
                                        (3, MeshFixtures.status(spare: 100, held: []))])
        // All arrive at once, chunk 29 as it is made, so chunk s is (29 − s) × 0.2 s old:
        // 10 and 11 are 3.6–3.8 s old, 2 is 5.4 s old, 20–29 under 2 s (the deadline is 1.5 s).
        for s in UInt32(0)..<30 { h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 9) }
        var sent = h.receive(.request([20, 25, 29]), from: 3)  // 29 leaves at once
        sent += h.receive(.request([2, 10, 11]), from: 2)
        let order = h.drainUploads(after: sent)
        XCTAssertEqual(order, ["29→3", "10→2", "25→3", "11→2", "20→3", "2→2"],
                       "without the rule: 29, 25, 20 to the forwarding partner, then 2, 10 and 11")
        XCTAssertEqual(h.node.counters.overdueServed, 2)
    }

    /// A chunk younger than ours usually are when they reach us is still spreading: an
    /// overdue chunk does not go ahead of it.
    func testAnOverdueChunkWaitsBehindAChunkStillSpreading() {
        var h = Harness.peer(config: rescuing, partners: [(2, MeshFixtures.status(spare: 0, held: [])),
                                        (3, MeshFixtures.status(spare: 100, held: []))])
        let start = h.now
        h.receive(.data(MeshFixtures.chunk(0), status: nil), from: 9)  // the fastest delivery
        for s in UInt32(1)..<30 {  // the rest come 2 s slower: our chunks' usual age nears 2 s
            h.now = start + .seconds(Double(s) * 0.2 + 2)
            h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 9)
        }
        h.receive(.data(MeshFixtures.chunk(36), status: nil), from: 9)  // 0.6 s old: still spreading
        var sent = h.receive(.request([29]), from: 3)  // leaves at once: the link is busy
        sent += h.receive(.request([36]), from: 3)
        sent += h.receive(.request([20]), from: 2)  // 3.8 s old: overdue
        let order = h.drainUploads(after: sent)
        XCTAssertEqual(order, ["29→3", "36→3", "20→2"], "without the guard: 29, 20, 36")
    }

    func testWorkPushedBackPastTheAskersPatienceIsRefused() {
        var h = Harness.peer(upload: 96, partners: [(2, MeshFixtures.status(spare: 0, held: [])),
                                                   (3, MeshFixtures.status(spare: 100, held: []))])
        for s in UInt32(0)..<30 { h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 9) }
        var sent = h.receive(.request([0]), from: 2)
        sent += h.receive(.request([20]), from: 2)
        sent += h.receive(.request(Array(1..<15)), from: 3)  // ~2 s of work for a forwarding partner
        var toTwo: [UInt32] = [], refusedToTwo: [UInt32] = []
        for _ in 0..<40 {
            for (message, to) in sent.meshSends where to == 2 {
                if case .data(let c, _) = message { toTwo.append(c.sequence) }
                if case .refuse(let seqs) = message { refusedToTwo += seqs }
            }
            guard let wake = sent.timer(MeshNode.uploadTimer) else { break }
            h.now = wake
            sent = h.run(.timer(MeshNode.uploadTimer))
        }
        XCTAssertEqual(toTwo, [0], "chunk 0 left at once; chunk 20 waited behind the forwarding partner's work")
        XCTAssertEqual(refusedToTwo, [20], "refused once it had waited most of a request timeout, not sent late")
    }

    /// The refusal leaves as soon as the work queued ahead shows the chunk cannot go out in
    /// time, not once it has waited that long: the asker re-routes half a second sooner.
    func testWorkThatCannotLeaveInTimeIsRefusedAsSoonAsThatIsKnown() {
        var h = Harness.peer(upload: 96, partners: [(2, MeshFixtures.status(spare: 0, held: [])),
                                                   (3, MeshFixtures.status(spare: 100, held: []))])
        for s in UInt32(0)..<30 { h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 9) }
        h.receive(.request([0]), from: 2)  // leaves at once: the link is busy with it
        let first = h.receive(.request([20]), from: 2)
        XCTAssertFalse(first.meshSends.contains { if case .refuse = $0.0 { true } else { false } },
                       "behind one chunk, chunk 20 can still leave in time")
        let sent = h.receive(.request(Array(1..<15)), from: 3)  // ~2 s of work that goes first
        let refusedToTwo = sent.meshSends.compactMap { message, to -> [UInt32]? in
            if to == 2, case .refuse(let seqs) = message { seqs } else { nil }
        }
        XCTAssertEqual(refusedToTwo, [[20]], "refused the moment it was pushed back past the asker's patience")
    }

    /// A partner that forwards hears our map several times as often as one that uploads
    /// nothing: each pull hop waits for the map, while a consumer is served old chunks last.
    func testAForwardingPartnerGetsMapsMoreOftenThanOneThatUploadsNothing() {
        var config = MeshConfig()
        config.bufferMapPeriod = .seconds(0.75)
        var h = Harness.peer(config: config, partners: [(2, MeshFixtures.status(spare: 100, held: [])),
                                                       (3, MeshFixtures.status(spare: 0, held: []))])
        var maps = [2: 0, 3: 0]
        for s in UInt32(0)..<30 {
            h.advance(.seconds(0.2))
            var sent = h.receive(.data(MeshFixtures.chunk(s), status: nil), from: 9)
            if let due = sent.timer(MeshNode.statusTimer), due <= h.now { sent += h.run(.timer(MeshNode.statusTimer)) }
            for (message, to) in sent.meshSends { if case .status = message { maps[to, default: 0] += 1 } }
        }
        XCTAssertGreaterThanOrEqual(maps[2]!, 9, "6 s of chunks: a map about every 0.45 s")
        XCTAssertLessThanOrEqual(maps[3]!, 5, "a map at most every 1.5 s")
        XCTAssertGreaterThan(maps[3]!, 0, "a consumer still hears what we hold")
    }

    func testANodeThatFellBehindSkipsChunksTooOldToPlay() {
        var config = MeshConfig()
        config.window = .seconds(2)
        var h = Harness.peer(config: config, partners: [])
        h.receive(.data(MeshFixtures.chunk(5), status: nil), from: 9)  // generated 1.0 s, arrives at once
        h.advance(.seconds(4))
        h.receive(.partnerAccept(MeshFixtures.status(spare: 200, held: Array(6...20))), from: 2)
        h.advance(config.scheduleDelay)
        let asked = h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2)
        // Chunk 15 was generated at 3.0 s, two seconds (the window) before now; 11...14 are older.
        XCTAssertEqual(asked.sorted(), Array(15...20))
    }
}
