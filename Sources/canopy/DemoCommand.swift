import CanopyMesh
import ArgumentParser
import CanopyAudio
import CanopyCore
import CanopyNet
import CanopyStream
import Foundation
import NIOPosix

/// `canopy demo`: a source and N listeners in one process over real loopback UDP.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a source and N listeners in this process over loopback UDP and report how each one heard it.")

    @Option(name: .long, help: "Number of listeners (1–200).")
    var listeners = 20

    @OptionGroup var stream: StreamOptions

    @Option(name: .long, help: "Seconds of audio to stream.")
    var seconds = 10.0

    @Option(name: .long, help: "Audio file to stream (default: the built-in test music).")
    var input: String?

    @Option(name: .customLong("out-dir"), help: "Directory for the listeners' WAV files.")
    var outDir = "demo-out"

    @Option(name: .customLong("playout-delay"), help: "Listeners' playout delay in milliseconds (default: 1500 for mesh with donet, else 500).")
    var playoutDelayOption: Int?


    func run() async throws {
        try await CLI.run("demo") {
            let (mode, scheduler, bitrate) = try stream.resolved()
            let playoutDelay = playoutDelayOption
                ?? Int(StreamModes.defaultPlayoutDelay(mode: mode, scheduler: scheduler).milliseconds)
            guard (1...200).contains(listeners) else { throw CLIError("bad --listeners \(listeners) — use 1 to 200") }
            guard seconds > 0, seconds <= 3_600 else { throw CLIError("bad --seconds \(seconds) — use a duration up to 3600") }
            guard (20...10_000).contains(playoutDelay) else { throw CLIError("bad --playout-delay \(playoutDelay) — use 20 to 10000 ms") }
            let audio: any AudioSource = try input.map { try AudioSourceFactory.make(input: $0) } ?? AudioSourceFactory.make(toneHz: nil)
            do {
                try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            } catch {
                throw CLIError("cannot create --out-dir \(outDir): \(error.localizedDescription) — choose a writable directory")
            }
            let wallStart = Date()
            let cpuStart = ProcessCPU.seconds()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let loopback = PeerAddress(parsing: "127.0.0.1:0")!
            let source = try await SourceSession.start(bind: loopback, on: group, key: SourceKey(), mode: mode, scheduler: scheduler, audio: audio,
                                                       bitrateKbps: bitrate, seconds: seconds)
            let delay = TimeSpan.milliseconds(Int64(playoutDelay))
            var sessions: [ListenerSession] = []
            var paths: [String] = []
            for index in 1...listeners {
                let path = (outDir as NSString).appendingPathComponent(String(format: "listener-%02d.wav", index))
                sessions.append(try await ListenerSession.start(bootstrap: source.node.localAddress, bind: loopback, on: group,
                                                                playoutDelay: delay) { _ in try WAVWriter(path: path) })
                paths.append(path)
            }
            CLI.note("canopy demo: \(mode) mode\(mode == .mesh ? " (\(scheduler))" : ""), 1 source + \(listeners) listeners on loopback, \(String(format: "%g", seconds)) s of audio, playout delay \(playoutDelay) ms")
            let all = sessions
            let status = StatusLine()
            let ticker = status.run(every: 0.5) {
                var reports: [ListenerReport] = []
                for session in all { if let r = try? await session.report() { reports.append(r) } }
                return Self.statusText(reports, elapsed: Date().timeIntervalSince(wallStart))
            }
            let reason = await StopSignal.wait(seconds: nil) { _ = try? await source.waitUntilDone() }
            if reason == .done {
                // The last chunks are still in the listeners' buffers: let them play out.
                try await Task.sleep(nanoseconds: UInt64(playoutDelay + 200) * 1_000_000)
            }
            ticker?.cancel()
            status.clear()
            var reports: [ListenerReport] = []
            for session in sessions { reports.append(try await session.stop()) }
            try await source.stop()
            try await group.shutdownGracefully()
            let wall = Date().timeIntervalSince(wallStart)
            let cpu = ProcessCPU.seconds() - cpuStart
            print(Self.table(reports))
            print(String(format: "CPU: %.1f%% of one core for the whole process (%.2f s user+sys over %.2f s wall, %d threads in the event loop group)",
                         100 * cpu / wall, cpu, wall, 2))
            print("audio: \(paths.count) WAV files in \(outDir)/ (\((paths.first as NSString?)?.lastPathComponent ?? "") … \((paths.last as NSString?)?.lastPathComponent ?? ""))")
        }
    }

    static func statusText(_ reports: [ListenerReport], elapsed: Double) -> String {
        guard !reports.isEmpty else { return "starting…" }
        let chunks = reports.map(\.chunksReceived).reduce(0, +)
        let worst = reports.map(\.playout.continuity).min() ?? 1
        let p50s = reports.compactMap { $0.delayP50?.milliseconds }.sorted()
        let delay = p50s.isEmpty ? "–" : String(format: "%.1f ms", p50s[p50s.count / 2])
        return String(format: "%.1f s · listeners %d · chunks %d · worst continuity %.4f · delay p50 %@",
                      elapsed, reports.count, chunks, worst, delay)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func table(_ reports: [ListenerReport]) -> String {
        var lines = ["listener  chunks  continuity  delay p50  delay p99  concealed  FEC  longest gap  rejected"]
        for (i, r) in reports.enumerated() {
            let p50 = pad(ListenCommand.ms(r.delayP50), 9), p99 = pad(ListenCommand.ms(r.delayP99), 9)
            lines.append(String(format: "%8d  %6d  %10.4f  ", i + 1, r.chunksReceived, r.playout.continuity) + p50 + "  " + p99
                         + String(format: "  %9d  %3d  %8.0f ms  %8d", r.playout.concealed, r.playout.fecRecovered,
                                  r.longestGap.milliseconds, r.node.rejectedTotal))
        }
        let worst = reports.map(\.playout.continuity).min() ?? 0
        let mean = reports.map(\.playout.continuity).reduce(0, +) / Double(max(1, reports.count))
        let longestGap = reports.map(\.longestGap.milliseconds).max() ?? 0
        lines.append(String(format: "continuity: min %.4f, mean %.4f over %d listeners; longest gap %.0f ms", worst, mean, reports.count, longestGap))
        return lines.joined(separator: "\n")
    }
}

/// CPU time (user + system) this process has used, from getrusage.
enum ProcessCPU {
    static func seconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }
}
