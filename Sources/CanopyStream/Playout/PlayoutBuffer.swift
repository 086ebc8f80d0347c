import CanopyCore

/// A listener's jitter buffer: holds received Opus frames until their deadline and says,
/// frame by frame, how to play each one — as received, rebuilt from the next frame's FEC,
/// or concealed — and keeps the continuity count that goes with it.
///
/// Frame `f` is due at `anchor + (f − f₀) × frame length`, where the anchor is the first
/// received chunk's generation time (already mapped to the local clock) plus the playout
/// delay, moved only when the source's own schedule jumps. Pure value: the caller passes `now`, so it is tested without clocks.
///
/// Frames beyond the newest one received are not played (and not counted) until
/// something newer arrives: the end of a stream is not a loss, while a gap followed by
/// newer frames is concealed and counted. Memory is bounded by `capacity` frames.
public struct PlayoutBuffer: Sendable {
    /// How to produce the next frame.
    public enum Step: Equatable, Sendable {
        /// The frame arrived in time.
        case play(frame: Int64, packet: [UInt8])
        /// The frame is missing but the next one is here: decode its in-band FEC.
        case fec(frame: Int64, nextPacket: [UInt8])
        /// Neither is here: packet-loss concealment.
        case conceal(frame: Int64)
    }

    /// What `insert` did with each frame of a chunk.
    public struct InsertOutcome: Equatable, Sendable {
        public var accepted = 0
        public var late = 0
        public var duplicate = 0
        public var tooFarAhead = 0
    }

    /// Running totals, for the listener's report.
    public struct Counters: Equatable, Sendable {
        /// Frames whose deadline has passed since playing started.
        public var due = 0
        /// Of those, frames that had arrived by their deadline.
        public var onTime = 0
        public var fecRecovered = 0
        public var concealed = 0
        /// Frames that arrived after their deadline (too late to play).
        public var late = 0
        public var duplicates = 0
        /// Frames refused because they lie more than `capacity` frames ahead.
        public var tooFarAhead = 0

        /// Played on time / due; 1 when nothing is due yet.
        public var continuity: Double { due == 0 ? 1 : Double(onTime) / Double(due) }
    }

    public let delay: TimeSpan
    public let frameDuration: TimeSpan
    /// Largest number of frames held ahead of the play position.
    public let capacity: Int
    public private(set) var counters = Counters()
    private var anchor: (frame: Int64, deadline: Instant)?
    private var nextFrame: Int64 = 0
    private var newestFrame: Int64 = -1
    private var packets: [Int64: [UInt8]] = [:]

    public init(delay: TimeSpan, frameDuration: TimeSpan = .milliseconds(Int64(20)), capacity: Int = 3_000) {
        precondition(frameDuration.micros > 0 && capacity > 1)
        self.delay = delay
        self.frameDuration = frameDuration
        self.capacity = capacity
    }

    /// A chunk generated this much later than the schedule says its frame should be means
    /// the source restarted its clock (`generatedAt` is the source's stamp, so network
    /// jitter never moves it; only a changing clock-offset estimate does, by milliseconds).
    static let scheduleJump = TimeSpan.milliseconds(Int64(100))

    /// True once the first chunk has fixed the schedule.
    public var isAnchored: Bool { anchor != nil }

    /// When frame `frame` is due on the local clock; nil before the first chunk.
    public func deadline(ofFrame frame: Int64) -> Instant? {
        anchor.map { $0.deadline + frameDuration * (frame - $0.frame) }
    }

    /// When the next step will be due; nil when nothing newer than the play position has
    /// arrived (nothing to wait for).
    public var nextDeadline: Instant? {
        guard nextFrame <= newestFrame else { return nil }
        return deadline(ofFrame: nextFrame)
    }

    /// Adds consecutive frames starting at `firstFrame`, generated at `generatedAt`
    /// (local clock). The first call anchors the schedule.
    @discardableResult
    public mutating func insert(firstFrame: Int64, generatedAt: Instant, packets frames: [[UInt8]],
                                now: Instant) -> InsertOutcome {
        if anchor == nil {
            anchor = (firstFrame, generatedAt + delay)
            nextFrame = firstFrame
            newestFrame = firstFrame - 1
        } else if let expected = deadline(ofFrame: firstFrame), generatedAt + delay - expected > Self.scheduleJump {
            // The source's schedule jumped ahead (its input stalled and it re-anchored):
            // follow it, or every frame from here on would be late for good.
            anchor = (firstFrame, generatedAt + delay)
        }
        var outcome = InsertOutcome()
        for (i, packet) in frames.enumerated() {
            let frame = firstFrame + Int64(i)
            if frame < nextFrame || deadline(ofFrame: frame)! < now {
                // Known to exist, so the frames before it are due; too late to play itself.
                if frame >= nextFrame { newestFrame = max(newestFrame, frame) }
                outcome.late += 1
            } else if frame >= nextFrame + Int64(capacity) {
                outcome.tooFarAhead += 1
            } else if packets[frame] != nil {
                outcome.duplicate += 1
            } else {
                packets[frame] = packet
                newestFrame = max(newestFrame, frame)
                outcome.accepted += 1
            }
        }
        counters.late += outcome.late
        counters.duplicates += outcome.duplicate
        counters.tooFarAhead += outcome.tooFarAhead
        return outcome
    }

    /// The next frame to play if its deadline has passed by `now`; call until nil.
    public mutating func popDue(now: Instant) -> Step? {
        guard let due = nextDeadline, due <= now else { return nil }
        let frame = nextFrame
        nextFrame += 1
        counters.due += 1
        if let packet = packets.removeValue(forKey: frame) {
            counters.onTime += 1
            return .play(frame: frame, packet: packet)
        }
        if let next = packets[frame + 1] {
            counters.fecRecovered += 1
            return .fec(frame: frame, nextPacket: next)
        }
        counters.concealed += 1
        return .conceal(frame: frame)
    }
}
