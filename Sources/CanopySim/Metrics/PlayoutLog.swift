/// What each node played and when: the raw material of the stream metrics
/// (DESIGN.md "Metrics"), kept compact because 10,000 nodes × 3,000 chunks must fit.
///
/// A node's delays are stored per sequence number from the first chunk it played (the
/// moment it "starts playing"), in whole milliseconds rounded down: for a playout delay of
/// a whole number of milliseconds D, `floor(delay) < D` exactly when `delay < D`.
struct PlayoutLog {
    /// Not received.
    static let missing = UInt16.max
    /// Delays of 65.534 s and more are stored as this (they miss every playout deadline).
    static let saturated = UInt16.max - 1

    let chunkCount: Int
    /// Per node: first sequence played (`UInt32.max`: none yet) and when.
    private(set) var firstSequence: [UInt32] = []
    private(set) var firstPlayedAt: [Int64] = []
    /// Per node, delays in ms indexed by `sequence - firstSequence`.
    private(set) var delays: [[UInt16]] = []

    /// Over every (node, chunk) pair played: exact sums, and a 1-ms histogram for percentiles.
    private(set) var delaySumMicros: Double = 0
    private(set) var delayCount = 0
    private(set) var delayMaxMicros: Int64 = 0
    private(set) var histogram = [UInt64](repeating: 0, count: Int(UInt16.max))
    private(set) var rdpSum: Double = 0
    private(set) var rdpCount = 0
    /// A core delivered the same chunk twice (a core bug; deliveries must be unique).
    private(set) var redelivered = 0

    init(chunkCount: Int) { self.chunkCount = chunkCount }

    mutating func addNode() {
        firstSequence.append(.max)
        firstPlayedAt.append(0)
        delays.append([])
    }

    /// Node `node` played chunk `sequence`, `delay` µs after it was generated;
    /// `direct` is the one-way delay from the source (for RDP).
    mutating func record(node: Int, sequence: UInt32, delay: Int64, direct: Int64, now: Int64) {
        guard Int(sequence) < chunkCount else { return }
        if firstSequence[node] == .max {
            firstSequence[node] = sequence
            firstPlayedAt[node] = now
            delays[node] = [UInt16](repeating: PlayoutLog.missing, count: chunkCount - Int(sequence))
        }
        let ms = UInt16(clamping: min(Int64(PlayoutLog.saturated), max(0, delay) / 1000))
        let first = firstSequence[node]
        if sequence >= first {
            let index = Int(sequence - first)
            if delays[node][index] != PlayoutLog.missing { redelivered += 1; return }
            delays[node][index] = ms
        }
        delaySumMicros += Double(delay)
        delayCount += 1
        delayMaxMicros = max(delayMaxMicros, delay)
        histogram[Int(ms)] += 1
        if direct > 0 {
            rdpSum += Double(delay) / Double(direct)
            rdpCount += 1
        }
    }

    /// The delay (ms) below which `fraction` of all played pairs fall.
    func delayPercentile(_ fraction: Double) -> Double? {
        guard delayCount > 0 else { return nil }
        let rank = UInt64((fraction * Double(delayCount)).rounded(.up))
        var seen: UInt64 = 0
        for (ms, count) in histogram.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return Double(ms) }
        }
        return Double(histogram.count - 1)
    }

    /// The delay distribution as (ms, cumulative fraction) points, spaced evenly on a log
    /// scale (about 12 a decade) up to the largest delay: the data of the CDF plot.
    func delayCDF() -> [(ms: Double, fraction: Double)] {
        guard delayCount > 0 else { return [] }
        var points: [(Double, Double)] = []
        var seen: UInt64 = 0
        var next = 1.0
        for (ms, count) in histogram.enumerated() where count > 0 || Double(ms) >= next {
            seen += count
            if Double(ms) >= next || seen == UInt64(delayCount) {
                points.append((Double(ms), Double(seen) / Double(delayCount)))
                while next <= Double(ms) { next *= 1.2 }
            }
            if seen == UInt64(delayCount) { break }
        }
        return points
    }
}
