import CanopyCore
import CanopyNet
import NIOCore
import NIOPosix
import XCTest

/// Sends `count` data messages of about 1,000 bytes to its bootstrap when told to join.
private struct Flooder: ProtocolCore {
    let identity: NodeRef
    let count: Int

    mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard case .command(.join(let target?)) = event else { return }
        for sequence in 0..<count {
            let chunk = Chunk(streamID: .zero, sequence: UInt32(sequence), generatedAt: 0,
                              payload: ByteBuffer(repeating: 0xAB, count: 900), signature: ByteBuffer(repeating: 0, count: 64))
            effects.send(.stream(.chunk(chunk)), to: target)
        }
    }
}

/// Counts the bytes that reach it, with the time of each arrival.
/// `@unchecked Sendable`: updated on the channel's loop, read by the test under the lock.
private final class ByteCounter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let lock = NSLock()
    private var arrivals: [(Instant, Int)] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).data.readableBytes
        lock.withLock { arrivals.append((MonotonicClock.now(), bytes)) }
    }

    func bytes(before deadline: Instant) -> Int {
        lock.withLock { arrivals.filter { $0.0 < deadline }.map(\.1).reduce(0, +) }
    }
}

final class PacedNodeTests: XCTestCase {
    func testUploadPacerLimitsWhatLeavesTheSocket() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counter = ByteCounter()
        let receiver = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let target = PeerAddress(parsing: "127.0.0.1:\(receiver.localAddress!.port!)")!
        // 80 kbit/s = 10 kB/s; 100 datagrams of ~1 kB offered at once.
        let node = try await NodeDriver.start(on: group, configuration: NodeConfiguration(bind: loopback, uploadBytesPerSecond: 10_000)) {
            Flooder(identity: $0, count: 100)
        }
        let start = MonotonicClock.now()
        node.command(.join(bootstrap: target))
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let counters = try await node.counters()
        let firstSecond = counter.bytes(before: start + .seconds(1.0))
        await node.close()
        try await receiver.close()
        try await group.shutdownGracefully()
        // Burst (2,400 B) + one second at the rate, with generous slack; far below the 100 kB offered.
        XCTAssertLessThanOrEqual(firstSecond, 2_400 + 15_000)
        XCTAssertGreaterThanOrEqual(firstSecond, 5_000)
        XCTAssertGreaterThan(counters.pacerDropped, 50, "the queue is bounded, the excess is dropped and counted")
        XCTAssertLessThanOrEqual(counters.datagramsOut + counters.pacerDropped, 100)
    }
}
