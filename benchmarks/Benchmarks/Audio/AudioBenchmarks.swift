import Benchmark
import CanopyAudio

/// Opus at 64 kbit/s, 20 ms frames: what one second of audio costs the source (encode)
/// and each listener (decode). One iteration = one second = 50 frames.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal]
    var signal = TestSignal(kind: .music, seconds: 1)
    var frames: [[Int16]] = []
    while let frame = try? signal.nextFrame() { frames.append(frame) }
    let encoder = try! OpusEncoder(bitrate: 64_000)
    let packets = frames.map { try! encoder.encode($0) }

    Benchmark("Opus encode, 1 s of music", configuration: .init(metrics: metrics, maxDuration: .seconds(5))) { benchmark in
        let encoder = try! OpusEncoder(bitrate: 64_000)
        var packet: [UInt8] = []
        for _ in benchmark.scaledIterations {
            for frame in frames { try? encoder.encode(frame, into: &packet) }
            blackHole(packet.count)
        }
    }

    Benchmark("Opus decode, 1 s of music", configuration: .init(metrics: metrics, maxDuration: .seconds(5))) { benchmark in
        let decoder = try! OpusDecoder()
        var pcm: [Int16] = []
        for _ in benchmark.scaledIterations {
            for packet in packets { try? decoder.decode(packet, into: &pcm) }
            blackHole(pcm.count)
        }
    }
}
