import CanopyCore

/// The node's own model of its upload link: what it has queued and how fast it drains.
///
/// The driver (simulator queue or UDP pacer) really serialises the bytes; the core keeps
/// this twin so it can refuse work that would wait too long instead of queueing without
/// bound, and so it can advertise how much capacity it has left.
struct UploadBudget: Sendable {
    let capacityKbps: Double
    /// When everything handed to the driver so far will have left.
    private(set) var busyUntil: Instant = .zero
    private var bitsSinceSample: Double = 0
    /// Recent upload rate, kbit/s (moving average).
    private(set) var rateKbps: Double = 0

    init(capacityKbps: Double) {
        self.capacityKbps = max(0, capacityKbps)
    }

    var canUpload: Bool { capacityKbps > 0 }

    /// Bytes put on the wire for one message, fragments included.
    static func wireBytes(_ message: Message) -> Int {
        Fragmenter.wireCost(envelopeSize: WireHeader.size + message.bodySize).bytes
    }

    mutating func charge(bytes: Int, now: Instant) {
        let bits = Double(bytes * 8)
        bitsSinceSample += bits
        guard canUpload else { return }
        busyUntil = max(busyUntil, now) + .seconds(bits / (capacityKbps * 1000))
    }

    /// How long the link needs to send what it was already given.
    func backlog(now: Instant) -> TimeSpan { max(busyUntil, now) - now }

    /// True when `bytes` more would leave within `maxQueue`.
    func canServe(bytes: Int, now: Instant, maxQueue: TimeSpan) -> Bool {
        guard canUpload else { return false }
        let finish = max(busyUntil, now) + .seconds(Double(bytes * 8) / (capacityKbps * 1000))
        return finish - now <= maxQueue
    }

    /// Folds the bits sent over `elapsed` into the moving average.
    mutating func sample(elapsed: TimeSpan) {
        guard elapsed > .zero else { return }
        let kbps = bitsSinceSample / 1000 / elapsed.seconds
        rateKbps = 0.6 * rateKbps + 0.4 * kbps
        bitsSinceSample = 0
    }

    /// Capacity left, as advertised: the smaller of what recent use leaves and what the
    /// queue leaves. 0 only for a node that uploads nothing, so partners never ask it; at
    /// least 1 otherwise, so a busy supplier still counts as one.
    func spareKbps(now: Instant, maxQueue: TimeSpan) -> UInt16 {
        guard canUpload else { return 0 }
        let queued = max(busyUntil, now) - now
        let queueRoom = capacityKbps * max(0, 1 - queued.seconds / max(maxQueue.seconds, 0.001))
        return UInt16(min(65_535, max(1, min(capacityKbps - rateKbps, queueRoom))))
    }
}
