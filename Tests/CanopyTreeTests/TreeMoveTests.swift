import XCTest
@testable import CanopyTree
import CanopyCore

/// Moves, one node at a time (docs/PROTOCOL.md §6.9): a node that forwards in two stripes
/// asks a child of the other one to move once the forest has settled; the child joins again
/// and switches to the node that accepts it once that node's data flows.
final class TreeMoveTests: SplitStreamNodeTestCase {
    /// Shares stripe 0's first digit: stripe 0 is its own.
    private let forwarder = peer(0x0300_0000_0000_0000, 1)
    private let ownChild = peer(0x0400_0000_0000_0000, 2)
    private let foreignChild = peer(0x5000_0000_0000_0000, 3)
    private let adopter = peer(0x1200_0000_0000_0000, 4)

    private var config: TreeConfig {
        var c = TreeConfig()
        c.consolidateInterval = .seconds(1)
        c.consolidateAfter = .milliseconds(Int64(500))
        return c
    }

    /// `forwarder` has `ownChild` in stripe 0 (joined it) and `foreignChild` in stripe 1
    /// (adopted by anycast), and has received its first chunk.
    private func forwarderInTwoStripes(config: TreeConfig? = nil) -> SplitStream {
        var app = attached(as: forwarder, config: config ?? self.config)
        let topics = app.topics!
        let join = TreeJoin(topic: stripe0, joiner: ownChild, budget: 0, spare: 0, children: 0)
        upcall(&app, as: forwarder) { $0.receive(.tree(.join(join)), from: ownChild, kbr: &$1) }
        let walk = TreeAnycast(group: topics.spareGroup, target: topics.stripes[1], requester: foreignChild)
        upcall(&app, as: forwarder) { $0.receive(.tree(.anycast(walk)), from: source, kbr: &$1) }
        upcall(&app, as: forwarder) { $0.receive(chunk(0), from: source, kbr: &$1) }
        XCTAssertEqual(app.interiorStripes, 2)
        return app
    }

    private func moves(_ effects: [Effect], to: NodeRef) -> [NodeID] {
        effects.compactMap { if case .send(.tree(.move(let topic)), to.address) = $0 { topic } else { nil } }
    }

    func testAForwarderInTwoStripesMovesAChildOfTheOtherOnceSettled() {
        var app = forwarderInTwoStripes()
        let early = upcall(&app, as: forwarder, at: start + .milliseconds(Int64(100))) { $0.tick(&$1) }
        XCTAssertEqual(moves(early, to: foreignChild), [], "not while the forest forms")
        let later = upcall(&app, as: forwarder, at: start + .milliseconds(Int64(600))) { $0.tick(&$1) }
        XCTAssertEqual(moves(later, to: foreignChild), [app.topics!.stripes[1]])
        XCTAssertEqual(moves(later, to: ownChild), [], "its own stripe is kept")
        let again = upcall(&app, as: forwarder, at: start + .milliseconds(Int64(700))) { $0.tick(&$1) }
        XCTAssertEqual(moves(again, to: foreignChild), [], "at most one move per interval")
    }

    func testNoMovesWhenTurnedOff() {
        var off = config
        off.consolidateInterval = .zero
        var app = forwarderInTwoStripes(config: off)
        let effects = upcall(&app, as: forwarder, at: start + .milliseconds(Int64(600))) { $0.tick(&$1) }
        XCTAssertEqual(moves(effects, to: foreignChild), [])
    }

    /// `foreignChild`, fed both stripes by `forwarder` (chunks 0–3), asked to move in stripe 1
    /// and accepted there by `adopter` a second later.
    private func movingChild() -> (app: SplitStream, routed: [Message]) {
        var app = attached(as: foreignChild, under: forwarder)
        let stripe1 = app.topics!.stripes[1]
        for sequence: UInt32 in 0..<4 { upcall(&app, as: foreignChild) { $0.receive(chunk(sequence), from: forwarder, kbr: &$1) } }
        let asked = run(&app, as: foreignChild) { $0.receive(.tree(.move(topic: stripe1)), from: forwarder, kbr: &$1) }
        let accepted = upcall(&app, as: foreignChild, at: start + .seconds(1)) {
            $0.receive(.tree(.accept(topic: stripe1, path: [source.id, adopter.id])), from: adopter, kbr: &$1)
        }
        XCTAssertTrue(treeMessagesTo(accepted, forwarder).isEmpty && treeMessagesTo(accepted, adopter).isEmpty)
        return (app, asked.routed)
    }

