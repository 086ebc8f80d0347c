import Benchmark
import CanopyCore
import CanopyStream
import NIOCore

/// What a forwarding peer pays per chunk, without the socket: decode the datagram, verify
/// the source's signature, and encode it once for each of 16 children (SplitStream's
/// default stripe count). DESIGN.md's budget: a 64 kbit/s stream with 16 children must
/// use well under 1% of a core, i.e. this × 50 chunks/s ≪ 10 ms.
let benchmarks: @Sendable () -> Void = {
    let key = SourceKey()
    var chunk = Chunk(streamID: key.streamID, sequence: 9, generatedAt: 180_000,
                      payload: ByteBuffer(repeating: 0x5A, count: 160), signature: ByteBuffer())
    try! key.sign(&chunk)
    let datagram = Envelope(sender: key.streamID, message: .stream(.chunk(chunk))).encoded()
    let info = StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: .tree,
                          modeParameter: 16, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 312,
                          source: NodeRef(id: key.streamID, address: PeerAddress(host: 1, port: 1)))
    let authenticator = ChunkAuthenticator(info: info)!
    let me = NodeID(high: 7, low: 7)

    Benchmark("receive + verify + encode for 16 children",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal])) { benchmark in
        var out = ByteBuffer()
        out.reserveCapacity(2048)
        for _ in benchmark.scaledIterations {
            guard let envelope = try? Envelope.decode(datagram),
                  case .stream(.chunk(let received)) = envelope.message,
                  authenticator.verify(received) else { fatalError("benchmark datagram must verify") }
            let forward = Envelope(sender: me, message: .stream(.chunk(received)))
            for _ in 0..<16 {
                out.clear()
                forward.encode(into: &out)
            }
            blackHole(out.readableBytes)
        }
    }
}
