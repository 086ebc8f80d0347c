import CanopyMesh
import ArgumentParser
import CanopyAudio
import CanopyCore
import CanopyNet
import CanopyStream
import Foundation
import NIOPosix

/// `canopy source`: broadcasts a file, stdin or a tone as signed Opus chunks.
struct SourceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "source",
        abstract: "Broadcast audio: a file (WAV/FLAC/AIFF), raw PCM on stdin, or a tone.")

    @Option(name: .long, help: "Audio file to broadcast, or - for raw s16le 48 kHz stereo on stdin.")
    var input: String?

    @Option(name: .long, help: "Broadcast a sine tone at this frequency (Hz) instead of --input.")
    var tone: Double?

    @Option(name: .long, help: "UDP port to listen on.")
    var port = 7070

    @Option(name: .long, help: "Local IPv4 address to bind (0.0.0.0 for all interfaces).")
    var bind = "127.0.0.1"

    @OptionGroup var stream: StreamOptions


    @Option(name: .customLong("upload-kbps"), help: "Upload limit in kbit/s (default: unlimited).")
    var uploadKbps: Int?

    @Option(name: .long, help: "Signing key file; created (mode 0600) on first run and reused.")
    var key = "source.key"

    @Option(name: .long, help: "Stop after this many seconds (default: until the input ends, or Ctrl-C).")
    var seconds: Double?

    func run() async throws {
        try await CLI.run("source") {
            let (mode, scheduler, bitrate) = try stream.resolved()
            let address = try CLI.bindAddress(host: bind, port: port)
            if let uploadKbps, uploadKbps <= 0 { throw CLIError("bad --upload-kbps \(uploadKbps) — give a positive rate") }
            if let seconds, !(seconds > 0) { throw CLIError("bad --seconds \(seconds) — give a positive duration") }
            let audio: any AudioSource
            switch (input, tone) {
            case (let path?, nil): audio = try AudioSourceFactory.make(input: path)
            case (nil, let hz?):
                guard hz > 0, hz < 24_000 else { throw CLIError("bad --tone \(hz) — give a frequency between 0 and 24000 Hz") }
                audio = AudioSourceFactory.make(toneHz: hz)
            default: throw CLIError("give exactly one of --input PATH, --input - or --tone HZ")
            }
            let signingKey = try SourceKey.loadOrCreate(at: key)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let session = try await SourceSession.start(
                bind: address, on: group, key: signingKey, mode: mode, scheduler: scheduler, audio: audio, bitrateKbps: bitrate,
                uploadBytesPerSecond: NodeConfiguration.bytesPerSecond(kbps: uploadKbps), seconds: seconds)
            let local = session.node.localAddress
            CLI.note("canopy source: stream \(session.info.streamID.short()) (\(mode) mode, \(bitrate) kbit/s) on \(local) — listen with: canopy listen --bootstrap \(local.host == 0 ? "HOST" : local.hostString):\(local.port)")
            let status = StatusLine()
            let started = Date()
            let ticker = status.run(every: 0.5) {
                guard let counters = try? await session.node.counters() else { return nil }
                let listeners = (try? await session.node.inspectCore { ($0 as? DirectSource)?.listenerCount }) ?? nil
                return String(format: "%.0f s · listeners %@ · sent %d datagrams (%.0f kB) · rejected %d",
                              Date().timeIntervalSince(started), listeners.map(String.init) ?? "?",
                              counters.datagramsOut, Double(counters.bytesOut) / 1000, counters.rejectedTotal)
            }
            let reason = await StopSignal.wait(seconds: seconds.map { $0 + 0.5 }) { _ = try? await session.waitUntilDone() }
            ticker?.cancel()
            status.clear()
            if reason == .done { try await Task.sleep(nanoseconds: 200_000_000) }   // let the last chunks leave
            let result = await Result(catching: { try await session.stop() })
            let counters = try await session.node.counters()
            try await group.shutdownGracefully()
            let frames = try result.get()
            CLI.note("canopy source: published \(frames) chunks (\(String(format: "%.1f", Double(frames) * 0.02)) s), sent \(counters.datagramsOut) datagrams, pacer drops \(counters.pacerDropped), rejected \(counters.rejectedTotal) \(counters.rejected.sorted { $0.key < $1.key })")
        }
    }
}
