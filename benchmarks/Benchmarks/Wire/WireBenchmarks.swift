import Benchmark
import CanopyCore
import NIOCore

/// Encoding and decoding one chunk message: paid by every node for every chunk it forwards.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, .throughput]
    let chunk = Chunk(streamID: NodeID(high: 1, low: 2), sequence: 42, generatedAt: 1_000_000,
                      payload: ByteBuffer(repeating: 0x5A, count: 162),
                      signature: ByteBuffer(repeating: 0xAB, count: 64))
    let envelope = Envelope(sender: NodeID(high: 3, low: 4), message: .stream(.chunk(chunk)))
    let encoded = envelope.encoded()

    Benchmark("encode chunk message (20 ms, 64 kbit/s)", configuration: .init(metrics: metrics, scalingFactor: .kilo)) { benchmark in
        var buffer = ByteBuffer()
        buffer.reserveCapacity(envelope.encodedSize)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            envelope.encode(into: &buffer)
            blackHole(buffer.readableBytes)
        }
    }

    Benchmark("decode chunk message (20 ms, 64 kbit/s)", configuration: .init(metrics: metrics, scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? Envelope.decode(encoded))
        }
    }
}
