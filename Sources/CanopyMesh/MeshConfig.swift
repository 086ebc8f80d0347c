import CanopyCore

/// How a mesh node decides what to request from whom (announced in `StreamInfo.modeParameter`).
public enum MeshScheduler: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// CoolStreaming/DONet: periodic buffer maps; rarest chunk first, from the fastest
    /// supplier that can still make the deadline.
    case donet = 0
    /// Chainsaw: a HAVE notice per new chunk; random missing chunk from a random holder,
    /// with a cap on outstanding requests per partner.
    case chainsaw = 1

    public var description: String {
        switch self {
        case .donet: "donet"
        case .chainsaw: "chainsaw"
        }
    }
}

/// Every tunable of a mesh node. Defaults suit a 64 kbit/s stream in 200 ms chunks; the
/// simulator's `"mesh"` block and the command line override them.
public struct MeshConfig: Sendable, Equatable {
    public var scheduler: MeshScheduler = .donet
    /// Partners a node tries to keep (DONet's M).
    public var partners = 6
    /// DONet: how often a node tells its partners its buffer map (at most; a map also rides
    /// on every data message and leaves on a new chunk once a partner is due one). Short by
    /// default because each hop of each chunk waits for it: at 1 s, 30 loopback listeners
    /// needed over 1 s of playout delay.
    public var bufferMapPeriod: TimeSpan = .seconds(0.25)
    /// Chainsaw: new chunks gathered into one HAVE notice (1 = one notice per chunk).
    public var haveBatch = 1
    /// The sliding window of chunks a node holds, advertises and requests in.
    public var window: TimeSpan = .seconds(8)
    /// A chunk should arrive within this long of its (estimated) generation: the DONet
    /// scheduler's deadline when it picks a supplier. Until then it asks the supplier with
    /// the most spare upload that can still make it; after, the one that would send it
    /// soonest, counting what we already asked it for. Shorter than the mesh's median
    /// delay, so most pulls take the second rule. 3 s → 1.5 s took continuity at 5 s on
    /// scenarios/mesh-donet-10k.json from 0.9820 to 0.9828 with 12 partners and 750 ms
    /// maps, and from 0.9886 to 0.9901 with 13 partners and 800 ms maps; at 1,000 nodes
    /// (mesh-donet-1k.json, seeds 7 and 8) from 0.99866 and 0.99380 to 0.99897 and 0.99477.
    public var deadline: TimeSpan = .seconds(1.5)
    /// DONet: new buffer-map information is gathered this long before scheduling, so one
    /// request names several chunks. Short: it is paid on every hop (20 ms instead of
    /// 100 ms took continuity@5s at 1,000 nodes from 0.30 to 0.41 at the same overhead).
    public var scheduleDelay: TimeSpan = .seconds(0.02)
    /// Chainsaw: outstanding requests allowed per partner.
    public var requestCap = 4
    /// DONet: outstanding requests allowed per partner (a bound, not a tuning knob).
    public var maxOutstanding = 24
    /// Shortest time a request is given before it is re-sent elsewhere. Short, because the
    /// stragglers that miss the playout deadline are chunks stuck at a slow supplier: on
    /// scenarios/mesh-{donet,chainsaw}-1k.json, 1.5 s → 1 s took continuity at 5 s from
    /// 0.989 to 0.994 (DONet) and 0.986 to 0.993 (Chainsaw), duplicates 0.2–0.3%.
    public var requestTimeout: TimeSpan = .seconds(1)
    /// The source pushes each new chunk to this many partners (fewer when its link would
    /// still be busy with them when the next chunk comes). More pushes barely shorten
    /// delays (measured at 1,000 nodes: 3 → 8 moved continuity@5s by 0.02) but cost
    /// duplicates: the last push leaves so late that its receiver has already asked a
    /// partner for the chunk.
    public var sourcePush = 3
    /// A supplier refuses a request that would wait longer than this behind the queued work
    /// that goes before it (see `MeshNode.serve`). Long, because the queue is served by
    /// priority: fresh chunks for partners that forward jump ahead, and whatever is pushed
    /// back past the asker's patience is refused then (`MeshNode.staleServe`), so a
    /// request is refused early only when even its own class cannot be served in time.
    public var maxQueue: TimeSpan = .seconds(4)
    /// Lets a supplier send an overdue chunk ahead of its queue every other send (see
    /// `MeshNode.overdueServe`). Off by default: a chunk is overdue at twice `deadline`,
    /// which suits listeners that play seconds behind, as in the simulator's scenarios (5 s).
    /// On loopback, where listeners play 0.5–1.5 s behind, the chunks it promotes can no
    /// longer be played: in two full `tools/test` runs the survivors of a killed DONet
    /// supplier in `InteriorCrashTests` kept only 0.87–0.90 of their chunks.
    public var overdueRescue = false
    /// How often the slowest supplier partner is dropped for a fresh one (0 turns it off).
    public var refinePeriod: TimeSpan = .seconds(30)
    /// Substream push, the hybrid of the deployed Coolstreaming: the earliest partner (by
    /// measured lag) is asked to push us a substream's chunks (sequence mod
    /// `MeshMessage.substreams`) as it gets them, so a settled path costs one transmission a
    /// hop instead of a notice, a request and a transmission; pulling stays the fallback.
    /// Measured on scenarios/mesh-{donet,chainsaw}-1k.json (1.5x upload): continuity at
    /// 5 s from 0.961 to 0.989 (DONet) and 0.963 to 0.986 (Chainsaw), duplicates unchanged
    /// at 0.2%. Off: the pure pull.
    public var substreamPush = true
    /// How long a chunk, once heard of, is left to its substream's pusher (longer for a
    /// pusher measured to lag); past it the pusher is cancelled and the chunk pulled one
    /// grace later, once a push already on its way has landed.
    public var pushGrace: TimeSpan = .seconds(0.5)
    /// The longest a pusher measured to lag may stretch its grace.
    public var longestPushGrace: TimeSpan = .seconds(2)
    /// Members remembered in the partial view.
    public var viewSize = 32
    public var gossipPeriod: TimeSpan = .seconds(10)
    /// Members named in one gossip message.
    public var gossipSize = 8
    /// A view entry not refreshed for this long is forgotten.
    public var viewLifetime: TimeSpan = .seconds(60)
    /// A partner hears from us at least this often.
    public var keepalive: TimeSpan = .seconds(2)
    /// A partner not heard from for this long is replaced.
    public var silenceTimeout: TimeSpan = .seconds(6)
    /// The shortest silence that ends a partnership: a partner is dropped after four of its
    /// usual gaps between messages, but never sooner than this (nor later than
    /// `silenceTimeout`). Short, a crashed partner that talked several times a second is
    /// replaced soon; but a live one whose messages wait in its own upload queue falls as
    /// quiet, and is dropped too. The simulator's mesh scenarios (10–20 partners, 0.5–1.1 s
    /// maps) set 1.5 s: on scenarios/mesh-{donet,chainsaw}-massfail.json (seeds 7–12) the
    /// survivors without a gap at 5 s went, mean of the six, from 0.286 to 0.433 (DONet) and
    /// from 0.407 to 0.484 (Chainsaw) against 3 s, with their 1k, churn and 10k scenarios
    /// equal or better. With these defaults (6 partners, 250 ms maps, 2.4x upload) it is a
    /// loss: on `canopy bench push-vs-pull --nodes 1000` (seed 7) 1.5 s took DONet's median
    /// delay from 1.22 s to 1.78 s and its continuity at 2 s from 0.89 to 0.61 (Chainsaw
    /// 1.12 s to 1.61 s, 0.94 to 0.71), and on `--churn mass` it cost DONet 0.2–0.3 points
    /// at 5 s (seeds 7–9).
    public var shortestAbsence: TimeSpan = .seconds(3)
    /// A supplier that talks several times a second is suspect (asked for nothing) after
    /// four of its usual gaps of silence, but never sooner than this.
    public var shortestSuspicion: TimeSpan = .seconds(1)
    /// Requests at a supplier that turned suspect go back to the pool at once instead of
    /// waiting out their timeout. Off by default: in the simulator's mass failures (5 s of
    /// playout delay, where the timeout costs nothing) it only added duplicates, and survivors
    /// without a gap fell from 0.22/0.21 to 0.17/0.17 (DONet, seeds 7/8) and, mixed, from
    /// 0.38/0.07 to 0.19/0.16 (Chainsaw).
    public var reissueAtSuspicion = false
    /// A newcomer starts playing this many chunks behind the newest one it hears of.
    public var startLag = 2

