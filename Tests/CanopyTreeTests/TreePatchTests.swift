import XCTest
@testable import CanopyTree
import CanopyCore
import NIOCore

/// Pull repair under the push trees, one node at a time: a stripe with an overdue hole asks
/// a parent of another stripe (never the source) for it, and that parent sends a child of
/// its own a run of the stripe's kept chunks that stops where its own copy has a gap.
final class TreePatchTests: SplitStreamNodeTestCase {
    /// Shares stripe 0's first digit, so a direct join in stripe 0 may make it a parent.
    private let helper = peer(0x0300_0000_0000_0000, 1)
    private let child = peer(0x5000_0000_0000_0000, 2)
    private let stranger = peer(0x7000_0000_0000_0000, 3)

    /// `helper` holds stripe 1's chunks 1, 3 and 7 (not 5) and has `child` in stripe 0.
    private func helperWithChildInStripe0() -> SplitStream {
        var app = attached(as: helper)
        for sequence: UInt32 in [1, 3, 7] { upcall(&app, as: helper) { $0.receive(chunk(sequence), from: source, kbr: &$1) } }
        let join = TreeJoin(topic: stripe0, joiner: child, budget: 0, spare: 0, children: 0)
        upcall(&app, as: helper) { $0.receive(.tree(.join(join)), from: child, kbr: &$1) }
        XCTAssertTrue(app.trees[0].hasChild(child.id))
        return app
    }

    func testAParentOfAnotherStripeSendsARunThatStopsAtItsOwnGap() {
        var app = helperWithChildInStripe0()
        let stripe1 = app.topics!.stripes[1]
        let sent = upcall(&app, as: helper) { $0.receive(.tree(.fill(topic: stripe1, from: 0)), from: child, kbr: &$1) }
        XCTAssertEqual(chunks(sent, to: child), [1, 3], "from the stripe's first chunk at or after 0, up to the gap at 5")
        XCTAssertFalse(app.trees[1].hasChild(child.id), "a patch adopts nobody")
    }

    func testOnlyAChildInSomeStripeGetsAPatch() {
        var app = helperWithChildInStripe0()
        let stripe1 = app.topics!.stripes[1]
        let sent = upcall(&app, as: helper) { $0.receive(.tree(.fill(topic: stripe1, from: 0)), from: stranger, kbr: &$1) }
        XCTAssertEqual(chunks(sent, to: stranger), [])
    }

    /// `child` is fed stripe 0 by `helper` and stripe 1 by the source; stripe `hole`'s chunk
    /// 5 or 4 never comes while both stripes go on up to sequence 59.
    private func childMissingOneChunk(inStripe hole: Int) -> SplitStream {
        var app = attached(as: child, under: helper)
        let stripe1 = app.topics!.stripes[1]
        upcall(&app, as: child) { $0.receive(.tree(.reject(topic: stripe1, handedDown: false)), from: helper, kbr: &$1) }
        upcall(&app, as: child) { $0.receive(.tree(.accept(topic: stripe1, path: [source.id])), from: source, kbr: &$1) }
        XCTAssertEqual(app.trees[0].parent, helper)
        XCTAssertEqual(app.trees[1].parent, source)
        let missing: UInt32 = hole == 0 ? 4 : 5
        for sequence: UInt32 in 0..<60 where sequence != missing {
            let from = sequence % 2 == 0 ? helper : source
            upcall(&app, as: child) { $0.receive(chunk(sequence), from: from, kbr: &$1) }
        }
        return app
    }

    func testAnOverdueHoleIsAskedOfTheParentOfAnotherStripe() {
        var app = childMissingOneChunk(inStripe: 1)
        let effects = upcall(&app, as: child) { $0.tick(&$1) }
        XCTAssertEqual(fills(effects, to: helper).map(\.from), [5])
        XCTAssertEqual(fills(effects, to: helper).map(\.topic), [app.topics!.stripes[1]])
        let soon = upcall(&app, as: child, at: start + .milliseconds(Int64(100))) { $0.tick(&$1) }
        XCTAssertEqual(fills(soon, to: helper).count, 0, "asked again only after the patch interval")
    }

    func testTheSourceIsNeverAskedForAPatch() {
        var app = childMissingOneChunk(inStripe: 0)
        let effects = upcall(&app, as: child) { $0.tick(&$1) }
        XCTAssertEqual(fills(effects, to: source).count, 0, "the only other parent is the source")
        XCTAssertEqual(fills(effects, to: helper).count, 0, "the stripe's own parent is not a helper")
    }

    /// At the stream's start a stripe's first chunk comes down its own tree, which may be
    /// deeper than the one that brought this node's first chunk: it is not a hole until a
    /// parent timeout past the usual silence. At 3,000 nodes the first 5 s of stream drew
    /// 7,500 patch asks, against 100 to 200 in any 5 s after.
    func testAStripeThatHasDeliveredNothingYetIsGivenLongerBeforeItIsPatched() {
        var app = attached(as: child, under: helper)
        let stripe1 = app.topics!.stripes[1]
        upcall(&app, as: child) { $0.receive(.tree(.reject(topic: stripe1, handedDown: false)), from: helper, kbr: &$1) }
        upcall(&app, as: child) { $0.receive(.tree(.accept(topic: stripe1, path: [source.id])), from: stranger, kbr: &$1) }
        var asked: [(at: Int64, from: UInt32)] = []
        for step in 0..<125 {
            let now = start + .milliseconds(Int64(step * 20))
            if step % 2 == 1 {
                upcall(&app, as: child, at: now) { $0.receive(chunk(UInt32(step), at: now), from: stranger, kbr: &$1) }
            }
            if step % 25 == 0 {
                upcall(&app, as: child, at: now) { $0.receive(.tree(.heartbeat(topics: [stripe0])), from: helper, kbr: &$1) }
                let effects = upcall(&app, as: child, at: now) { $0.tick(&$1) }
                asked += fills(effects, to: stranger).filter { $0.topic == stripe0 }.map { (Int64(step * 20), $0.from) }
            }
        }
        XCTAssertEqual(asked.first?.at, 2000, "not at 0.5, 1 or 1.5 s; by 2 s (0.54 s of silence and a 1.2 s parent timeout)")
        XCTAssertEqual(asked.first?.from, 36, "from the oldest a helper keeps: 32 chunks of the stripe back from 99")
    }
}
