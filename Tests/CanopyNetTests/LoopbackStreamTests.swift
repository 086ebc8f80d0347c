import CanopyAudio
import CanopyCore
import CanopyNet
import CanopyStream
import NIOCore
import NIOPosix
import XCTest

/// Real UDP on 127.0.0.1: a source and listeners in this process, a few seconds each.
final class LoopbackStreamTests: XCTestCase {
    func testThreeListenersHearTheSourceOnTimeAndFaithfully() async throws {
        let seconds = 3.0
        let stream = try await LoopbackStream.start(listeners: 3, seconds: seconds)
        let reports = try await stream.finish()
        var reference = TestSignal(kind: .music, seconds: seconds)
        var original: [Int16] = []
        while let frame = try reference.nextFrame() { original += frame }
        for (report, sink) in zip(reports, stream.sinks) {
            XCTAssertGreaterThanOrEqual(report.playout.continuity, 0.99, "\(report)")
            XCTAssertGreaterThanOrEqual(report.chunksReceived, Int(seconds * 50 * 0.95))
            XCTAssertNotNil(report.delayP99)
            XCTAssertTrue(sink.finished)
            // A listener starts with the first chunk it got, so allow a few frames of lag on top of pre-skip.
            let match = Correlation.best(reference: original, signal: sink.pcm, maxLag: 9_600)
            XCTAssertGreaterThanOrEqual(match.coefficient, 0.99, "\(match)")
        }
    }

    func testListenersInOneProcessSpreadOverTheGroupsLoops() async throws {
        let stream = try await LoopbackStream.start(listeners: 4, seconds: 1)
        let loops = stream.listeners.map { ObjectIdentifier($0.node.eventLoop) }
        XCTAssertEqual(Set(loops).count, 2, "4 listeners on a 2-loop group, as in canopy demo")
        _ = try await stream.finish()
    }

    func testHostileBurstIsCountedAndDoesNotDisturbPlayback() async throws {
        let stream = try await LoopbackStream.start(listeners: 1, seconds: 3)
        let listener = stream.listeners[0]
        let attacker = try await RawSocket.open(on: stream.group)
        try await Task.sleep(nanoseconds: 500_000_000)
        // A genuine chunk datagram to mutate, signed by the real key.
        var chunk = Chunk(streamID: stream.key.streamID, sequence: 7, generatedAt: 1, payload: ChunkPayload.pack([[1, 2, 3]]),
                          signature: ByteBuffer())
        try stream.key.sign(&chunk)
        let genuine = Array(Envelope(sender: .zero, message: .stream(.chunk(chunk))).encoded().readableBytesView)
        var rng = SeededRNG(seed: 42)
        let perTarget = 2_000
        for target in [listener.node.localAddress, stream.source.node.localAddress] {
            for i in 0..<perTarget {
                var bytes: [UInt8]
                if i % 2 == 0 {
                    bytes = (0..<Int(rng.next() % 1_500)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                } else {
                    bytes = genuine
                    // Corrupt the body (never only the sender id, which would leave a valid chunk).
                    let body = 20..<bytes.count
                    bytes[Int.random(in: body, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                    if i % 4 == 1 { bytes.removeLast(Int(rng.next() % UInt64(bytes.count - 20))) }
                }
                attacker.send(bytes, to: target)
                if i % 25 == 24 {   // ~2,500 datagrams/s: a flood, but one the kernel queue can hold
                    attacker.flush()
                    try await Task.sleep(nanoseconds: 10_000_000)
                }
            }
            attacker.flush()
        }
        await attacker.close()
        let sourceCounters = try await stream.source.node.counters()
        let reports = try await stream.finish()
        let counters = reports[0].node
        print("hostile burst of \(perTarget) per node: listener rejected \(counters.rejected), source rejected \(sourceCounters.rejected)")
        // Loopback may drop a few under the burst; nearly all must be seen and refused.
        XCTAssertGreaterThanOrEqual(counters.rejectedTotal, perTarget * 9 / 10, "\(counters)")
        XCTAssertGreaterThan(counters.rejected["bad_signature", default: 0], 0, "\(counters.rejected)")
        // The source has no use for chunks and ignores well-formed ones unverified; the
        // undecodable three quarters of the burst are counted.
        XCTAssertGreaterThanOrEqual(sourceCounters.rejectedTotal, perTarget * 7 / 10, "\(sourceCounters.rejected)")
        XCTAssertGreaterThanOrEqual(reports[0].playout.continuity, 0.99)
        XCTAssertEqual(reports[0].decodeErrors, 0)
    }

    func testForgedChunkIsRejectedAndCounted() async throws {
        let stream = try await LoopbackStream.start(listeners: 1, seconds: 1.5)
        let listener = stream.listeners[0]
        try await Task.sleep(nanoseconds: 300_000_000)
        // Claims to be the stream's next chunks, signed by somebody else's key.
        let forger = SourceKey()
        let attacker = try await RawSocket.open(on: stream.group)
        for sequence in UInt32(1_000)..<1_003 {
            var chunk = Chunk(streamID: stream.key.streamID, sequence: sequence, generatedAt: 0,
                              payload: ChunkPayload.pack([[0xFC, 0xFF, 0xFE]]), signature: ByteBuffer())
            try forger.sign(&chunk)
            attacker.send(Array(Envelope(sender: .zero, message: .stream(.chunk(chunk))).encoded().readableBytesView),
                          to: listener.node.localAddress)
        }
        attacker.flush()
        try await Task.sleep(nanoseconds: 200_000_000)
        await attacker.close()
        let reports = try await stream.finish()
        XCTAssertEqual(reports[0].node.rejected["bad_signature"], 3)
        XCTAssertEqual(reports[0].node.delivered, reports[0].chunksReceived)
        XCTAssertLessThan(reports[0].chunksReceived, 1_000, "no forged chunk was delivered")
        XCTAssertGreaterThanOrEqual(reports[0].playout.continuity, 0.99)
    }

    func testUnreachableBootstrapFailsWithinTheTimeout() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let silent = try await RawSocket.open(on: group)   // bound but never answers
        let address = PeerAddress(parsing: "127.0.0.1:\(silent.channel.localAddress!.port!)")!
        do {
            _ = try await InfoQuery.fetch(from: address, bindHost: loopback.host, on: group, timeout: .milliseconds(Int64(500)))
            XCTFail("expected BootstrapUnreachable")
        } catch let error as BootstrapUnreachable {
            XCTAssertEqual(error.address, address)
        }
        await silent.close()
        try await group.shutdownGracefully()
    }
}
