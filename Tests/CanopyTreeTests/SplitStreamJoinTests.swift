import XCTest
@testable import CanopyTree
import CanopyCore

/// How joins move on when they cannot be placed: every orphan asks the source on its second
/// attempt, a full source pushes a leaf down to a child with room, a node without a parent
/// takes no newcomer, and a node without upload hands a join sent to it on along the stripe
/// instead of letting it die.
final class SplitStreamJoinTests: SplitStreamNodeTestCase {
    /// Shares stripe 0's first digit.
    private let me = peer(0x0300_0000_0000_0000, 1)
    private let neighbour = peer(0x0310_0000_0000_0000, 2)
    private let joiner = peer(0x5000_0000_0000_0000, 3)

    private func joinsSent(_ effects: [Effect], to: NodeRef) -> [TreeJoin] {
        effects.compactMap { if case .send(.tree(.join(let j)), to.address) = $0 { j } else { nil } }
    }

    /// Started and attached to the source in both stripes; with a child in stripe 0 if `forwarding`.
    private func node(forwarding: Bool) -> SplitStream {
        var app = attached(as: me)
        if forwarding {
            let join = TreeJoin(topic: stripe0, joiner: joiner, budget: 0, spare: 0, children: 0)
            upcall(&app, as: me) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
            XCTAssertTrue(app.trees[0].hasChild(joiner.id))
        }
        return app
    }

    /// Loses its stripe-0 parent, then lets the first attempt time out; returns both attempts.
    private func twoAttempts(_ app: inout SplitStream) -> (first: (effects: [Effect], routed: [Message]),
                                                            second: (effects: [Effect], routed: [Message])) {
        let first = run(&app, as: me) { $0.receive(.tree(.reject(topic: stripe0, handedDown: false)), from: source, kbr: &$1) }
        let second = run(&app, as: me, at: start + app.config.joinTimeout + .seconds(1)) { $0.tick(&$1) }
        return (first, second)
    }

    /// Joins routed toward stripe 0 (the tick may also re-join others whose parent went quiet).
    private func routedJoins(_ routed: [Message]) -> Int {
        routed.filter { if case .tree(.join(let j)) = $0 { j.topic == stripe0 } else { false } }.count
    }

    func testAForwarderAsksTheSourceOnItsSecondAttempt() {
        var app = node(forwarding: true)
        let (first, second) = twoAttempts(&app)
        XCTAssertEqual(routedJoins(first.routed), 1, "first a Scribe join toward the stripe id")
        XCTAssertEqual(joinsSent(second.effects, to: source).map(\.children), [1], "then the source, saying it brings a subtree")
    }

    func testALeafAsksTheSourceOnItsSecondAttempt() {
        var app = node(forwarding: false)
        let (first, second) = twoAttempts(&app)
        XCTAssertEqual(routedJoins(first.routed), 1)
        XCTAssertEqual(routedJoins(second.routed), 0, "no second routed join")
        XCTAssertEqual(joinsSent(second.effects, to: source).map(\.children), [0], "the source, as a leaf")
    }

    /// While the forest forms, a leaf whose first join failed tries the overlay again, not the
    /// source: thousands of such leaves would bury the link every stripe depends on.
    func testALeafThatNeverHadAParentDoesNotAskTheSource() {
        var app = SplitStream(uploadKbps: 500, info: info, modeledVerification: true)
        let first = run(&app, as: me) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        XCTAssertEqual(routedJoins(first.routed), 1)
        let second = run(&app, as: me, at: start + app.config.joinTimeout + .seconds(1)) { $0.tick(&$1) }
        XCTAssertEqual(joinsSent(second.effects, to: source), [], "not the source")
        XCTAssertEqual(routedJoins(second.routed), 1, "a second routed join")
    }

    /// A source allowed one child, which it has: `me`, a stripe top with room (spare 4).
    private func fullSourceWithOneChild() -> SplitStream {
        var config = TreeConfig()
        config.maxChildren = 1
        var app = SplitStream(uploadKbps: 2000, config: config, info: info, isSource: true, modeledVerification: true)
        let top = TreeJoin(topic: stripe0, joiner: me, budget: 3, spare: 4, children: 0)
        upcall(&app, as: source) { $0.receive(.tree(.join(top)), from: me, kbr: &$1) }
        return app
    }

    private var leaf: TreeJoin { TreeJoin(topic: stripe0, joiner: joiner, budget: 3, spare: 0, children: 0) }

    /// A full source does not drop a leaf's join: it hands it to a stripe top that has room.
    func testAFullSourcePushesALeafDownToAChildWithRoom() {
        var app = fullSourceWithOneChild()
        XCTAssertEqual(app.spareSlots, 0)
        let effects = upcall(&app, as: source) { $0.receive(.tree(.join(leaf)), from: joiner, kbr: &$1) }
        XCTAssertEqual(joinsSent(effects, to: me).map(\.joiner), [joiner], "handed to the child that has room")
        XCTAssertEqual(joinsSent(effects, to: me).map(\.budget), [2])
        XCTAssertEqual(app.trees[0].children.map(\.ref.id), [me.id], "the source stays within its bound")
    }

    /// A child silent for half a refresh period past its refresh is most likely gone: a join
    /// handed to it would die unanswered, so a full node keeps the join instead of pushing it down.
    func testAFullNodeDoesNotPushAJoinDownToAChildThatStoppedRefreshing() {
        var app = fullSourceWithOneChild()
        let silentFor = app.config.refreshInterval * 3 / 2 + .milliseconds(1)
        let effects = upcall(&app, as: source, at: Self.start + silentFor) { $0.receive(.tree(.join(leaf)), from: joiner, kbr: &$1) }
        XCTAssertTrue(joinsSent(effects, to: me).isEmpty, "not handed to a child that stopped refreshing")
    }

    /// A node cut off from a stripe (looking for a new parent) cannot feed a newcomer there.
    func testANodeLookingForANewParentTakesNoNewChild() {
        var app = node(forwarding: false)
        upcall(&app, as: me) { $0.receive(.tree(.reject(topic: stripe0, handedDown: false)), from: source, kbr: &$1) }
        XCTAssertNil(app.trees[0].parent)
        XCTAssertGreaterThan(app.spareSlots, 0)
        let join = TreeJoin(topic: stripe0, joiner: joiner, budget: 0, spare: 0, children: 0)
        upcall(&app, as: me) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        XCTAssertFalse(app.trees[0].hasChild(joiner.id))
    }

    func testANodeWithoutUploadHandsAJoinOnAlongTheStripe() {
        var app = SplitStream(uploadKbps: 0, info: info, modeledVerification: true)
        XCTAssertEqual(app.bound, 0)
        let join = TreeJoin(topic: stripe0, joiner: joiner, budget: 3, spare: 0, children: 0)
        let (effects, _) = run(&app, as: me, leafSet: [neighbour]) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        XCTAssertEqual(joinsSent(effects, to: neighbour).map(\.budget), [2])
        XCTAssertEqual(joinsSent(effects, to: neighbour).map(\.joiner), [joiner])

        let spent = TreeJoin(topic: stripe0, joiner: joiner, budget: 0, spare: 0, children: 0)
        let (none, _) = run(&app, as: me, leafSet: [neighbour]) { $0.receive(.tree(.join(spent)), from: joiner, kbr: &$1) }
        XCTAssertTrue(joinsSent(none, to: neighbour).isEmpty, "a spent budget ends the walk")
        XCTAssertEqual(app.usedSlots, 0)
    }
}
