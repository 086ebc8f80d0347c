import CanopyCore
import CanopyStream

/// A peer (or the source) of the pull-mode mesh: membership by gossip, a few partners,
/// buffer maps or HAVE notices, and a DONet or Chainsaw request scheduler, all as one
/// sans-IO state machine. The same value runs in the simulator and on real UDP.
///
/// A peer joins through any member, learns the stream (`StreamInfo`) from it, partners
/// with members of its view and pulls every chunk of a sliding window from the partners
/// that hold it; it serves its partners' requests within its own upload capacity. The
/// source does the same but pushes each new chunk to a few partners first.
public struct MeshNode: ProtocolCore {
    public let identity: NodeRef
    public let config: MeshConfig
    public let isSource: Bool
    /// If set, only a stream with this id is accepted (the key's hash pins the source).
    let expectedStream: StreamID?
    /// True in the simulator: model signature checks (see `ChunkAuthenticator.modeled`).
    let modeledVerification: Bool

    public internal(set) var info: StreamInfo?
    /// The scheduler in force: the source's choice, learnt from `StreamInfo.modeParameter`.
    public internal(set) var scheduler: MeshScheduler
    var authenticator: ChunkAuthenticator?
    var upload: UploadBudget
    var view: PartialView
    /// Current partners, in the order they were taken (keeps choices reproducible).
    var partners: [Partner] = []
    /// Partner requests sent and not yet answered.
    var pendingPartners: [(address: PeerAddress, at: Instant)] = []

    var store = ChunkStore(capacity: 1)
    var delivered = SequenceWindow()
    var windowChunks = 1
    var chunkDuration: TimeSpan = .seconds(0.2)
    /// Wire bits of one data message: what a request costs the supplier.
    var chunkBits: Double = 1
    /// Newest chunk known to exist, and when we learnt of it (estimates chunk ages).
    var edge: UInt32?
    var edgeAt: Instant = .zero
    /// The source's clock mapped onto ours: the smallest (arrival − generation) seen so far,
    /// so a chunk's generation time plus it is when the fastest path would bring it. Needs
    /// no clock agreement with the source.
    var clockShift: Int64?
    /// A chunk we hold (sequence, source generation time): with `clockShift` it dates
    /// every other chunk, since the source makes one per chunk duration.
    var anchor: (sequence: UInt32, generatedAt: Int64)?
    var newestHeld: UInt32?
    /// Hops from the source our chunks take (moving average; nil until the first chunk):
    /// the order substream pushes follow (see `MeshNode+Push`).
    var level: Double?
    /// How old our chunks are when they reach us, seconds past the fastest delivery
    /// (moving average; kept only with `MeshConfig.overdueRescue`): a request for a chunk
    /// much older than that is overdue.
    var arrivalAge: Double?
    /// First chunk this node wants: set from the first edge it hears of.
    var playStart: UInt32?
    var requests: [UInt32: PendingRequest] = [:]
    /// Per substream, the partner that pushes it to us; nil: we pull it.
    var pushers = [PeerAddress?](repeating: nil, count: MeshMessage.substreams)
    /// Per substream, the first sequence its pusher was asked for (earlier ones we pull).
    var pushStart = [UInt32](repeating: 0, count: MeshMessage.substreams)
    /// False until our first pull has asked for every substream's push (`pulled`).
    var choseFirstPushers = false
    /// Per substream, when we last cancelled its late pusher.
    var cancelledAt = [Instant](repeating: .zero, count: MeshMessage.substreams)
    /// When we first heard of each chunk of the window (from anyone): partners' lags and
    /// the push grace are measured from it.
    var firstHeard: [UInt32: Instant] = [:]
    var scheduleAt: Instant?
    var pendingHaves: [UInt32] = []
    var haveTimerSet = false
    /// Our buffer map, rebuilt only after the store changed.
    var mapCache: BufferMap?

