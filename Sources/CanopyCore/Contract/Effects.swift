/// What a core asks its driver to do in answer to one event.
public enum Effect: Sendable {
    case send(Message, to: PeerAddress)
    case setTimer(TimerKey, at: Instant)
    case cancelTimer(TimerKey)
    /// A verified chunk for this node's playout buffer (the application).
    case deliver(Chunk)
    /// Something worth counting or logging; drivers pick out the kinds they understand.
    case observe(any Observation)
}

/// Marker for facts a core reports (a lookup arrived, a parent was repaired...).
/// Each module defines its own; the simulator's metrics and the CLI downcast.
public protocol Observation: Sendable {}

/// An append-only list of effects, reused across events by drivers to avoid allocation.
public struct Effects: Sendable {
    public private(set) var items: [Effect] = []

    public init() {}

    public mutating func send(_ message: Message, to address: PeerAddress) {
        items.append(.send(message, to: address))
    }

    public mutating func setTimer(_ key: TimerKey, at time: Instant) {
        items.append(.setTimer(key, at: time))
    }

    public mutating func cancelTimer(_ key: TimerKey) {
        items.append(.cancelTimer(key))
    }

    public mutating func deliver(_ chunk: Chunk) {
        items.append(.deliver(chunk))
    }

    public mutating func observe(_ observation: any Observation) {
        items.append(.observe(observation))
    }

    /// Empties the list, keeping its storage for the next event.
    public mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
    }

    public var isEmpty: Bool { items.isEmpty }
}
