import XCTest
@testable import CanopyTree
import CanopyCore

/// A node without upload says so (a refresh naming no topic) to its leaf set when it starts
/// and to whoever hands it a join, once each; a node told so never hands a join along the
/// stripe to it.
final class NoUploadNoticeTests: SplitStreamNodeTestCase {
    /// All share stripe 0's first digit, so each is a candidate to hand a stripe-0 join to.
    private let me = peer(0x0300_0000_0000_0000, 1)
    private let neighbour = peer(0x0310_0000_0000_0000, 2)
    private let silent = peer(0x0320_0000_0000_0000, 4)
    private let joiner = peer(0x5000_0000_0000_0000, 3)

    private func notices(_ effects: [Effect], to node: NodeRef) -> Int {
        effects.filter {
            if case .send(.tree(.refresh(let r)), node.address) = $0 { r.topics.isEmpty && r.spare == 0 } else { false }
        }.count
    }

    private func joinsSent(_ effects: [Effect], to node: NodeRef) -> Int {
        effects.filter { if case .send(.tree(.join), node.address) = $0 { true } else { false } }.count
    }

    private func started(uploadKbps: Double, leafSet: [NodeRef]) -> (SplitStream, [Effect]) {
        var app = SplitStream(uploadKbps: uploadKbps, info: info, modeledVerification: true)
        let effects = upcall(&app, as: me, leafSet: leafSet) { app, kbr in
            app.command(.join(bootstrap: nil), kbr: &kbr)
            app.overlayReady(kbr: &kbr)
        }
        return (app, effects)
    }

    func testANodeWithoutUploadTellsItsLeafSetWhenItStartsAndNewNeighboursLater() {
        var (app, effects) = started(uploadKbps: 0, leafSet: [neighbour])
        XCTAssertEqual(notices(effects, to: neighbour), 1)
        let later = upcall(&app, as: me, leafSet: [neighbour, silent]) { $0.update(silent, joined: true, kbr: &$1) }
        XCTAssertEqual(notices(later, to: silent), 1)

        let (_, withUpload) = started(uploadKbps: 500, leafSet: [neighbour])
        XCTAssertEqual(notices(withUpload, to: neighbour), 0, "a node with upload can take children: it says nothing")
    }

    func testANodeWithoutUploadTellsWhoeverHandsItAJoinOnce() {
        var (app, _) = started(uploadKbps: 0, leafSet: [])
        let join = TreeJoin(topic: stripe0, joiner: joiner, budget: 3, spare: 0, children: 0)
        let first = upcall(&app, as: me) { $0.receive(.tree(.join(join)), from: neighbour, kbr: &$1) }
        XCTAssertEqual(notices(first, to: neighbour), 1)
        let second = upcall(&app, as: me) { $0.receive(.tree(.join(join)), from: neighbour, kbr: &$1) }
        XCTAssertEqual(notices(second, to: neighbour), 0)
    }

    func testAJoinIsNotHandedAlongToANodeThatHasNoUpload() {
        var (app, _) = started(uploadKbps: 0, leafSet: [silent])
        let join = TreeJoin(topic: stripe0, joiner: joiner, budget: 3, spare: 0, children: 0)
        let before = upcall(&app, as: me, leafSet: [silent]) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        XCTAssertEqual(joinsSent(before, to: silent), 1)

        upcall(&app, as: me, leafSet: [silent]) {
            $0.receive(.tree(.refresh(TreeRefresh(spare: 0, topics: []))), from: silent, kbr: &$1)
        }
        let after = upcall(&app, as: me, leafSet: [silent]) { $0.receive(.tree(.join(join)), from: joiner, kbr: &$1) }
        XCTAssertEqual(joinsSent(after, to: silent), 0, "its only neighbour has no upload: the walk ends here")
        for _ in 0..<8 {
            let handed = upcall(&app, as: me, leafSet: [silent, neighbour]) {
                $0.receive(.tree(.join(join)), from: joiner, kbr: &$1)
            }
            XCTAssertEqual(joinsSent(handed, to: silent), 0)
            XCTAssertEqual(joinsSent(handed, to: neighbour), 1)
        }
    }
}
