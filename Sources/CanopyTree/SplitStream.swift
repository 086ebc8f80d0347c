import CanopyCore
import CanopyPastry
import CanopyStream

/// SplitStream over Scribe, as one application of the key-based routing interface.
///
/// The stream is dealt round-robin over k stripes; each stripe is a Scribe tree whose
/// topic id starts with its own digit, and every node joins all k. A node takes children
/// only up to the bound its upload allows (`ForwardingCapacity`), counted over all stripes.
/// A full node pushes a joiner down to one of its children; an orphan nobody on its path
/// can take asks the spare-capacity group (another Scribe tree) by anycast, and finally
/// the source. The layer sees only `KBRContext`, so it runs on whatever overlay implements it.
public struct SplitStream: KBRApplication {
    public let config: TreeConfig
    public let isSource: Bool
    public let uploadKbps: Double
    /// True in the simulator: model signature checks (see `ChunkAuthenticator.modeled`).
    public let modeledVerification: Bool
    public private(set) var info: StreamInfo?
    public private(set) var topics: StripeTopics?
    public private(set) var capacity: ForwardingCapacity?
    /// Stripes 0..<k, then the spare-capacity group at index k.
    public internal(set) var trees: [ScribeTopic] = []
    /// Newest sequence number received per stripe (nil before the first).
    public internal(set) var newest: [UInt32?] = []
    /// The last `config.backfillChunks` chunks per stripe, oldest first (kept only by nodes
    /// that can have children): what a new child asks for with `fill`.
    var recent: [[Chunk]] = []
    /// When this node was told to join: it is owed every chunk generated since.
    var joinedAt: Instant?
    /// The first chunk this node is owed (known from the first chunk it receives): playout
    /// starts there, and a stripe that finds its parent later asks it for every chunk from here.
    var owedFrom: UInt32?
    /// Playout has started: chunks are delivered as they arrive.
    var isPlaying = false
    /// Before playout starts: the chunks received, in sequence order, and since when.
    var held: [Chunk] = []
    var holdingSince: Instant?

    var authenticator: ChunkAuthenticator?
    var received = SequenceWindow()
    var bootstrap: PeerAddress?
    var overlayIsReady = false
    var started = false
    var nextRefresh = Instant.zero
    /// When `consolidate` may ask for its next move.
    var nextConsolidation = Instant.zero
    /// When `promote` may ask next, and how many asks in a row found no place.
    var nextPromotion = Instant.zero
    var promotionsRefused = 0
    /// When the last chunk arrived from any parent: tells a starving stripe from a stream
    /// that has not started (or has stopped).
    var lastData: Instant?
    /// When the first chunk arrived: a stripe cannot be starving since before the stream
    /// reached this node (its parent's accept may be much older than the stream's start).
    var firstData: Instant?
    /// Neighbours that said they have no upload (see `announceNoUpload`): a join handed
    /// along a stripe never goes to them. Only looked up, never iterated.
    var noUpload: Set<NodeID> = []
    /// The nodes this node, having no upload, has told so (each is told once).
    var toldNoUpload: Set<NodeID> = []
    /// Bounds both sets; when one is full it keeps only current leaf-set members.
    static let noUploadLimit = 64

    static let tickTimer = TimerKey(kind: 0x7472_0001)

    /// `info` is known up front by the source and in the simulator; a real listener passes
    /// nil and learns it from its bootstrap node.
    public init(uploadKbps: Double, config: TreeConfig = TreeConfig(), info: StreamInfo?,
                isSource: Bool = false, modeledVerification: Bool = false) {
        self.config = config
        self.isSource = isSource
        self.uploadKbps = uploadKbps
        self.modeledVerification = modeledVerification
        if let info { adopt(info: info) }
    }

    // MARK: derived views

    var groupIndex: Int { trees.count - 1 }
    var stripeCount: Int { trees.count - 1 }

    func index(of topic: NodeID) -> Int? {
        guard let topics else { return nil }
        if let stripe = topics.stripe(of: topic) { return stripe }
        return topic == topics.spareGroup ? groupIndex : nil
    }

