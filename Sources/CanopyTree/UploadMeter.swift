import CanopyCore

/// A model of this node's own upload queue: every byte the tree layer sends (chunks and
/// control alike, and routed tree messages it relays) drains at the node's upload rate.
///
/// SplitStream's degree bound alone counts only data; a node whose link is also busy
/// with joins, anycasts and heartbeats builds a queue that delays every child. With this
/// model a node stops taking children (and leaves the spare-capacity group) while its
/// queue is long, and sheds a leaf child when it stays long — the same decision a real
/// node's pacer would make from its send queue, made here without any clock but `now`.
struct UploadMeter: Sendable {
    /// Bytes per second the link drains; 0 for a node without upload (never forwards data).
    let bytesPerSecond: Double
    private var queued = 0.0
    private var stamp = Instant.zero

    init(uploadKbps: Double) {
        bytesPerSecond = max(0, uploadKbps) * 1000 / 8
    }

    /// Adds one message's bytes on the wire (fragment headers included).
    mutating func record(_ message: Message, now: Instant) {
        record(bytes: Fragmenter.wireCost(envelopeSize: WireHeader.size + message.bodySize).bytes, now: now)
    }

    mutating func record(bytes: Int, now: Instant) {
        drain(to: now)
        queued += Double(bytes)
    }

    /// How long a message sent now would wait behind what is queued.
    func backlog(at now: Instant) -> TimeSpan {
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
