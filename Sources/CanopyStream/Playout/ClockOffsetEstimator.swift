import CanopyCore

/// Estimates how far the source's clock is ahead of ours, NTP-style, so a listener can
/// map the source's generation times into its own clock instead of assuming they agree.
///
/// Each probe gives `offset = t2 − (t1 + t3) / 2` with error at most half its round trip;
/// the sample with the smallest round trip in the recent window is the most trustworthy
/// (queueing only ever adds delay), so that one wins. Replies are accepted only for probe
/// times this estimator issued, so a forged reply cannot move the clock.
public struct ClockOffsetEstimator: Sendable {
    private struct Sample: Sendable {
        var roundTrip: Int64
        var offset: Int64
    }

    /// Samples kept; older ones age out so a drifting clock is followed.
    public let window: Int
    /// Replies slower than this are ignored (a stale or bogus answer).
    public let maxRoundTrip: TimeSpan
    private var samples: [Sample] = []
    private var outstanding: [Int64] = []
    private static let maxOutstanding = 16

    public init(window: Int = 16, maxRoundTrip: TimeSpan = .seconds(2)) {
        precondition(window > 0)
        self.window = window
        self.maxRoundTrip = maxRoundTrip
    }

    /// Remembers a probe sent at `sentAt` (our clock, µs) so its reply will be believed.
    public mutating func probeSent(at sentAt: Int64) {
        if outstanding.count == Self.maxOutstanding { outstanding.removeFirst() }
        outstanding.append(sentAt)
    }

    /// Adds the reply to a probe; false if it answers no probe of ours or is implausible.
    @discardableResult
    public mutating func add(probeSentAt t1: Int64, answeredAt t2: Int64, receivedAt t3: Int64) -> Bool {
        guard let index = outstanding.firstIndex(of: t1) else { return false }
        outstanding.remove(at: index)
        let roundTrip = t3 - t1
        guard roundTrip >= 0, roundTrip <= maxRoundTrip.micros else { return false }
        // (t1 + t3) / 2 without overflow for any pair of clock readings.
        let midpoint = t1 + roundTrip / 2
        let (offset, overflow) = t2.subtractingReportingOverflow(midpoint)
        guard !overflow else { return false }
        if samples.count == window { samples.removeFirst() }
        samples.append(Sample(roundTrip: roundTrip, offset: offset))
        return true
    }

    /// Remote clock minus local clock, from the best sample; nil before the first reply.
    public var offset: TimeSpan? {
        samples.min { $0.roundTrip < $1.roundTrip }.map { TimeSpan(micros: $0.offset) }
    }

    /// Round trip of the sample the offset comes from (its error bound is half of this).
    public var bestRoundTrip: TimeSpan? {
        samples.map(\.roundTrip).min().map { TimeSpan(micros: $0) }
    }

    /// A time on the remote clock expressed on ours; nil before the first reply.
    public func localTime(ofRemote micros: Int64) -> Instant? {
        offset.map { Instant(micros: micros - $0.micros) }
    }
}
