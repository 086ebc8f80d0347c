import XCTest
import CanopyCore
@testable import CanopyMesh

/// Substream push (`MeshConfig.substreamPush`): who is asked to push, what a supplier
/// pushes, and how long a subscriber leaves a chunk to its pusher.
final class MeshPushTests: XCTestCase {
    private var pushing: MeshConfig {
        var config = MeshConfig()
        config.substreamPush = true
        return config
    }

    private func subscriptions(_ effects: [Effect]) -> [(mask: UInt16, to: Int)] {
        effects.meshSends.compactMap { if case .subscribe(let mask, _) = $0.0 { (mask, $0.1) } else { nil } }
    }

    /// Partner 2 told us of chunk 10 first, partner 3 half a second later; whoever served
    /// the pull, the earlier partner is asked to push the substream.
    private func subscribedPeer() -> Harness {
        var h = Harness.peer(config: pushing, partners: [(2, MeshFixtures.status(spare: 100, held: [])),
                                                         (3, MeshFixtures.status(spare: 900, held: []))])
        h.receive(.status(MeshFixtures.status(spare: 100, held: [10])), from: 2)
        h.advance(.seconds(0.5))
        h.receive(.status(MeshFixtures.status(spare: 900, held: [10])), from: 3)
        h.advance(MeshConfig().scheduleDelay)
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 3), [10], "DONet asks the fastest supplier")
        return h
    }

    /// A peer two hops from the source (it got chunk 1 from partner 3, one hop out) with
    /// partner 2, five hops out, that may subscribe to it.
    private func supplier() -> Harness {
        var h = Harness.peer(upload: 256, config: pushing, partners: [(2, MeshFixtures.status(spare: 100, held: [], level: 40)),
                                                                       (3, MeshFixtures.status(spare: 100, held: []))])
        h.receive(.data(MeshFixtures.chunk(1), status: nil), from: 3)
        return h
    }

    /// The first pull asks for every substream at once: the pulled one of the partner that
    /// told us of it first, the others spread over both partners by lag and load.
    func testAFirstPullAsksForEverySubstreamThePulledOneOfTheEarliestPartner() {
        var h = subscribedPeer()
        let asked = subscriptions(h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 3))
        XCTAssertEqual(Set(asked.map(\.to)), [2, 3])
        XCTAssertEqual(asked.reduce(0) { $0 | $1.mask }, 0xFFFF, "every substream is asked of someone")
        XCTAssertEqual(asked.reduce(0) { $0 + $1.mask.nonzeroBitCount }, 16, "and of one partner only")
        XCTAssertEqual(asked.first { $0.to == 2 }.map { $0.mask & 1 << 10 }, 1 << 10, "chunk 10 is substream 10 of 16")
    }

    /// After the first pull, a pull asks for its own substream only, even once every pusher
    /// is gone: asking the partners left for all 16 at once, right after a crash, cost more
    /// chunks than it saved.
    func testOnlyTheFirstPullAsksForEverySubstream() {
        var h = subscribedPeer()
        h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 3)
        h.receive(.declined(0xFFFF), from: 2)
        h.receive(.declined(0xFFFF), from: 3)
        XCTAssertTrue(h.node.pushers.allSatisfy { $0 == nil })
        h.receive(.partnerAccept(MeshFixtures.status(spare: 500, held: [11])), from: 4)
        h.advance(MeshConfig().scheduleDelay)
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 4), [11])
        let asked = subscriptions(h.receive(.data(MeshFixtures.chunk(11), status: nil), from: 4))
        XCTAssertEqual(asked.map(\.to), [4])
        XCTAssertEqual(asked.first?.mask, 1 << 11)
    }

    /// Partner 2 is the earlier one, but it is farther from the source than we are: pushes
    /// flow only away from the source, so they cannot run around a loop.
    func testOnlyAPartnerNearerTheSourceIsAskedToPush() {
        var h = Harness.peer(config: pushing, partners: [(2, MeshFixtures.status(spare: 900, held: [], level: 40)),
                                                         (3, MeshFixtures.status(spare: 100, held: [], level: 8))])
        h.receive(.data(MeshFixtures.chunk(9), status: nil), from: 3)
        XCTAssertEqual(h.node.advertisedLevel, 16, "one hop below a partner one hop from the source")
        h.receive(.status(MeshFixtures.status(spare: 900, held: [9, 10], level: 40)), from: 2)
        h.advance(.seconds(2))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [9, 10], level: 8)), from: 3)
        h.advance(MeshConfig().scheduleDelay)
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10], "DONet asks the fastest supplier")
        let sent = h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 2)
        XCTAssertEqual(subscriptions(sent).map(\.to), [3])
    }

    /// A supplier takes a subscription only from a partner farther from the source than itself.
    func testASupplierDeclinesToPushToAPartnerNoFartherFromTheSource() {
        var h = supplier()
        h.receive(.status(MeshFixtures.status(spare: 100, held: [], level: 16)), from: 2)
        let sent = h.receive(.subscribe(1 << 7, from: 7), from: 2)
        let declined = sent.meshSends.compactMap { if case .declined(let mask) = $0.0, $0.1 == 2 { mask } else { nil } }
        XCTAssertEqual(declined, [1 << 7], "2 is two hops out, as far as we are")
    }

    /// A pusher whose level rose to ours is let go at the next tick, so a loop that drifting
    /// levels let form does not last.
    func testAPusherNoLongerNearerTheSourceIsDropped() {
        var h = subscribedPeer()
        XCTAssertTrue(subscriptions(h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 3)).map(\.to).contains(2))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [10], level: 40)), from: 2)
        h.advance(.seconds(0.5))
        let sent = h.run(.timer(MeshNode.tickTimer))
        XCTAssertEqual(subscriptions(sent).map(\.to), [2])
        XCTAssertEqual(subscriptions(sent).first?.mask, 0, "2 is told it pushes nothing now")
    }

    func testWithoutPushNobodyIsAskedToPush() {
        var config = MeshConfig()
        config.substreamPush = false
        var h = Harness.peer(config: config, partners: [(2, MeshFixtures.status(spare: 100, held: [10]))])
        h.advance(MeshConfig().scheduleDelay)
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 2), [10])
        XCTAssertTrue(subscriptions(h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 2)).isEmpty)
    }

    func testTheSchedulerLeavesAChunkToItsPusherUntilTheGraceEnds() {
        var h = subscribedPeer()
        h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 3)
        // Chunk 26 is substream 10 again: partner 3 has it, the pusher (2) not yet.
        h.advance(.seconds(0.1))
        h.receive(.status(MeshFixtures.status(spare: 900, held: [10, 26])), from: 3)
        h.advance(MeshConfig().scheduleDelay)
        let early = h.run(.timer(MeshNode.scheduleTimer))
        XCTAssertFalse(early.requested(from: 3).contains(26), "left to the pusher")
        guard let graceEnd = early.timer(MeshNode.scheduleTimer) else { return XCTFail("no wake-up at the grace's end") }
        h.now = graceEnd
        let cancel = h.run(.timer(MeshNode.scheduleTimer))
        XCTAssertEqual(subscriptions(cancel).map(\.to), [2], "the late pusher is cancelled")
        XCTAssertEqual(subscriptions(cancel).first.map { $0.mask & 1 << 10 }, 0, "for substream 10 only")
        XCTAssertEqual(cancel.requested(from: 3), [], "a push already on its way may still land")
        guard let settled = cancel.timer(MeshNode.scheduleTimer) else { return XCTFail("no wake-up after the cancel") }
        h.now = settled
        XCTAssertEqual(h.run(.timer(MeshNode.scheduleTimer)).requested(from: 3), [26], "pulled once it has not")
        let asked = subscriptions(h.receive(.data(MeshFixtures.chunk(26), status: nil), from: 3))
        XCTAssertEqual(asked.map(\.to), [3], "a node with other pushers asks for the pulled substream alone")
        XCTAssertEqual(asked.first.map { $0.mask & 1 << 10 }, 1 << 10)
    }

    func testASupplierPushesASubscribedSubstreamAsSoonAsItGetsAChunk() {
        var h = supplier()
        h.receive(.subscribe(1 << 7, from: 7), from: 2)
        let got7 = h.receive(.data(MeshFixtures.chunk(7), status: nil), from: 3)
        let data7 = got7.meshSends.compactMap { if case .data(let c, _) = $0.0 { ($0.1, c.sequence) } else { nil } }
        XCTAssertEqual(data7.map(\.0), [2])
        XCTAssertEqual(data7.map(\.1), [7])
        let got8 = h.receive(.data(MeshFixtures.chunk(8), status: nil), from: 3)
        XCTAssertTrue(got8.meshSends.allSatisfy { if case .data = $0.0 { false } else { true } }, "substream 8 was not asked for")
        h.receive(.subscribe(0, from: 0), from: 2)
        let got23 = h.receive(.data(MeshFixtures.chunk(23), status: nil), from: 3)
        XCTAssertTrue(got23.meshSends.allSatisfy { if case .data = $0.0 { false } else { true } }, "the subscription was cancelled")
    }

    func testASubscriberThatMissedItsKeepalivesIsNotPushedTo() {
        var h = supplier()
        h.receive(.subscribe(1 << 7 | 1 << 8, from: 7), from: 2)
        h.advance(MeshConfig().suspectAfter + .seconds(0.1))
        h.receive(.status(MeshFixtures.status(spare: 100, held: [])), from: 3)
        let got7 = h.receive(.data(MeshFixtures.chunk(7), status: nil), from: 3)
        XCTAssertTrue(got7.meshSends.allSatisfy { if case .data = $0.0 { false } else { true } },
                      "2 went silent: probably crashed, so the push would waste our upload")
        h.receive(.status(MeshFixtures.status(spare: 100, held: [], level: 40)), from: 2)
        let got8 = h.receive(.data(MeshFixtures.chunk(8), status: nil), from: 3)
        XCTAssertEqual(got8.meshSends.compactMap { if case .data(let c, _) = $0.0 { c.sequence } else { nil } }, [UInt32(8)],
                       "it spoke again")
    }

    func testASubscriptionStartsWhereTheSubscriberSaysItHasAskedForTheRest() {
        var h = supplier()
        h.receive(.subscribe(1 << 7, from: 23), from: 2)
        let early = h.receive(.data(MeshFixtures.chunk(7), status: nil), from: 3)
        XCTAssertTrue(early.meshSends.allSatisfy { if case .data = $0.0 { false } else { true } }, "2 asked for 7 elsewhere")
        let later = h.receive(.data(MeshFixtures.chunk(23), status: nil), from: 3)
        XCTAssertEqual(later.meshSends.compactMap { if case .data(let c, _) = $0.0 { c.sequence } else { nil } }, [UInt32(23)])
    }

    func testASubscriberStartsItsSubscriptionAfterWhatItHoldsOrAsked() {
        var h = subscribedPeer()
        let sent = h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 3)
        let from = sent.meshSends.compactMap { if case .subscribe(_, let from) = $0.0 { from } else { nil } }
        XCTAssertEqual(Set(from), [UInt32(11)], "holds 10, nothing newer asked")
    }

    /// When a stream starts, every listener asks for a substream's push as it first pulls
    /// one of its chunks, so subscriptions reach the source in substream order. Its push
    /// budget runs out before the last substreams ask; they must still get their even share.
    func testEverySubstreamGetsItsEvenShareOfAFullPushBudget() {
        var h = Harness.source(upload: 300, push: 3, partners: 8)
        let budget = h.node.pushBudget
        let even = budget / MeshMessage.substreams
        XCTAssertEqual(budget, 48, "300 kbit/s carries 4.3 copies of each chunk; pushes may take 70% of them")
        var masks = [UInt16](repeating: 0, count: 9)
        for j in 0..<MeshMessage.substreams {
            for p in 1...8 {
                masks[p] |= 1 << UInt16(j)
                let sent = h.receive(.subscribe(masks[p], from: UInt32(j)), from: p)
                for case (.declined(let mask), p) in sent.meshSends { masks[p] &= ~mask }
            }
        }
        let takers = (0..<MeshMessage.substreams).map { j in
            h.node.partners.filter { $0.pushMask & (1 << UInt16(j)) != 0 }.count
        }
        XCTAssertEqual(takers.reduce(0, +), budget, "the whole budget is used")
        XCTAssertEqual(takers.min(), even, "substream \(takers.firstIndex(of: takers.min()!)!) has \(takers.min()!) takers: \(takers)")
    }

    func testARefusedPushEndsThatSubscriptionOnBothSides() {
        var h = subscribedPeer()
        h.receive(.data(MeshFixtures.chunk(10), status: nil), from: 3)
        let sent = h.receive(.refuse([26]), from: 2)
        XCTAssertEqual(subscriptions(sent).map(\.to), [2])
        XCTAssertEqual(subscriptions(sent).first.map { $0.mask & 1 << 10 }, 0, "the pusher is told it no longer pushes substream 10")
        XCTAssertNotEqual(subscriptions(sent).first?.mask, 0, "its other substreams stay")
    }

    /// The subscriber leaves every chunk from `from` on to its new pusher, so what the pusher
    /// already holds of the substream goes at once; later chunks as they come.
    func testANewPusherSendsAtOnceWhatItAlreadyHolds() {
        var h = supplier()
        h.receive(.data(MeshFixtures.chunk(7), status: nil), from: 3)
        h.receive(.data(MeshFixtures.chunk(8), status: nil), from: 3)
        let sent = h.receive(.subscribe(1 << 7 | 1 << 1, from: 2), from: 2)
        XCTAssertEqual(h.drainUploads(after: sent), ["7→2"], "chunk 1 is before `from`; 8 is substream 8")
    }
}
