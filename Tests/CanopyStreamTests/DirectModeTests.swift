import XCTest
import NIOCore
import CanopyCore
import CanopyStream

/// Direct mode's cores driven by hand: events in, effects out.
final class DirectModeTests: XCTestCase {
    let key = SourceKey()
    var rng = SeededRNG(seed: 1)
    lazy var sourceRef = NodeRef(id: key.streamID, address: PeerAddress(host: 10, port: 1))
    lazy var info = StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: .direct,
                               modeParameter: 0, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 312, source: sourceRef)

    private func run<C: ProtocolCore>(_ core: inout C, _ event: Event, at micros: Int64 = 0) -> [Effect] {
        var effects = Effects()
        core.handle(event, now: Instant(micros: micros), rng: &rng, effects: &effects)
        return effects.items
    }

    private func chunk(_ sequence: UInt32) throws -> Chunk {
        var c = Chunk(streamID: key.streamID, sequence: sequence, generatedAt: Int64(sequence) * 20_000,
                      payload: ChunkPayload.pack([[UInt8(sequence)]]), signature: ByteBuffer())
        try key.sign(&c)
        return c
    }

    func testSourceSendsEveryChunkToEveryListenerInJoinOrder() throws {
        var source = DirectSource(identity: sourceRef, info: info)
        _ = run(&source, .command(.join(bootstrap: nil)))
        let listeners = (1...3).map { PeerAddress(host: UInt32(100 + $0), port: 5) }
        for l in listeners {
            let effects = run(&source, .received(.stream(.directJoin), from: l, sender: .zero))
            guard case .send(.stream(.info(let announced)), let to) = effects.first else { return XCTFail("no info") }
            XCTAssertEqual(announced, info)
            XCTAssertEqual(to, l)
        }
        XCTAssertTrue(run(&source, .received(.stream(.directJoin), from: listeners[0], sender: .zero)).isEmpty,
                      "a refresh is not a second join")
        let sends = run(&source, .command(.publish(try chunk(0))))
        XCTAssertEqual(sends.compactMap { if case .send(_, let to) = $0 { to } else { nil } }, listeners)
        _ = run(&source, .received(.stream(.directLeave), from: listeners[1], sender: .zero))
        XCTAssertEqual(run(&source, .command(.publish(try chunk(1)))).count, 2)
    }

    func testSourceForgetsSilentListeners() throws {
        var source = DirectSource(identity: sourceRef, info: info)
        _ = run(&source, .command(.join(bootstrap: nil)))
        _ = run(&source, .received(.stream(.directJoin), from: PeerAddress(host: 1, port: 1), sender: .zero))
        _ = run(&source, .received(.stream(.directJoin), from: PeerAddress(host: 2, port: 2), sender: .zero), at: 10_000_000)
        _ = run(&source, .timer(TimerKey(kind: 0xD1)), at: 16_000_000)
        XCTAssertEqual(source.listenerCount, 1)
    }

    func testListenerVerifiesDeliversOnceAndRejectsForgeries() throws {
        var listener = DirectListener(identity: NodeRef(id: NodeID(high: 5, low: 5), address: PeerAddress(host: 2, port: 2)))
        let join = run(&listener, .command(.join(bootstrap: sourceRef.address)))
        guard case .send(.stream(.directJoin), let to) = join.first else { return XCTFail() }
        XCTAssertEqual(to, sourceRef.address)
        XCTAssertTrue(run(&listener, .received(.stream(.chunk(try chunk(0))), from: sourceRef.address, sender: sourceRef.id)).isEmpty,
                      "nothing is delivered before the stream is known")
        _ = run(&listener, .received(.stream(.info(info)), from: sourceRef.address, sender: sourceRef.id))
        let first = run(&listener, .received(.stream(.chunk(try chunk(1))), from: sourceRef.address, sender: sourceRef.id))
        guard case .deliver(let delivered) = first.first else { return XCTFail("not delivered") }
        XCTAssertEqual(delivered.sequence, 1)
        let again = run(&listener, .received(.stream(.chunk(try chunk(1))), from: sourceRef.address, sender: sourceRef.id))
        XCTAssertTrue(again.first.map { if case .observe(let o) = $0 { o is DuplicateChunk } else { false } } ?? false)
        var forged = try chunk(2)
        forged.payload = ByteBuffer(bytes: [0, 1, 66])
        let rejected = run(&listener, .received(.stream(.chunk(forged)), from: sourceRef.address, sender: sourceRef.id))
        guard case .observe(let o) = rejected.first, let r = o as? ChunkRejected else { return XCTFail("not rejected") }
        XCTAssertEqual(r.reason, .badSignature)
        XCTAssertEqual(rejected.count, 1, "a forged chunk is never delivered")
    }

    func testListenerIgnoresAnnouncementsOfAnotherStream() throws {
        var listener = DirectListener(identity: NodeRef(id: .zero, address: PeerAddress(host: 2, port: 2)),
                                      expectedStream: NodeID(high: 9, low: 9))
        _ = run(&listener, .command(.join(bootstrap: sourceRef.address)))
        _ = run(&listener, .received(.stream(.info(info)), from: sourceRef.address, sender: sourceRef.id))
        XCTAssertNil(listener.info)
    }
}

extension DirectModeTests {
    func testSpoofedJoinsCannotGrowTheListenerTableWithoutBound() {
        var source = DirectSource(identity: sourceRef, info: info)
        source.maxListeners = 50
        for i in 0..<500 {
            _ = run(&source, .received(.stream(.directJoin), from: PeerAddress(host: UInt32(i), port: 1), sender: .zero))
        }
        XCTAssertEqual(source.listenerCount, 50)
    }
}
