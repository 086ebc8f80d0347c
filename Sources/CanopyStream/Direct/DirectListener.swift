import CanopyCore

/// Direct mode's listener: asks the source for the stream, keeps asking so the source
/// knows it is alive, verifies every chunk and delivers each one once.
public struct DirectListener: ProtocolCore {
    public let identity: NodeRef
    /// If set, only a stream with this id is accepted (the key's hash pins the source).
    public let expectedStream: StreamID?
    public var refreshInterval: TimeSpan = .seconds(5)
    /// True in the simulator: model signature checks (see `ChunkAuthenticator.modeled`).
    public let modeledVerification: Bool
    public private(set) var info: StreamInfo?
    private var authenticator: ChunkAuthenticator?
    private var source: PeerAddress?
    private var received = SequenceWindow()

    static let refreshTimer = TimerKey(kind: 0xD2)

    public init(identity: NodeRef, expectedStream: StreamID? = nil, modeledVerification: Bool = false) {
        self.identity = identity
        self.expectedStream = expectedStream
        self.modeledVerification = modeledVerification
    }

    public mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        switch event {
        case .command(.join(let bootstrap)):
            guard let bootstrap else { return }
            source = bootstrap
            effects.send(.stream(.directJoin), to: bootstrap)
            effects.setTimer(Self.refreshTimer, at: now + refreshInterval)
        case .command(.leave):
            if let source { effects.send(.stream(.directLeave), to: source) }
            effects.cancelTimer(Self.refreshTimer)
            source = nil
        case .command:
            break
        case .timer(Self.refreshTimer):
            guard let source else { return }
            effects.send(.stream(.directJoin), to: source)
            effects.setTimer(Self.refreshTimer, at: now + refreshInterval)
        case .timer:
            break
        case .received(.stream(.info(let announced)), let from, _):
            guard from == source, info == nil else { return }
            if let expectedStream, announced.streamID != expectedStream { return }
            let auth = modeledVerification ? ChunkAuthenticator.modeled(streamID: announced.streamID)
                                           : ChunkAuthenticator(info: announced)
            guard let auth else { return }
            info = announced
            authenticator = auth
        case .received(.stream(.chunk(let chunk)), _, _):
            guard let authenticator else { return }
            guard authenticator.verify(chunk) else {
                let reason: ChunkRejected.Reason = chunk.streamID == authenticator.streamID ? .badSignature : .wrongStream
                effects.observe(ChunkRejected(reason: reason, sequence: chunk.sequence))
                return
            }
            if received.insert(chunk.sequence) {
                effects.deliver(chunk)
            } else {
                effects.observe(DuplicateChunk(sequence: chunk.sequence))
            }
        case .received:
            break
        }
    }
}

/// A chunk arrived that this node already had (for the duplicate ratio).
public struct DuplicateChunk: Observation {
    public let sequence: UInt32
    public init(sequence: UInt32) { self.sequence = sequence }
}