    var active = false
    var bootstrap: PeerAddress?
    var joinTarget: PeerAddress?
    var lastJoinSent: Instant = .zero
    var lastTick: Instant = .zero
    /// Since when no supplier partner held a chunk we want (see `replaceBarrenPartner`).
    var barrenSince: Instant?
    var nextGossip: Instant = .zero
    var nextRefine: Instant = .zero
    var pushCursor = 0
    /// The source: its newest chunks not yet confirmed held by a live partner.
    var seeding: [Seeding] = []
    /// Accepted requests not yet handed to the driver: data is released only as the upload
    /// link drains, so our own control messages never wait behind a long data queue.
    var serveQueue: [QueuedServe] = []
    var uploadTimerAt: Instant?
    /// The last chunk sent was an overdue one taken out of order (see `overdueServe`).
    var lastServeOverdue = false
    public internal(set) var counters = MeshCounters()

    static let tickTimer = TimerKey(kind: 0xC1)
    static let statusTimer = TimerKey(kind: 0xC2)
    static let scheduleTimer = TimerKey(kind: 0xC3)
    static let haveTimer = TimerKey(kind: 0xC4)
    static let uploadTimer = TimerKey(kind: 0xC5)
    /// Data is released when the link has at most this much left to send.
    static let uploadSlack: TimeSpan = .seconds(0.01)
    static let tickPeriod: TimeSpan = .seconds(0.5)

    /// The source: knows the stream from the start and serves it with `uploadKbps`.
    public init(source identity: NodeRef, info: StreamInfo, uploadKbps: Double, config: MeshConfig = MeshConfig()) {
        self.identity = identity
        self.config = config
        isSource = true
        expectedStream = info.streamID
        modeledVerification = false
        scheduler = config.scheduler
        upload = UploadBudget(capacityKbps: uploadKbps)
        view = PartialView(capacity: config.viewSize, lifetime: config.viewLifetime)
        adopt(info)
    }

    /// A peer with `uploadKbps` of upload (0: it pulls but never serves).
    public init(peer identity: NodeRef, uploadKbps: Double, config: MeshConfig = MeshConfig(),
                expectedStream: StreamID? = nil, modeledVerification: Bool = false) {
        self.identity = identity
        self.config = config
        isSource = false
        self.expectedStream = expectedStream
        self.modeledVerification = modeledVerification
        scheduler = config.scheduler
        upload = UploadBudget(capacityKbps: uploadKbps)
        view = PartialView(capacity: config.viewSize, lifetime: config.viewLifetime)
    }

    // MARK: inspection (tests, simulator report, status line)

    public var partnerCount: Int { partners.count }
    public var partnerAddresses: [PeerAddress] { partners.map(\.address) }
    public var viewCount: Int { view.count }
    /// What we uploaded lately, kbit/s (moving average): our own upload use.
    public var uploadRateKbps: Double { upload.rateKbps }
    public var outstandingRequests: Int { requests.values.filter { $0.partner != nil }.count }
    public func holds(_ sequence: UInt32) -> Bool { store.holds(sequence) }

    // MARK: events

