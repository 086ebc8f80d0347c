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
        Fragmenter.wireCost(envelopeSize: message.envelopeSize).bytes
    }

    mutating func charge(bytes: Int, now: Instant) {
        let bits = Double(bytes * 8)
        bitsSinceSample += bits
        guard canUpload else { return }
        busyUntil = max(busyUntil, now) + .seconds(bits / (capacityKbps * 1000))
    }

    /// How long the link needs to send what it was already given.
    func backlog(now: Instant) -> TimeSpan { max(busyUntil, now) - now }

    /// True when `bytes` more, after `waiting` bytes not yet handed over, would leave
    /// within `maxQueue`.
    func canServe(bytes: Int, waiting: Int = 0, now: Instant, maxQueue: TimeSpan) -> Bool {
        guard canUpload else { return false }
        return backlog(now: now, waiting: waiting + bytes) <= maxQueue
    }

    /// How long the link needs for what it was given plus `waiting` bytes more.
    func backlog(now: Instant, waiting: Int) -> TimeSpan {
        backlog(now: now) + .seconds(Double(waiting * 8) / (capacityKbps * 1000))
    }

    /// Folds the bits sent over `elapsed` into the moving average.
    mutating func sample(elapsed: TimeSpan) {
        guard elapsed > .zero else { return }
        let kbps = bitsSinceSample / 1000 / elapsed.seconds
        rateKbps = 0.6 * rateKbps + 0.4 * kbps
        bitsSinceSample = 0
    }

    /// Capacity left, as advertised: the share of the link that the queue limit still
    /// leaves free, counting `waiting` bytes accepted but not yet handed over. A requester
    /// sizes its asks by it, so it must fall as soon as work is accepted (a rate average
    /// would lag by seconds and draw every partner to the same idle-looking supplier).
    /// 0 only for a node that uploads nothing, so partners never ask it; at least 1
    /// otherwise, so a busy supplier still counts as one.
    func spareKbps(now: Instant, waiting: Int, maxQueue: TimeSpan) -> UInt16 {
        guard canUpload else { return 0 }
        let queued = backlog(now: now, waiting: waiting)
        let room = capacityKbps * max(0, 1 - queued.seconds / max(maxQueue.seconds, 0.001))
        return UInt16(min(65_535, max(1, room)))
    }
}
