import CanopyCore

/// A token bucket in front of a socket: enforces a node's configured upload rate the way
/// a real access link would, so a node that takes on too much work sees its queue grow
/// and — past a bound — its datagrams dropped (and counted), not its memory explode.
///
/// Pure value: the driver passes `now` and sends whatever the pacer releases.
public struct UploadPacer<Item>: Sendable where Item: Sendable {
    public let bytesPerSecond: Int
    /// Bytes that may leave back to back after an idle spell.
    public let burstBytes: Int
    /// Bytes that may wait; beyond this a datagram is dropped.
    public let maxQueuedBytes: Int
    public private(set) var droppedDatagrams = 0
    public private(set) var droppedBytes = 0
    public private(set) var queuedBytes = 0

    private var tokens: Double
    private var refilledAt: Instant?
    private var queue: [(item: Item, bytes: Int)] = []
    private var head = 0

    public init(bytesPerSecond: Int, burstBytes: Int? = nil, maxQueuedBytes: Int? = nil) {
        precondition(bytesPerSecond > 0)
        self.bytesPerSecond = bytesPerSecond
        self.burstBytes = burstBytes ?? max(2 * WireHeader.maxDatagram, bytesPerSecond / 50)
        self.maxQueuedBytes = maxQueuedBytes ?? max(16 * 1024, bytesPerSecond / 2)
        tokens = Double(self.burstBytes)
    }

    public var queuedCount: Int { queue.count - head }

    /// Offers one datagram: returns it if it may go now; otherwise it is queued (see
    /// `popReady`) or, when the queue is full, dropped and counted.
    public mutating func offer(_ item: Item, bytes: Int, now: Instant) -> Item? {
        refill(now: now)
        if queuedCount == 0, tokens >= Double(bytes) {
            tokens -= Double(bytes)
            return item
        }
        guard queuedBytes + bytes <= maxQueuedBytes else {
            droppedDatagrams += 1
            droppedBytes += bytes
            return nil
        }
        queue.append((item, bytes))
        queuedBytes += bytes
        return nil
    }

    /// The next queued datagram whose turn has come by `now`, if any.
    public mutating func popReady(now: Instant) -> Item? {
        refill(now: now)
        guard head < queue.count, tokens >= Double(queue[head].bytes) else { return nil }
        let (item, bytes) = queue[head]
        head += 1
        tokens -= Double(bytes)
        queuedBytes -= bytes
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 256, head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return item
    }

    /// When the head of the queue can go; nil when the queue is empty.
    public func nextReadyTime(now: Instant) -> Instant? {
        guard head < queue.count else { return nil }
        let missing = Double(queue[head].bytes) - tokens
        guard missing > 0 else { return now }
        return now + TimeSpan(micros: Int64((missing / Double(bytesPerSecond) * 1e6).rounded(.up)))
    }

    private mutating func refill(now: Instant) {
        if let last = refilledAt, now > last {
            tokens = min(Double(burstBytes), tokens + Double(bytesPerSecond) * (now - last).seconds)
        }
        if refilledAt == nil || now > refilledAt! { refilledAt = now }
    }
}
