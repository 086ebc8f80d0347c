import CanopyCore

/// The listener's record of `t_recv − t_gen` per chunk, for the delay percentiles.
///
/// Stored raw (local receive time minus the source's generation time), so the clock
/// offset can be applied once at report time with the best estimate then known.
/// A ring of fixed size keeps memory bounded on a long-running listener.
public struct DelaySamples: Sendable {
    public let capacity: Int
    private var values: [Int64] = []
    private var next = 0

    public init(capacity: Int = 65_536) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { values.count }

    /// Records one chunk: received at `receivedAt` (local µs), generated at `generatedAt` (source µs).
    public mutating func add(receivedAt: Int64, generatedAt: Int64) {
        let raw = receivedAt &- generatedAt
        if values.count < capacity {
            values.append(raw)
        } else {
            values[next] = raw
            next = (next + 1) % capacity
        }
    }

    /// The delay quantiles (0…1) corrected by `offset` (remote − local); nil without samples.
    public func quantiles(_ qs: [Double], offset: TimeSpan) -> [TimeSpan]? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return qs.map { q in
            let index = min(sorted.count - 1, max(0, Int((q * Double(sorted.count - 1)).rounded())))
            return TimeSpan(micros: sorted[index] &+ offset.micros)
        }
    }
}
