import CanopyCore

/// Direct mode's source: unicasts every chunk to every listener it knows.
///
/// The client/server baseline every other mode is measured against: RDP 1.0 when the
/// source's upload is ample, and a hard audience limit when it is not.
public struct DirectSource: ProtocolCore {
    public let identity: NodeRef
    public let info: StreamInfo
    /// A listener that has not refreshed its join for this long is forgotten.
    public var listenerTimeout: TimeSpan = .seconds(15)
    /// At most this many listeners are served; spoofed joins beyond it are ignored, so
    /// the table's memory is bounded (and a real source's upload would not carry more).
    public var maxListeners = 20_000
    private var listeners: [PeerAddress: Instant] = [:]
    /// Listeners in the order they joined, so sends go out in a deterministic order.
    private var order: [PeerAddress] = []

    static let expiryTimer = TimerKey(kind: 0xD1)

    public init(identity: NodeRef, info: StreamInfo) {
        self.identity = identity
        self.info = info
    }

    public var listenerCount: Int { listeners.count }

    public mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        switch event {
        case .command(.join):
            effects.setTimer(Self.expiryTimer, at: now + listenerTimeout)
        case .command(.publish(let chunk)):
            for address in order { effects.send(.stream(.chunk(chunk)), to: address) }
        case .command(.leave), .command(.lookup):
            break
        case .received(.stream(.directJoin), let from, _):
            guard listeners[from] != nil || listeners.count < maxListeners else { return }
            if listeners.updateValue(now, forKey: from) == nil {
                order.append(from)
                effects.send(.stream(.info(info)), to: from)
            }
        case .received(.stream(.directLeave), let from, _):
            if listeners.removeValue(forKey: from) != nil { order.removeAll { $0 == from } }
        case .received(.stream(.infoRequest), let from, _):
            effects.send(.stream(.info(info)), to: from)
        case .received(.stream(.clockProbe(let sentAt)), let from, _):
            effects.send(.stream(.clockReply(probeSentAt: sentAt, answeredAt: now.micros)), to: from)
        case .received:
            break
        case .timer(Self.expiryTimer):
            let cutoff = now - listenerTimeout
            let before = listeners.count
            listeners = listeners.filter { $0.value >= cutoff }
            if listeners.count != before { order.removeAll { listeners[$0] == nil } }
            effects.setTimer(Self.expiryTimer, at: now + listenerTimeout / 3)
        case .timer:
            break
        }
    }
}