    public mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        switch event {
        case .command(.join(let bootstrap)):
            start(bootstrap: bootstrap, now: now, rng: &rng, effects: &effects)
        case .command(.leave):
            leave(effects: &effects, now: now)
        case .command(.publish(let chunk)):
            guard isSource, active else { return }
            publish(chunk, now: now, rng: &rng, effects: &effects)
        case .command(.lookup):
            break
        case .timer(let key):
            guard active else { return }
            timerFired(key, now: now, rng: &rng, effects: &effects)
        case .received(let message, let from, let sender):
            guard active, from != identity.address else { return }
            receive(message, from: from, sender: sender, now: now, rng: &rng, effects: &effects)
        }
    }

    private mutating func timerFired(_ key: TimerKey, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        switch key {
        case Self.tickTimer:
            tick(now: now, rng: &rng, effects: &effects)
            effects.setTimer(Self.tickTimer, at: now + Self.tickPeriod)
        case Self.statusTimer:
            guard scheduler == .donet else { return }
            sendStatus(now: now, effects: &effects)
            effects.setTimer(Self.statusTimer, at: now + config.bufferMapPeriod)
        case Self.scheduleTimer:
            scheduleAt = nil
            runScheduler(now: now, rng: &rng, effects: &effects)
        case Self.uploadTimer:
            uploadTimerAt = nil
            pumpUploads(now: now, effects: &effects)
        case Self.haveTimer:
            haveTimerSet = false
            flushHaves(now: now, effects: &effects)
        default:
            break
        }
    }

    private mutating func receive(_ message: Message, from: PeerAddress, sender: NodeID?, now: Instant,
                                  rng: inout SeededRNG, effects: inout Effects) {
        if let i = partnerIndex(from) { partners[i].spoke(now: now) }
        switch message {
        case .stream(.infoRequest):
            if let info { send(.stream(.info(info)), to: from, now: now, effects: &effects) }
        case .stream(.info(let announced)):
            guard info == nil, from == joinTarget else { return }
            if let expectedStream, announced.streamID != expectedStream { return }
            adopt(announced)
            acquirePartners(now: now, rng: &rng, effects: &effects)
        case .mesh(let mesh):
            receive(mesh, from: from, sender: sender, now: now, rng: &rng, effects: &effects)
        default:
            break
        }
    }

    /// The messages that introduce a node come with its id (the decoder guarantees it for
    /// their types); partners' traffic is matched by address alone.
    private mutating func receive(_ message: MeshMessage, from: PeerAddress, sender: NodeID?, now: Instant,
                                  rng: inout SeededRNG, effects: inout Effects) {
        let peer = sender.map { NodeRef(id: $0, address: from) }
        switch message {
        case .join:
            guard let peer else { return }
            answerJoin(peer, now: now, rng: &rng, effects: &effects)
        case .members(let refs):
            guard let peer else { return }
            learn(refs, from: peer, now: now, rng: &rng)
            acquirePartners(now: now, rng: &rng, effects: &effects)
        case .partnerRequest(let status):
            guard let peer else { return }
            answerPartnerRequest(peer, status: status, now: now, rng: &rng, effects: &effects)
        case .partnerAccept(let status):
            guard let peer else { return }
            partnerAccepted(peer, status: status, now: now, rng: &rng, effects: &effects)
        case .partnerRefuse(let refs):
            guard let peer else { return }
            pendingPartners.removeAll { $0.address == from }
            learn(refs, from: peer, now: now, rng: &rng)
            acquirePartners(now: now, rng: &rng, effects: &effects)
        case .status(let status):
            guard let i = partnerIndex(from) else {
                if !pendingPartners.contains(where: { $0.address == from }) {
                    send(.mesh(.leave), to: from, now: now, effects: &effects)
                }
                return
            }
            statusArrived(status, partner: i, now: now, rng: &rng, effects: &effects)
        case .have(let spare, let level, let sequences):
            guard let i = partnerIndex(from) else { return }
            partners[i].spareKbps = spare
            partners[i].level = Partner.hops(level)
            for s in sequences {
                heard(s, from: i, now: now)
                noteAvailable(s, now: now)
                partners[i].holdings.slide(inserting: s, capacity: holdingsCapacity)
            }
            runScheduler(now: now, rng: &rng, effects: &effects)
        case .request(let sequences):
            serve(sequences, to: from, now: now, effects: &effects)
        case .refuse(let sequences):
            refused(sequences, by: from, now: now, rng: &rng, effects: &effects)
        case .data(let chunk, let status):
            if let status, let i = partnerIndex(from) {
                statusArrived(status, partner: i, now: now, rng: &rng, effects: &effects)
            }
            receiveChunk(chunk, from: from, now: now, rng: &rng, effects: &effects)
        case .leave:
            removePartner(from, now: now, rng: &rng, effects: &effects)
        case .subscribe(let mask, let first):
            subscriptionAsked(mask, from: first, by: from, now: now, effects: &effects)
        case .declined(let mask):
            pushDeclined(mask, by: from, now: now)
        }
    }

    // MARK: shared helpers

    func partnerIndex(_ address: PeerAddress) -> Int? {
        partners.firstIndex { $0.address == address }
    }

    /// Sends and charges the upload model; notes what the partner has now heard from us.
    mutating func send(_ message: Message, to address: PeerAddress, now: Instant, effects: inout Effects) {
        upload.charge(bytes: UploadBudget.wireBytes(message), now: now)
        effects.send(message, to: address)
        guard let i = partnerIndex(address) else { return }
        partners[i].lastSent = now
        switch message {
        case .mesh(.status), .mesh(.partnerAccept), .mesh(.partnerRequest), .mesh(.data(_, status: .some(_))):
            partners[i].lastStatusSent = now
        default:
            break
        }
    }

    /// Takes the stream's parameters: window size, chunk duration, verifier, scheduler.
    mutating func adopt(_ announced: StreamInfo) {
        let auth = modeledVerification || isSource ? ChunkAuthenticator.modeled(streamID: announced.streamID)
                                                   : ChunkAuthenticator(info: announced)
        guard let auth else { return }
        info = announced
        authenticator = auth
        if let chosen = MeshScheduler(rawValue: announced.modeParameter) { scheduler = chosen }
        chunkDuration = TimeSpan(micros: Int64(announced.chunkMicros))
        windowChunks = min(BufferMap.maxCount / 2,
                           max(8, Int(config.window.micros / max(1, chunkDuration.micros))))
        store = ChunkStore(capacity: windowChunks + 16)
        let payload = Int(announced.bitrateKbps) * Int(announced.chunkMicros) / 8000
        let status = MeshStatus(spareKbps: 0, level: 0, map: BufferMap(start: 0, count: windowChunks))
        let body = StreamMessage.chunkBodySize(payloadBytes: payload) + 1 + status.encodedSize
        chunkBits = Double(Fragmenter.wireCost(envelopeSize: WireHeader.shortSize + body).bytes * 8)
    }

    /// How many chunks we track per partner.
    var holdingsCapacity: Int { windowChunks * 2 }

    /// Records that `sequence` exists somewhere (a partner's word, or a verified chunk).
    mutating func noteAvailable(_ sequence: UInt32, now: Instant) {
        guard let edge else {
            edge = sequence
            edgeAt = now
            playStart = sequence - min(sequence, UInt32(config.startLag))
            return
        }
        if sequence > edge {
            self.edge = sequence
            edgeAt = now
        }
    }

    /// First chunk of the window we request in: at most `window` old by our estimate of its
    /// generation time, so a node that fell behind skips what nobody will play instead of
    /// spending its partners' upload on it (and falling further behind); never older than
    /// the window below the newest chunk we know of, nor older than where we started.
    func windowLow(now: Instant) -> UInt32? {
        guard let edge, let playStart else { return nil }
        var low = edge - min(edge, UInt32(windowChunks - 1))
        if let anchor, let clockShift {
            let steps = (now.micros - config.window.micros - anchor.generatedAt - clockShift) / max(1, chunkDuration.micros)
            low = max(low, UInt32(clamping: Int64(anchor.sequence) + steps))
        }
        return max(low, playStart)
    }

    /// When `sequence` was generated, on our clock shifted by the fastest delivery seen.
    func generated(_ sequence: UInt32) -> Instant? {
        guard let anchor, let clockShift else { return nil }
        return Instant(micros: anchor.generatedAt + clockShift) + chunkDuration * (Int64(sequence) - Int64(anchor.sequence))
    }

    /// Dates chunks from a verified one: its generation time and how fast it came.
    mutating func learnTiming(_ chunk: Chunk, now: Instant) {
        clockShift = min(clockShift ?? .max, now.micros - chunk.generatedAt)
        if chunk.sequence >= anchor?.sequence ?? 0 { anchor = (chunk.sequence, chunk.generatedAt) }
    }

    /// When `sequence` should have arrived: its (estimated) generation time plus the deadline.
    func deadline(of sequence: UInt32) -> Instant {
        if let at = generated(sequence) { return at + config.deadline }
        let behind = Int64((edge ?? sequence) &- sequence)
        return edgeAt - chunkDuration * behind + config.deadline
    }

    /// Our spare upload (as of now) and buffer map.
    mutating func currentStatus(now: Instant) -> MeshStatus {
        MeshStatus(spareKbps: spareKbps(now: now), level: advertisedLevel, map: currentMap())
    }

    /// A chunk for a partner. Under DONet our map rides on it, so the receiver learns what
    /// else we hold without waiting for the next map; Chainsaw's HAVEs already told it.
    mutating func dataMessage(_ chunk: Chunk, now: Instant) -> Message {
        .mesh(.data(chunk, status: scheduler == .donet ? currentStatus(now: now) : nil))
    }

    /// Our level as `MeshStatus` carries it: eighths of a hop, 0 at the source, 255 (as
    /// far as it goes) before our first chunk.
    var advertisedLevel: UInt8 {
        if isSource { return 0 }
        guard let level else { return .max }
        return UInt8(min(255, (level * 8).rounded()))
    }

    /// Upload we can still offer, counting the data accepted but not yet handed over.
    func spareKbps(now: Instant) -> UInt16 {
        upload.spareKbps(now: now, waiting: serveQueue.count * Int(chunkBits / 8), maxQueue: config.maxQueue)
    }

    mutating func currentMap() -> BufferMap {
        if let mapCache { return mapCache }
        var map = BufferMap(start: 0)
        if let newestHeld {
            let start = newestHeld - min(newestHeld, UInt32(windowChunks - 1))
            map = BufferMap(start: start, count: Int(newestHeld - start) + 1)
            for s in start...newestHeld where store.holds(s) { map.insert(s) }
        }
        mapCache = map
        return map
    }
}

