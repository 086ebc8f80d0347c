import XCTest
@testable import CanopyTree
import CanopyCore

/// Promotion, one node at a time (docs/PROTOCOL.md §6.10): a forwarder deep in its stripe
/// asks its parent, the ask climbs the path, and an ancestor with a free slot (or a leaf it
/// has fed long enough to hand down) takes it; the forwarder switches once fed from higher up.
final class TreePromoteTests: SplitStreamNodeTestCase {
    /// All of them share stripe 0's first digit: stripe 0 is their own.
    private let grand = peer(0x0100_0000_0000_0000, 1)
    private let parent = peer(0x0200_0000_0000_0000, 2)
    private let deep = peer(0x0300_0000_0000_0000, 3)
    private let kid = peer(0x0400_0000_0000_0000, 4)
    private let leaf = peer(0x0500_0000_0000_0000, 5)
    private let forwardingChild = peer(0x0600_0000_0000_0000, 6)

    private var config: TreeConfig {
        var c = TreeConfig()
        c.consolidateAfter = .milliseconds(Int64(500))
        c.promoteAfter = .milliseconds(Int64(500))
        c.promoteInterval = .seconds(2)
        return c
    }

    private func join(_ joiner: NodeRef, children: UInt8 = 0) -> Message {
        .tree(.join(TreeJoin(topic: stripe0, joiner: joiner, budget: 0, spare: 0, children: children)))
    }

    /// `deep`: in both stripes at depth 3 (source, grand, parent), feeding `kid` in stripe 0,
    /// fed its first chunk at `start`.
    private func deepForwarder(config: TreeConfig? = nil) -> SplitStream {
        var app = deepForwarderBeforeTheStream(config: config)
        upcall(&app, as: deep) { $0.receive(chunk(0), from: parent, kbr: &$1) }
        XCTAssertEqual(app.trees[0].depth, 3)
        return app
    }

    private func promotions(_ effects: [Effect], to: NodeRef) -> [TreeJoin] {
        effects.compactMap { if case .send(.tree(.promote(let ask)), to.address) = $0 { ask } else { nil } }
    }

    private func accepts(_ effects: [Effect], to: NodeRef) -> [[NodeID]] {
        effects.compactMap { if case .send(.tree(.accept(_, let path)), to.address) = $0 { path } else { nil } }
    }

    func testADeepForwarderAsksItsParentOnceSettled() {
        var app = deepForwarder()
        let early = upcall(&app, as: deep, at: start + .milliseconds(Int64(100))) { $0.tick(&$1) }
        XCTAssertEqual(promotions(early, to: parent), [], "not while the forest forms")
        let later = upcall(&app, as: deep, at: start + .milliseconds(Int64(600))) { $0.tick(&$1) }
        let asks = promotions(later, to: parent)
        XCTAssertEqual(asks.map(\.topic), [stripe0], "its stripe with children")
        XCTAssertEqual(asks.first?.budget, 2, "up to the source")
        XCTAssertEqual(asks.first?.children, 1)
        let again = upcall(&app, as: deep, at: start + .milliseconds(Int64(900))) { $0.tick(&$1) }
        XCTAssertEqual(promotions(again, to: parent), [], "one ask per interval")
    }

    func testNoAsksWhenTurnedOffOrShallow() {
        var off = config
        off.promoteInterval = .zero
        var app = deepForwarder(config: off)
        XCTAssertEqual(promotions(upcall(&app, as: deep, at: start + .seconds(1)) { $0.tick(&$1) }, to: parent), [])
        var shallow = attached(as: deep, under: parent, config: config)
        upcall(&shallow, as: deep) { $0.receive(join(kid), from: kid, kbr: &$1) }
        upcall(&shallow, as: deep) { $0.receive(chunk(0), from: parent, kbr: &$1) }
        XCTAssertEqual(promotions(upcall(&shallow, as: deep, at: start + .seconds(1)) { $0.tick(&$1) }, to: parent), [],
                       "depth 2 is as high as a promotion goes")
    }

    func testTheParentPassesTheAskUpAndAnAncestorWithRoomTakesIt() {
        let ask = TreeJoin(topic: stripe0, joiner: deep, budget: 1, spare: 5, children: 1)
        var middle = attached(as: parent, under: grand, config: config)
        upcall(&middle, as: parent) { $0.receive(join(deep, children: 1), from: deep, kbr: &$1) }
        let passed = upcall(&middle, as: parent) { $0.receive(.tree(.promote(ask)), from: deep, kbr: &$1) }
        XCTAssertEqual(promotions(passed, to: grand).map(\.budget), [0], "passed up, one step spent")
        XCTAssertEqual(accepts(passed, to: deep), [], "its own parent cannot lift it")

        var top = attached(as: grand, config: config)
        var onward = ask
        onward.budget = 0
        let taken = upcall(&top, as: grand) { $0.receive(.tree(.promote(onward)), from: parent, kbr: &$1) }
        XCTAssertEqual(accepts(taken, to: deep), [[source.id, grand.id]])
        XCTAssertTrue(top.trees[0].hasChild(deep.id))
    }

