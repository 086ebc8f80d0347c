import ArgumentParser
import CanopyAudio
import CanopyCore
import CanopyNet
import Foundation
import NIOPosix

/// `canopy listen`: joins a stream through any node and plays it into a file or a pipe.
struct ListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Join a stream by the address of its source (or any listener) and play it out.")

    @Option(name: .long, help: "A node of the stream to join through, HOST:PORT (e.g. 127.0.0.1:7070).")
    var bootstrap: String

    @Option(name: .long, help: "UDP port to listen on (0 = any free port).")
    var port = 0

    @Option(name: .long, help: "Local IPv4 address to bind (0.0.0.0 for all interfaces).")
    var bind = "127.0.0.1"

    @Option(name: .long, help: "Where the audio goes: FILE.wav, FILE.opus/.ogg (received packets, not re-encoded), or - for raw s16le 48 kHz stereo on stdout.")
    var output: String?

    @Option(name: .customLong("playout-delay"), help: "Play each chunk this many milliseconds after the source generated it (a DONet mesh wants about 1500).")
    var playoutDelay = 500

    @Option(name: .customLong("upload-kbps"), help: "Upload limit in kbit/s (default: unlimited).")
    var uploadKbps: Int?

    @Option(name: .long, help: "Stop after this many seconds (default: until Ctrl-C).")
    var seconds: Double?

    func run() async throws {
        try await CLI.run("listen") {
            let source = try CLI.bootstrap(bootstrap)
            let address = try CLI.bindAddress(host: bind, port: port)
            guard (20...60_000).contains(playoutDelay) else {
                throw CLIError("bad --playout-delay \(playoutDelay) — use 20 to 60000 ms")
            }
            if let uploadKbps, uploadKbps <= 0 { throw CLIError("bad --upload-kbps \(uploadKbps) — give a positive rate") }
            if let seconds, !(seconds > 0) { throw CLIError("bad --seconds \(seconds) — give a positive duration") }
            if let output, output != "-",
               !AudioSinkFactory.supportedExtensions.contains((output as NSString).pathExtension.lowercased()) {
                throw AudioError.unsupportedOutputFormat(path: output)
            }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let session = try await ListenerSession.start(
                bootstrap: source, bind: address, on: group, playoutDelay: .milliseconds(Int64(playoutDelay)),
                uploadBytesPerSecond: NodeConfiguration.bytesPerSecond(kbps: uploadKbps)) { info in
                    try output.map { try AudioSinkFactory.make(path: $0, preSkip: Int(info.preSkip)) }
                }
            CLI.note("canopy listen: stream \(session.info.streamID.short()) (\(session.info.mode) mode) via \(source) on \(session.node.localAddress) → \(output.map { $0 == "-" ? "stdout" : $0 } ?? "no output")")
            let status = StatusLine()
            let ticker = status.run(every: 0.5) {
                guard let report = try? await session.report() else { return nil }
                return Self.line(report)
            }
            _ = await StopSignal.wait(seconds: seconds)
            ticker?.cancel()
            status.clear()
            let report = try await session.stop()
            try await group.shutdownGracefully()
            CLI.note("canopy listen: " + Self.line(report) + " · rejected \(report.node.rejected.sorted { $0.key < $1.key })")
            if let problem = report.sinkError { throw CLIError(problem) }
        }
    }

    static func line(_ r: ListenerReport) -> String {
        String(format: "chunks %d · continuity %.4f · delay p50 %@ p99 %@ · FEC %d · concealed %d",
               r.chunksReceived, r.playout.continuity, ms(r.delayP50), ms(r.delayP99),
               r.playout.fecRecovered, r.playout.concealed)
    }

    static func ms(_ span: TimeSpan?) -> String {
        span.map { String(format: "%.1f ms", $0.milliseconds) } ?? "–"
    }
}