/// A chunk we accepted to send, waiting for the upload link.
struct QueuedServe: Sendable {
    var address: PeerAddress
    var sequence: UInt32
    /// The asker can upload (its copy will be passed on): served first.
    var forwards: Bool
    /// Sent unasked (a subscription): dropped if the subscriber cancels it meanwhile.
    var pushed: Bool
    var acceptedAt: Instant

    /// Partners that forward first, newest chunk first (few holders yet, so each copy
    /// spreads furthest); then the others, oldest chunk first (nearest its deadline).
    func precedes(_ other: QueuedServe) -> Bool {
        if forwards != other.forwards { return forwards }
        return forwards ? sequence > other.sequence : sequence < other.sequence
    }
}

/// A new chunk the source pushed, when it last did, and to whom.
struct Seeding: Sendable {
    var sequence: UInt32
    var madeAt: Instant
    var at: Instant
    var receivers: [PeerAddress]
    var tries = 0

    /// Longer than a message takes to cross: what a receiver says this long after the push
    /// left, it said after the push reached it.
    static let margin: TimeSpan = .seconds(0.3)

    /// A partner of the source that has said nothing for this long has most likely crashed:
    /// it sends a keep-alive on every half-second tick on which it has sent nothing else.
    static let silence: TimeSpan = .seconds(0.75)

    /// True if `partner` was heard within `live` and holds the chunk by its own map sent
    /// since the push, or received the push and spoke well after it. Our own mark in the
    /// holdings of those we pushed to does not count, nor does a holder gone silent.
    func confirmed(by partner: Partner, now: Instant, live: TimeSpan) -> Bool {
        guard now - partner.lastHeard <= live else { return false }
        return (partner.mapAt > at && partner.holdings.contains(sequence))
            || (partner.lastHeard > at + Self.margin && receivers.contains(partner.address))
    }
}

/// A request we sent, or one that failed and waits to be sent elsewhere.
struct PendingRequest: Sendable {
    /// Who was asked; nil once it timed out or was refused.
    var partner: PeerAddress?
    var sentAt: Instant
    var timeoutAt: Instant
    /// The partner that failed it, tried last next time.
    var avoid: PeerAddress?
}