    /// Children over all stripes (group children carry no data and cost nothing).
    public var usedSlots: Int { trees.dropLast().reduce(0) { $0 + $1.children.count } }
    public var bound: Int { capacity?.bound ?? 0 }
    public var spareSlots: Int { max(0, bound - usedSlots) }
    /// A free slot and a short upload queue: only then does this node take a child.
    func hasRoom(_ kbr: KBRContext) -> Bool {
        spareSlots > 0 && kbr.uploadBacklog < config.admissionBacklog
    }

    /// The node's queue is modeled from everything it sends (data and control, the
    /// overlay's too); a node without upload still sends control at the network's floor.
    public var modeledUploadKbps: Double? { uploadKbps > 0 ? uploadKbps : config.controlFloorKbps }

    /// Stripes in which this node forwards to at least one child.
    public var interiorStripes: Int { trees.dropLast().reduce(0) { $0 + ($1.children.isEmpty ? 0 : 1) } }

    // MARK: setup

    mutating func adopt(info: StreamInfo) {
        let count = info.mode == .tree && info.hasValidParameter ? Int(info.modeParameter) : config.stripes
        let topics = StripeTopics(streamID: info.streamID, stripes: count)
        var adjusted = config
        adjusted.stripes = count
        self.info = info
        self.topics = topics
        capacity = ForwardingCapacity(uploadKbps: uploadKbps, info: info, config: adjusted, isSource: isSource)
        authenticator = modeledVerification ? .modeled(streamID: info.streamID) : ChunkAuthenticator(info: info)
        trees = topics.stripes.enumerated().map { ScribeTopic(id: $1, stripe: $0) }
            + [ScribeTopic(id: topics.spareGroup, stripe: nil)]
        newest = Array(repeating: nil, count: count)
        recent = Array(repeating: [], count: count)
        if isSource {
            for i in 0..<count {
                trees[i].isTop = true
                trees[i].member = true
            }
        }
    }

    /// Joins every stripe once the overlay can route and the stream is known.
    mutating func startIfPossible(_ kbr: inout KBRContext) {
        guard !started, overlayIsReady || isSource, info != nil else { return }
        started = true
        if !isSource {
            for i in 0..<stripeCount {
                trees[i].member = true
                beginJoin(i, attempt: 0, &kbr)
            }
        }
        updateSpareMembership(&kbr)
        for member in kbr.leafSet.members { announceNoUpload(to: member, &kbr) }
        let phase = TimeSpan(micros: Int64(kbr.rng.next() % UInt64(config.tick.micros)))
        kbr.setTimer(Self.tickTimer, at: kbr.now + phase)
    }

    // MARK: upcalls

    public mutating func overlayReady(kbr: inout KBRContext) {
        overlayIsReady = true
        startIfPossible(&kbr)
    }

    /// A new leaf-set neighbour is one that may hand us joins (see `announceNoUpload`).
    public mutating func update(_ node: NodeRef, joined: Bool, kbr: inout KBRContext) {
        if joined && started { announceNoUpload(to: node, &kbr) }
    }

    public mutating func command(_ command: NodeCommand, kbr: inout KBRContext) {
        switch command {
        case .join(let address):
            bootstrap = address
            if joinedAt == nil { joinedAt = kbr.now }
            if info == nil, let address { kbr.effects.send(.stream(.infoRequest), to: address) }
            startIfPossible(&kbr)
        case .leave:
            leaveAll(&kbr)
        case .publish(let chunk):
            guard isSource, let topics else { return }
            forward(chunk, stripe: topics.stripe(ofSequence: chunk.sequence), &kbr)
        case .lookup:
            break
        }
    }

