import ArgumentParser
import CanopyCore
import CanopyMesh
import CanopyNet

/// How a source spreads and encodes its stream: shared by `source` and `demo`, so both
/// take the same flags and check them the same way.
struct StreamOptions: ParsableArguments {
    @Option(name: .long, help: "How the stream spreads: direct, tree or mesh.")
    var mode = "direct"

    @Option(name: .long, help: "Mesh mode's scheduler: donet (buffer maps) or chainsaw (HAVE per chunk).")
    var scheduler = "donet"

    @Option(name: .long, help: "Opus bitrate in kbit/s (6–256).")
    var bitrate = 64

    /// The checked values, or a one-line error saying what to use instead.
    func resolved() throws -> (mode: StreamMode, scheduler: MeshScheduler, bitrate: Int) {
        let streamMode = try CLI.mode(mode)
        guard StreamModes.available.contains(streamMode) else { throw ModeUnavailable(mode: streamMode) }
        guard (6...256).contains(bitrate) else { throw CLIError("bad --bitrate \(bitrate) — use 6 to 256 kbit/s") }
        return (streamMode, try CLI.scheduler(scheduler), bitrate)
    }
}
