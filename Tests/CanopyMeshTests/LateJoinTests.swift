import XCTest
import CanopyCore
@testable import CanopyMesh

/// Nodes that join just before the stream starts, when every fed node is already full: on
/// real UDP they partnered only with each other and never played a chunk.
final class LateJoinTests: XCTestCase {
    /// A late joiner whose suppliers hold nothing while its only fed partner cannot upload:
    /// it must let a partner go and ask somebody new, not wait forever.
    func testALateJoinerAmongBarrenPartnersLooksForANewOne() {
        var h = Harness.peer(scheduler: .chainsaw, partners: [(2, MeshFixtures.status(spare: 0, held: Array(10...20)))]
                             + (3...7).map { ($0, MeshFixtures.status(spare: 300, held: [])) })
        h.receive(.members([MeshFixtures.ref(8), MeshFixtures.ref(9)]), from: 3)
        XCTAssertEqual(h.node.partnerCount, 6)
        var sent: [(MeshMessage, Int)] = []
        for _ in 0..<8 {
            h.advance(.seconds(0.5))
            for index in 2...7 { h.receive(.status(MeshFixtures.status(spare: index == 2 ? 0 : 300, held: index == 2 ? Array(10...20) : [])), from: index) }
            sent += h.run(.timer(MeshNode.tickTimer)).meshSends
        }
        let left = sent.filter { if case .leave = $0.0 { true } else { false } }.map(\.1)
        XCTAssertEqual(left.count, 1, "one barren partner let go per period: \(sent)")
        XCTAssertTrue(sent.contains { if case .partnerRequest = $0.0 { !h.node.partnerAddresses.map(\.simulatedIndex).contains($0.1) } else { false } },
                      "a fresh member is asked in its place")
    }

    /// A full node that holds chunks takes a newcomer holding none in place of a fed partner;
    /// one that holds nothing yet (before the stream) still refuses.
    func testAFullFedNodeMakesRoomForANewcomerHoldingNothing() {
        var config = MeshConfig()
        config.partners = 2
        var h = Harness.peer(config: config, scheduler: .chainsaw, partners: [])
        for index in 2..<(2 + config.maxPartners) {
            h.receive(.partnerRequest(MeshFixtures.status(spare: 10, held: [])), from: index)
        }
        XCTAssertEqual(h.node.partnerCount, config.maxPartners)
        guard case .partnerRefuse = h.receive(.partnerRequest(MeshFixtures.status(spare: 10, held: [])), from: 50).meshSends.last?.0 else {
            return XCTFail("a node holding nothing has nothing to make room for")
        }
        h.receive(.data(MeshFixtures.chunk(5), status: nil), from: 3)
        for index in 2..<(2 + config.maxPartners) { h.receive(.have(spareKbps: 10, level: 8, sequences: [5]), from: index) }
        let reply = h.receive(.partnerRequest(MeshFixtures.status(spare: 10, held: [])), from: 51).meshSends
        guard case .partnerAccept = reply.last?.0 else { return XCTFail("the newcomer was refused: \(reply)") }
        XCTAssertTrue(reply.contains { if case .leave = $0.0 { $0.1 == 2 } else { false } }, "the longest-standing fed partner goes")
        XCTAssertEqual(h.node.partnerCount, config.maxPartners)
        XCTAssertTrue(h.node.partnerAddresses.map(\.simulatedIndex).contains(51))
    }
}