    public mutating func forward(_ payload: inout Message, route: RouteInfo, nextHop: NodeRef,
                                 kbr: inout KBRContext) -> ForwardDecision {
        guard route.previousHop != nil, case .tree(let message) = payload else { return .proceed }
        // A join or walk that would wait in our upload queue longer than its sender waits for
        // an answer is dead on arrival (and the previous hop, whose ack from us is as late,
        // routes it around us): passing it on would only lengthen the queue.
        if kbr.uploadBacklog > config.joinTimeout { return .stop }
        let decision: ForwardDecision
        switch message {
        case .join(let join):
            decision = handleJoin(join, via: .routed, &kbr)
        case .anycast(let walk) where !trees.isEmpty && isInTree(groupIndex):
            runAnycast(walk, &kbr)
            decision = .stop
        default:
            decision = .proceed
        }
        return decision
    }

    /// Every message the tree layer sends to a known node goes through here.
    mutating func send(_ message: Message, to node: NodeRef, _ kbr: inout KBRContext) {
        kbr.send(message, to: node)
    }

    mutating func route(_ key: NodeID, _ message: Message, _ kbr: inout KBRContext) {
        kbr.route(key, message)
    }

    public mutating func deliver(_ payload: Message, route: RouteInfo, kbr: inout KBRContext) {
        guard case .tree(let message) = payload else { return }
        switch message {
        case .join(let join): _ = handleJoin(join, via: .root, &kbr)
        case .anycast(let walk): runAnycast(walk, &kbr)
        default: break
        }
    }

    public mutating func receive(_ message: Message, from sender: NodeRef, kbr: inout KBRContext) {
        switch message {
        case .stream(.chunk(let chunk)):
            handleChunk(chunk, from: sender, &kbr)
        case .stream(.infoRequest):
            if let info { send(.stream(.info(info)), to: sender, &kbr) }
        case .stream(.info(let announced)):
            guard info == nil, sender.address == bootstrap else { return }
            if !modeledVerification && ChunkAuthenticator(info: announced) == nil { return }
            adopt(info: announced)
            startIfPossible(&kbr)
        case .tree(let tree):
            receive(tree, from: sender, &kbr)
        default:
            break
        }
    }

    mutating func receive(_ message: TreeMessage, from sender: NodeRef, _ kbr: inout KBRContext) {
        switch message {
        case .join(let join):
            // Whoever hands us a join may not know yet that we cannot place it.
            announceNoUpload(to: sender, &kbr)
            _ = handleJoin(join, via: .direct, &kbr)
        case .accept(let topic, let path): handleAccept(topic: topic, path: path, from: sender, &kbr)
        case .reject(let topic, let handedDown): handleReject(topic: topic, handedDown: handedDown, from: sender, &kbr)
        case .leave(let topic): handleLeave(topic: topic, from: sender, &kbr)
        case .heartbeat(let topics): handleHeartbeat(topics: topics, from: sender, &kbr)
        case .refresh(let refresh): handleRefresh(refresh, from: sender, &kbr)
        case .anycast(let walk): runAnycast(walk, &kbr)
        case .anycastFailed(_, let target):
            guard let i = index(of: target), let pending = trees[i].pending, trees[i].parent == nil else { return }
            beginJoin(i, attempt: pending.attempt + 1, &kbr)
        case .fill(let topic, let from): handleFill(topic: topic, from: from, child: sender, &kbr)
        case .move(let topic): handleMove(topic: topic, from: sender, &kbr)
        case .promote(let ask): climb(ask, &kbr)
        }
    }

    public mutating func timer(_ key: TimerKey, kbr: inout KBRContext) {
        guard key == Self.tickTimer else { return }
        tick(&kbr)
        kbr.setTimer(Self.tickTimer, at: kbr.now + config.tick)
    }

    /// Graceful leave: tell parents to prune and children to find new parents now rather
    /// than after a timeout.
    mutating func leaveAll(_ kbr: inout KBRContext) {
        for i in trees.indices {
            if let parent = trees[i].parent { send(.tree(.leave(topic: trees[i].id)), to: parent, &kbr) }
            for child in trees[i].children {
                send(.tree(.reject(topic: trees[i].id, handedDown: false)), to: child.ref, &kbr)
            }
            trees[i].parent = nil
            trees[i].children = []
            trees[i].pending = nil
            trees[i].member = false
        }
        kbr.cancelTimer(Self.tickTimer)
        started = false
    }
}