    func testAMovedChildSwitchesWhenItsNewParentsDataFlows() {
        var (app, routed) = movingChild()
        let stripe1 = app.topics!.stripes[1]
        let joins = routed.compactMap { if case .tree(.join(let j)) = $0 { j } else { nil } }
        XCTAssertEqual(joins.map(\.topic), [stripe1], "an ordinary routed join")
        let walks = routed.compactMap { if case .tree(.anycast(let walk)) = $0 { walk } else { nil } }
        XCTAssertEqual(walks.map(\.target), [stripe1], "and a walk of the spare-capacity group")
        XCTAssertEqual(walks.map(\.move), [true])
        XCTAssertEqual(app.trees[1].parent, forwarder, "the old parent feeds it until the new one does")
        let fed = upcall(&app, as: foreignChild, at: start + .milliseconds(Int64(1200))) {
            $0.receive(chunk(5), from: adopter, kbr: &$1)
        }
        XCTAssertEqual(app.trees[1].parent, adopter)
        XCTAssertTrue(treeMessagesTo(fed, forwarder).contains(.leave(topic: stripe1)), "leaves the old parent")
        XCTAssertEqual(fills(fed, to: adopter).map(\.topic), [stripe1], "asks the new parent for what it missed")
        XCTAssertEqual(app.trees[0].parent, forwarder, "other stripes stay")
    }

    func testAMoveWhoseNewParentSendsNothingIsDropped() {
        var (app, _) = movingChild()
        let stripe1 = app.topics!.stripes[1]
        upcall(&app, as: foreignChild, at: start + .milliseconds(Int64(1500))) {
            $0.receive(.tree(.heartbeat(topics: [stripe1])), from: adopter, kbr: &$1)
        }
        let expired = upcall(&app, as: foreignChild, at: start + .milliseconds(Int64(3100))) {
            $0.receive(.tree(.heartbeat(topics: [stripe1, stripe0])), from: forwarder, kbr: &$1)
            $0.tick(&$1)
        }
        XCTAssertEqual(app.trees[1].parent, forwarder)
        XCTAssertTrue(treeMessagesTo(expired, adopter).contains(.leave(topic: stripe1)), "the idle adopter is left")
        XCTAssertFalse(treeMessagesTo(expired, forwarder).contains(.leave(topic: stripe1)))
    }

    func testAnUnaskedAcceptDoesNotReplaceAParent() {
        var app = attached(as: foreignChild, under: forwarder)
        let stripe1 = app.topics!.stripes[1]
        let late = upcall(&app, as: foreignChild) {
            $0.receive(.tree(.accept(topic: stripe1, path: [source.id, adopter.id])), from: adopter, kbr: &$1)
        }
        XCTAssertEqual(app.trees[1].parent, forwarder)
        XCTAssertTrue(treeMessagesTo(late, adopter).contains(.leave(topic: stripe1)), "the offer is declined")
        // Nor long after a move, nor on a move from someone else.
        upcall(&app, as: foreignChild) { $0.receive(.tree(.move(topic: stripe1)), from: forwarder, kbr: &$1) }
        upcall(&app, as: foreignChild, at: start + .seconds(4)) {
            $0.receive(.tree(.accept(topic: stripe1, path: [source.id, adopter.id])), from: adopter, kbr: &$1)
        }
        XCTAssertEqual(app.trees[1].parent, forwarder, "the move's window had passed")
        let stranger = run(&app, as: foreignChild, at: start + .seconds(5)) {
            $0.receive(.tree(.move(topic: stripe1)), from: adopter, kbr: &$1)
        }
        XCTAssertTrue(stranger.routed.isEmpty, "only the parent in that stripe can ask for a move")
    }