    public init() {}

    /// These defaults suit listeners that play seconds behind, as in the simulator's
    /// scenarios (5 s). One that plays `delay` behind loses every chunk whose request waits
    /// out a 1 s timeout at a dead supplier, so each timer that decides when a chunk is
    /// asked for elsewhere is held to a fraction of the delay. The timeout itself is not:
    /// with it cut to a quarter too, 7 of 38 such runs collapsed (survivors at 0.36–0.87; in
    /// two of them the source published seconds late).
    /// Measured on loopback, 6 listener processes and a source with 256 kbit/s, `kill -9`
    /// of the busiest forwarder 8 s into 16 s of stream; survivors' continuity, worst and
    /// median over 5–7 runs: Chainsaw (500 ms) 0.903 / 0.955 → 0.958 / 0.987, DONet
    /// (1.5 s) 0.881 / 0.995 → 0.956 / 0.986.
    public func fitted(toPlayoutDelay delay: TimeSpan) -> MeshConfig {
        var fitted = self
        let patience = delay / 4
        fitted.pushGrace = min(pushGrace, patience)
        fitted.longestPushGrace = min(longestPushGrace, delay / 2)
        fitted.shortestSuspicion = min(shortestSuspicion, patience)
        fitted.deadline = min(deadline, delay / 2)
        fitted.reissueAtSuspicion = fitted.shortestSuspicion < requestTimeout
        return fitted
    }

    /// Partners accepted at most (room for newcomers beyond `partners`).
    public var maxPartners: Int { partners + max(2, partners / 2) }

    /// A supplier not heard from for this long is not asked for chunks.
    public var suspectAfter: TimeSpan { keepalive + keepalive / 2 }
}
