import CanopyCore

/// What a node knows about one partner: what it holds, how much it can still upload, and
/// how well it has served us.
struct Partner: Sendable {
    var ref: NodeRef
    var since: Instant
    var lastHeard: Instant
    var lastSent: Instant = .zero
    /// Last time our buffer map reached it (alone or riding on a data message).
    var lastStatusSent: Instant = .zero
    /// A request to it timed out and it has sent nothing since that request left: most
    /// likely gone, so it is asked for nothing until it speaks again (the silence timeout
    /// takes seconds, and every request sent meanwhile would be lost for its timeout).
    var unanswered = false
    /// Seconds between its messages (moving average; a keep-alive period until measured).
    var gap: Double = 2
    var spareKbps: UInt16
    /// Chunks it holds, as far as we know (buffer maps, HAVEs, and what it sent us).
    var holdings: BufferMap
    /// When its last buffer map came: `holdings` is its own word from then on, not only our
    /// guess from what we sent it.
    var mapAt: Instant
    /// Substreams it asked us to push to it (bit `j`: sequence mod `MeshMessage.substreams` = `j`).
    var pushMask: UInt16 = 0
    /// Per substream, the first sequence it wants pushed (it has or asked for the rest).
    var pushFrom = [UInt32](repeating: 0, count: MeshMessage.substreams)
    /// Substreams it declined to push to us, and when (not asked again for a while).
    var declined: UInt16 = 0
    var declinedAt: Instant = .zero
    /// How long after our first news of a chunk this partner tends to have it, seconds
    /// (moving average; pessimistic until measured): picks pushers that are early.
    var lag: Double = 1
    /// Its distance from the source in hops, as it advertised it (`MeshStatus.level`).
    var level: Double
    /// Our requests it has not answered yet.
    var outstanding = 0
    /// Payload bytes it sent us since the last tick, and their moving average in bit/s:
    /// the measured throughput the refinement ranks partners by. (The scheduler ranks by
    /// advertised spare capacity instead: it says what the supplier can give next, not what
    /// it gave us before.)
    var receivedBytes = 0
    var throughputBps: Double = 0

    init(ref: NodeRef, status: MeshStatus, now: Instant) {
        self.ref = ref
        since = now
        lastHeard = now
        spareKbps = status.spareKbps
        holdings = status.map
        mapAt = now
        level = Self.hops(status.level)
    }

    var address: PeerAddress { ref.address }

    /// True while it is worth asking for chunks: not silent since a request to it timed
    /// out, nor for several of its usual gaps (and at most for missed keep-alives). A
    /// supplier that streams to us falls silent for a second only if it is gone, and every
    /// request sent to it meanwhile would wait out its timeout.
    func responsive(now: Instant, config: MeshConfig) -> Bool {
        !unanswered && now - lastHeard <= min(config.suspectAfter, max(config.shortestSuspicion, usualSilence))
    }

    /// False once it missed its keep-alives: most likely gone, so data for it (pushed or
    /// queued before it went) would only waste our upload. Not judged by its usual gaps: a
    /// partner that only takes from us may say nothing but keep-alives (on loopback, pushes
    /// withheld from such quiet subscribers cost Chainsaw listeners 12% of their chunks).
    func heardLately(now: Instant, within silence: TimeSpan) -> Bool {
        now - lastHeard <= silence
    }

    /// True once it is replaced: silent for as many of its usual gaps as make it suspect,
    /// but never sooner than `MeshConfig.shortestAbsence`, nor later than `silenceTimeout`. A
    /// partner that talks several times a second and then says nothing for seconds has
    /// crashed, and while it keeps its place this node has one supplier fewer (after half
    /// the nodes crash, a survivor's partner list is half dead); one that only keeps alive
    /// gets the whole timeout, so a lost keep-alive does not end it. Measured against the
    /// fixed 6 s on scenarios/mesh-{donet,chainsaw}-massfail.json: continuity at 5 s
    /// 0.9819 → 0.9890 and 0.9894 → 0.9922; the 1k and churn ones unchanged.
    func gone(now: Instant, config: MeshConfig) -> Bool {
        now - lastHeard > min(config.silenceTimeout, max(config.shortestAbsence, usualSilence))
    }

    /// As many of its usual gaps between messages as make it suspect.
    private var usualSilence: TimeSpan { .seconds(Self.gapsBeforeSuspicion * gap) }

    /// Notes that it spoke: folds the gap since it last did into the moving average.
    mutating func spoke(now: Instant) {
        gap = 0.8 * gap + 0.2 * min((now - lastHeard).seconds, 5)
        lastHeard = now
        unanswered = false
    }

    /// Suspicion waits this many usual gaps, and never less than
    /// `MeshConfig.shortestSuspicion`. Measured on scenarios/mesh-{donet,chainsaw}-massfail.json
    /// against the fixed 3 s: continuity at 5 s 0.971 → 0.975 and 0.967 → 0.971; the 1k and
    /// churn ones unchanged.
    static let gapsBeforeSuspicion = 4.0

    /// An advertised level in hops.
    static func hops(_ level: UInt8) -> Double { Double(level) / 8 }

    /// Takes a fresh status, keeping what we learned since that the map cannot know.
    mutating func update(_ status: MeshStatus, now: Instant) {
        spareKbps = status.spareKbps
        holdings = status.map
        mapAt = now
        level = Self.hops(status.level)
        lastHeard = now
    }
}
