/// What happens to a protocol core. Every core is driven by these alone, so the
/// simulator and the UDP driver can run the same code.
public enum Event: Sendable {
    /// A datagram decoded into `message` arrived from `from`; `sender` is the id in its
    /// header, nil for the short header (`Message.namesSender`).
    case received(Message, from: PeerAddress, sender: NodeID?)
    /// A timer the core set with `Effects.setTimer` is due.
    case timer(TimerKey)
    /// The local user or application asked for something.
    case command(NodeCommand)
}

/// Local requests, from the command line, the application or a scenario.
public enum NodeCommand: Sendable {
    /// Join through `bootstrap`; nil for the first node (or the source) of an overlay.
    case join(bootstrap: PeerAddress?)
    /// Leave gracefully, saying goodbye where the protocol has a way to.
    case leave
    /// The source publishes a new (already signed) chunk.
    case publish(Chunk)
    /// Route a lookup for `key`; `tag` comes back in the observation that reports it.
    case lookup(key: NodeID, tag: UInt64)
}

/// Names one pending timer of a core. Setting a key that is already pending moves it.
public struct TimerKey: Hashable, Sendable {
    /// A constant chosen by the core ("heartbeat", "probe"...).
    public var kind: UInt32
    /// Which instance (a peer index, a stripe, a sequence number...).
    public var argument: UInt64

    public init(kind: UInt32, argument: UInt64 = 0) {
        self.kind = kind
        self.argument = argument
    }
}

/// The one interface every protocol core implements: an event in, effects out.
///
/// `now` and `rng` are passed in; a core never reads a clock, opens a socket or uses a
/// global random generator, so one seed replays one run.
public protocol ProtocolCore {
    /// This node's identity, stamped by drivers into the header of what it sends.
    var identity: NodeRef { get }
    mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects)
}