    func testAMoveEndsWhenAnotherParentIsAttached() {
        var (app, _) = movingChild()
        let stripe1 = app.topics!.stripes[1]
        let other = peer(0x1300_0000_0000_0000, 5)
        upcall(&app, as: foreignChild, at: start + .milliseconds(Int64(1100))) {
            $0.receive(.tree(.reject(topic: stripe1, handedDown: false)), from: forwarder, kbr: &$1)
        }
        XCTAssertNil(app.trees[1].parent, "the old parent dropped it mid-move")
        let attached = upcall(&app, as: foreignChild, at: start + .milliseconds(Int64(1200))) {
            $0.receive(.tree(.accept(topic: stripe1, path: [source.id, other.id])), from: other, kbr: &$1)
        }
        XCTAssertEqual(app.trees[1].parent, other)
        XCTAssertTrue(treeMessagesTo(attached, adopter).contains(.leave(topic: stripe1)), "the pending next parent is left")
    }

    /// A move's walk (PROTOCOL.md §6.7) is taken only by a member that would not forward in
    /// one more stripe; one that runs out is not answered. Other walks are taken as before.
    func testAMovesWalkIsTakenOnlyWhereItAddsNoStripe() {
        var app = attached(as: forwarder, config: config)
        let topics = app.topics!
        let join = TreeJoin(topic: stripe0, joiner: ownChild, budget: 0, spare: 0, children: 0)
        upcall(&app, as: forwarder) { $0.receive(.tree(.join(join)), from: ownChild, kbr: &$1) }
        XCTAssertEqual(app.interiorStripes, 1, "forwards in stripe 0 only")
        let mover = peer(0x7000_0000_0000_0000, 6)
        let next = peer(0x7100_0000_0000_0000, 7)
        let onward = TreeAnycast(group: topics.spareGroup, target: topics.stripes[1], requester: mover, move: true, stack: [next])
        let passed = upcall(&app, as: forwarder) { $0.receive(.tree(.anycast(onward)), from: source, kbr: &$1) }
        XCTAssertFalse(app.trees[1].hasChild(mover.id), "taking it would add stripe 1")
        XCTAssertTrue(treeMessagesTo(passed, next).contains { if case .anycast = $0 { true } else { false } }, "passed on")
        let last = TreeAnycast(group: topics.spareGroup, target: topics.stripes[1], requester: mover, move: true)
        let ended = upcall(&app, as: forwarder) { $0.receive(.tree(.anycast(last)), from: source, kbr: &$1) }
        XCTAssertEqual(treeMessagesTo(ended, mover), [], "the mover keeps its parent: no anycast_failed")
        let own = TreeAnycast(group: topics.spareGroup, target: stripe0, requester: mover, move: true, stack: [next])
        // 25,000 queued bytes are 0.4 s of this node's 500 kbit/s: past the fill backlog.
        let busy = upcall(&app, as: forwarder, queuedBytes: 25_000) { $0.receive(.tree(.anycast(own)), from: source, kbr: &$1) }
        XCTAssertFalse(app.trees[0].hasChild(mover.id), "a move waits for a short queue, like a fill")
        XCTAssertEqual(treeMessagesTo(busy, next), [], "and a busy node does not relay a move's walk")
        upcall(&app, as: forwarder) { $0.receive(.tree(.anycast(own)), from: source, kbr: &$1) }
        XCTAssertTrue(app.trees[0].hasChild(mover.id), "it forwards in stripe 0 already")
        let orphan = TreeAnycast(group: topics.spareGroup, target: topics.stripes[1], requester: foreignChild)
        upcall(&app, as: forwarder) { $0.receive(.tree(.anycast(orphan)), from: source, kbr: &$1) }
        XCTAssertTrue(app.trees[1].hasChild(foreignChild.id), "an orphan's walk is taken wherever there is room")

        var leaf = attached(as: adopter, config: config)
        upcall(&leaf, as: adopter) { $0.receive(.tree(.anycast(last)), from: source, kbr: &$1) }
        XCTAssertTrue(leaf.trees[1].hasChild(mover.id), "a node that forwards in no stripe takes it")
    }

    private func treeMessagesTo(_ effects: [Effect], _ to: NodeRef) -> [TreeMessage] {
        effects.compactMap { if case .send(.tree(let m), to.address) = $0 { m } else { nil } }
    }
}
