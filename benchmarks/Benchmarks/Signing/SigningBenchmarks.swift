import Benchmark
import CanopyCore
import CanopyStream
import NIOCore

/// Ed25519 per chunk: the source signs each chunk once, every peer verifies each chunk
/// it plays or forwards. This decides per-chunk versus per-group signatures.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, .throughput]
    let key = SourceKey()
    var chunk = Chunk(streamID: key.streamID, sequence: 1, generatedAt: 20_000,
                      payload: ByteBuffer(repeating: 0x5A, count: 162), signature: ByteBuffer())
    try? key.sign(&chunk)
    let signed = chunk
    let info = StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: .direct,
                          modeParameter: 0, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 312,
                          source: NodeRef(id: key.streamID, address: PeerAddress(host: 1, port: 1)))
    let authenticator = ChunkAuthenticator(info: info)!

    Benchmark("sign chunk (Ed25519)", configuration: .init(metrics: metrics)) { benchmark in
        var c = signed
        for _ in benchmark.scaledIterations {
            try? key.sign(&c)
            blackHole(c.signature.readableBytes)
        }
    }

    Benchmark("verify chunk (Ed25519)", configuration: .init(metrics: metrics)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(authenticator.verify(signed))
        }
    }
}
