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
    var spareKbps: UInt16
    /// Chunks it holds, as far as we know (buffer maps, HAVEs, and what it sent us).
    var holdings: BufferMap
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
    }

    var address: PeerAddress { ref.address }

    /// True while it is worth asking for chunks: heard from lately, and not silent since a
    /// request to it timed out.
    func responsive(now: Instant, config: MeshConfig) -> Bool {
        !unanswered && heardLately(now: now, config: config)
    }

    /// False once it missed its keep-alives: most likely gone, so data for it (pushed or
    /// queued before it went) would only waste our upload until the silence timeout drops it.
    func heardLately(now: Instant, config: MeshConfig) -> Bool {
        now - lastHeard <= config.suspectAfter
    }

    /// Takes a fresh status, keeping what we learned since that the map cannot know.
    mutating func update(_ status: MeshStatus, now: Instant) {
        spareKbps = status.spareKbps
        holdings = status.map
        lastHeard = now
    }
}
