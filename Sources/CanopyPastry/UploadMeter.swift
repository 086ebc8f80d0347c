import CanopyCore

/// A model of this node's own upload queue: every byte the node sends (the overlay's and
/// the application's, data and control alike) drains at the node's upload rate.
///
/// On a thin link (a phone's 32 kbit/s) a message waits behind everything sent before it,
/// so an answer can take seconds for reasons that are all on this side. With this model
/// Pastry starts its timeouts when a message will really leave (a swamped node does not
/// declare its healthy neighbours dead, which would set off repairs that swamp it more),
/// and SplitStream stops taking children while the queue is long — the decisions a real
/// node's pacer would make from its send queue, made here without any clock but `now`.
public struct UploadMeter: Sendable {
    /// Bytes per second the link drains; 0 for a node without upload (never forwards data).
    public let bytesPerSecond: Double
    private var queued = 0.0
    private var stamp = Instant.zero

    public init(uploadKbps: Double) {
        bytesPerSecond = max(0, uploadKbps) * 1000 / 8
    }

    /// Adds one message's bytes on the wire (fragment headers included).
    public mutating func record(_ message: Message, now: Instant) {
        record(bytes: Fragmenter.wireCost(envelopeSize: message.envelopeSize).bytes, now: now)
    }

    public mutating func record(bytes: Int, now: Instant) {
        drain(to: now)
        queued += Double(bytes)
    }

    /// How long a message sent now would wait behind what is queued.
    public func backlog(at now: Instant) -> TimeSpan {
        guard bytesPerSecond > 0 else { return .zero }
        let left = queued - Double((now - stamp).micros) / 1e6 * bytesPerSecond
        return TimeSpan(micros: Int64(max(0, left) / bytesPerSecond * 1e6))
    }

    private mutating func drain(to now: Instant) {
        guard now > stamp else { return }
        if bytesPerSecond > 0 {
            queued = max(0, queued - Double((now - stamp).micros) / 1e6 * bytesPerSecond)
        }
        stamp = now
    }
}