    /// `grand`, full at two children in stripe 0: `leaf` and `forwardingChild`, both taken at `at`.
    private func fullAncestor(childrenSince at: Instant) -> SplitStream {
        var c = config
        c.maxChildren = 2
        var app = attached(as: grand, at: at, config: c)
        upcall(&app, as: grand, at: at) { $0.receive(join(leaf), from: leaf, kbr: &$1) }
        upcall(&app, as: grand, at: at) { $0.receive(join(forwardingChild, children: 3), from: forwardingChild, kbr: &$1) }
        XCTAssertEqual(app.spareSlots, 0)
        return app
    }

    func testAFullAncestorHandsDownALeafItHasFedLongEnough() {
        var app = fullAncestor(childrenSince: start)
        let ask = TreeJoin(topic: stripe0, joiner: deep, budget: 0, spare: 5, children: 1)
        let later = start + .seconds(1)
        let effects = upcall(&app, as: grand, at: later) { $0.receive(.tree(.promote(ask)), from: parent, kbr: &$1) }
        XCTAssertEqual(accepts(effects, to: deep), [[source.id, grand.id]])
        XCTAssertTrue(treeMessages(effects).contains(.reject(topic: stripe0, handedDown: true)), "the leaf is handed down")
        let handed = effects.compactMap {
            if case .send(.tree(.join(let j)), forwardingChild.address) = $0 { j } else { nil }
        }
        XCTAssertEqual(handed.map(\.joiner), [leaf], "to the child that forwards")
        XCTAssertEqual(handed.first?.budget, TreeConfig().pushDownBudget, "with a fresh budget")
        XCTAssertEqual(app.spareSlots, 0, "never over its bound")
    }

    func testALeafPlacedLatelyIsNotHandedDownAgain() {
        let ask = TreeJoin(topic: stripe0, joiner: deep, budget: 0, spare: 5, children: 1)
        var app = fullAncestor(childrenSince: start)
        let soon = upcall(&app, as: grand, at: start + .milliseconds(Int64(200))) {
            $0.receive(.tree(.promote(ask)), from: parent, kbr: &$1)
        }
        XCTAssertEqual(accepts(soon, to: deep), [])
        XCTAssertFalse(treeMessages(soon).contains(.reject(topic: stripe0, handedDown: true)))
        XCTAssertTrue(promotions(soon, to: source).isEmpty, "the ask's climb is over: nothing goes to the source")
    }

    func testAPromotedForwarderTakesOnlyAHigherParentOnceItsDataFlows() {
        var app = deepForwarder()
        upcall(&app, as: deep, at: start + .milliseconds(Int64(600))) { $0.tick(&$1) }
        let level = peer(0x0700_0000_0000_0000, 7)
        let same = upcall(&app, as: deep, at: start + .milliseconds(Int64(700))) {
            $0.receive(.tree(.accept(topic: stripe0, path: [source.id, grand.id, level.id])), from: level, kbr: &$1)
        }
        XCTAssertTrue(treeMessages(same).contains(.leave(topic: stripe0)), "an offer no higher is declined")
        upcall(&app, as: deep, at: start + .milliseconds(Int64(800))) {
            $0.receive(.tree(.accept(topic: stripe0, path: [source.id, grand.id])), from: grand, kbr: &$1)
        }
        XCTAssertEqual(app.trees[0].parent, parent, "fed by the old parent until the new one's data flows")
        let fed = upcall(&app, as: deep, at: start + .milliseconds(Int64(900))) { $0.receive(chunk(2), from: grand, kbr: &$1) }
        XCTAssertEqual(app.trees[0].parent, grand)
        XCTAssertEqual(app.trees[0].depth, 2)
        let toOldParent = fed.compactMap { if case .send(.tree(let m), parent.address) = $0 { m } else { nil } }
        XCTAssertTrue(toOldParent.contains(.leave(topic: stripe0)), "and leaves the old parent")
    }

