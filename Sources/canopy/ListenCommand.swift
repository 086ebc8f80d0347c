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

    @Option(name: .customLong("playout-delay"), help: "Play each chunk this many milliseconds after the source generated it (default: 1500 for a DONet mesh, else 500, chosen from the stream once joined).")
    var playoutDelay: Int?

    @Option(name: .customLong("upload-kbps"), help: "Upload limit in kbit/s (default: unlimited).")
    var uploadKbps: Int?

    @Option(name: .long, help: "Stop after this many seconds (default: until Ctrl-C).")
    var seconds: Double?

    @Option(name: .long, help: "Write this listener's figures as JSON here (chunks forwarded, continuity, longest gap...): every second while playing, and on exit.")
    var report: String?

    func run() async throws {
        try await CLI.run("listen") {
            let source = try CLI.bootstrap(bootstrap)
            let address = try CLI.bindAddress(host: bind, port: port)
            if let playoutDelay, !(20...60_000).contains(playoutDelay) {
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
                bootstrap: source, bind: address, on: group, playoutDelay: playoutDelay.map { .milliseconds($0) },
                uploadBytesPerSecond: NodeConfiguration.bytesPerSecond(kbps: uploadKbps)) { info in
                    try output.map { try AudioSinkFactory.make(path: $0, preSkip: Int(info.preSkip)) }
                }
            CLI.note("canopy listen: stream \(session.info.streamID.short()) (\(session.info.mode) mode) via \(source) on \(session.node.localAddress), playout delay \(Int(session.playout.delay.milliseconds)) ms → \(output.map { $0 == "-" ? "stdout" : $0 } ?? "no output")")
            if let report { try Self.write(try await session.report(), session, complete: false, to: report) }
            let writer = report.map { path in
                Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: 1_000_000_000)
                        if let figures = try? await session.report() { try? Self.write(figures, session, complete: false, to: path) }
                    }
                }
            }
            let status = StatusLine()
            let ticker = status.run(every: 0.5) {
                guard let report = try? await session.report() else { return nil }
                return Self.line(report)
            }
            _ = await StopSignal.wait(seconds: seconds)
            ticker?.cancel()
            writer?.cancel()
            await writer?.value   // so no running report lands after the closing one
            status.clear()
            let closing = try await session.stop()
            try await group.shutdownGracefully()
            if let report { try Self.write(closing, session, complete: true, to: report) }
            CLI.note("canopy listen: " + Self.line(closing) + " · " + Self.span(closing) + " · rejected \(closing.node.rejected.sorted { $0.key < $1.key })")
            if let problem = closing.sinkError { throw CLIError(problem) }
        }
    }

    static func line(_ r: ListenerReport) -> String {
        String(format: "chunks %d · continuity %.4f · delay p50 %@ p99 %@ · FEC %d · concealed %d",
               r.chunksReceived, r.playout.continuity, ms(r.delayP50), ms(r.delayP99),
               r.playout.fecRecovered, r.playout.concealed)
    }

    /// What only the closing summary says: frames played, the longest break in them, and
    /// how much of the stream this listener passed on.
    static func span(_ r: ListenerReport) -> String {
        let frames = r.gaps.firstFrame.map { "frames \($0)–\(r.gaps.lastFrame ?? $0)" } ?? "no frames"
        return String(format: "%@ · longest gap %.0f ms (playout delay %.0f ms) · forwarded %d chunks",
                      frames, r.longestGap.milliseconds, r.playoutDelay.milliseconds, r.node.chunksSent)
    }

    static func write(_ report: ListenerReport, _ session: ListenerSession, complete: Bool, to path: String) throws {
        do {
            try ListenerStatus(report, info: session.info, address: session.node.localAddress, complete: complete).write(to: path)
        } catch {
            throw CLIError("cannot write --report \(path): \(error.localizedDescription) — choose a writable path")
        }
    }

    static func ms(_ span: TimeSpan?) -> String {
        span.map { String(format: "%.1f ms", $0.milliseconds) } ?? "–"
    }
}