    /// `deep` at depth 3 in both stripes, feeding `kid` in stripe 0, with no chunk yet: the
    /// stream has not started.
    private func deepForwarderBeforeTheStream(config: TreeConfig? = nil) -> SplitStream {
        var app = attached(as: deep, under: parent, config: config ?? self.config)
        for topic in app.topics!.stripes {
            upcall(&app, as: deep) {
                $0.receive(.tree(.accept(topic: topic, path: [source.id, grand.id, parent.id])), from: parent, kbr: &$1)
            }
        }
        upcall(&app, as: deep) { $0.receive(join(kid), from: kid, kbr: &$1) }
        return app
    }

    /// The forest is shaped by joins before the stream starts, and a promotion then disturbs
    /// nobody's stream: the ask goes out `promoteAfter` after the join, and the higher parent
    /// replaces the old one on its accept, since there is no data to wait for.
    func testBeforeTheStreamAForwarderClimbsAndSwitchesOnTheAccept() {
        var app = deepForwarderBeforeTheStream()
        let asks = promotions(upcall(&app, as: deep, at: start + .milliseconds(Int64(600))) { $0.tick(&$1) }, to: parent)
        XCTAssertEqual(asks.map(\.topic), [stripe0])
        let switched = upcall(&app, as: deep, at: start + .milliseconds(Int64(700))) {
            $0.receive(.tree(.accept(topic: stripe0, path: [source.id, grand.id])), from: grand, kbr: &$1)
        }
        XCTAssertEqual(app.trees[0].parent, grand)
        XCTAssertEqual(app.trees[0].depth, 2)
        let toOldParent = switched.compactMap { if case .send(.tree(let m), parent.address) = $0 { m } else { nil } }
        XCTAssertTrue(toOldParent.contains(.leave(topic: stripe0)))
    }

    /// A climb ends at the source when every ancestor on the path feeds forwarders. The source
    /// has no slot either: it passes the ask, with no budget left, to a child with the fewest
    /// nodes below it, one that feeds only leaves, among those it has had a while.
    func testTheSourcePassesAnAskItCannotPlaceToAChildFeedingOnlyLeaves() {
        var c = config
        c.maxChildren = 3
        var app = SplitStream(uploadKbps: 2000, config: c, info: info, isSource: true, modeledVerification: true)
        let leafFeeder = peer(0x0700_0000_0000_0000, 7)
        for (child, below) in [(grand, UInt8(40)), (leafFeeder, 3), (forwardingChild, 25)] {
            upcall(&app, as: source) { $0.receive(join(child, children: below), from: child, kbr: &$1) }
        }
        let ask = TreeJoin(topic: stripe0, joiner: deep, budget: 1, spare: 5, children: 1)
        let passed = upcall(&app, as: source, at: start + .seconds(1)) { $0.receive(.tree(.promote(ask)), from: grand, kbr: &$1) }
        let all = passed.compactMap { if case .send(.tree(.promote(let a)), let to) = $0 { (a, to) } else { nil } }
        XCTAssertEqual(all.count, 1)
        XCTAssertEqual(all.first?.0.budget, 0)
        XCTAssertNotEqual(all.first?.1, grand.address, "not the child with the most below it")
        XCTAssertEqual(app.trees[0].children.count, 3, "the source keeps its children")
        let tooSoon = upcall(&app, as: source, at: start + .milliseconds(Int64(100))) {
            $0.receive(.tree(.promote(ask)), from: grand, kbr: &$1)
        }
        XCTAssertTrue(promotions(tooSoon, to: leafFeeder).isEmpty && promotions(tooSoon, to: forwardingChild).isEmpty,
                      "children placed lately are not asked")
    }

    /// An ancestor whose children are all leaves without room still makes the trade: the
    /// leaf it hands down goes below the asker, which brings free slots.
    func testALeafHandedDownGoesBelowTheAskerWhenNoChildHasRoom() {
        var c = config
        c.maxChildren = 2
        var app = attached(as: grand, config: c)
        let other = peer(0x0800_0000_0000_0000, 8)
        upcall(&app, as: grand) { $0.receive(join(leaf), from: leaf, kbr: &$1) }
        upcall(&app, as: grand) { $0.receive(join(other), from: other, kbr: &$1) }
        let ask = TreeJoin(topic: stripe0, joiner: deep, budget: 0, spare: 5, children: 1)
        let effects = upcall(&app, as: grand, at: start + .seconds(1)) { $0.receive(.tree(.promote(ask)), from: parent, kbr: &$1) }
        XCTAssertEqual(accepts(effects, to: deep), [[source.id, grand.id]])
        let handed = effects.compactMap { if case .send(.tree(.join(let j)), deep.address) = $0 { j.joiner } else { nil } }
        XCTAssertEqual(handed.count, 1)
        XCTAssertTrue(handed.allSatisfy { $0 == leaf || $0 == other })
        XCTAssertEqual(app.spareSlots, 0, "never over its bound")
    }
}
