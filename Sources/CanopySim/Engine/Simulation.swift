import CanopyCore
import CanopyStream
import NIOCore

/// The deterministic discrete-event simulator: many cores, one virtual clock, the network
/// model of DESIGN.md, churn, the stream, and the accounting behind the report.
///
/// State is kept in arrays indexed by node (indices are never reused: a steady-churn
/// replacement is a new node), and the hot path — a message arriving, a core answering,
/// its sends queued on the upload link — allocates nothing in the steady state.
public final class Simulation: SimContext {
    public let scenario: Scenario
    let mode: any SimMode

    // Time
    public private(set) var now = Instant.zero
    public let streamStart: Instant
    public let runEnd: Instant
    let chunkMicros: Int64
    public private(set) var streamInfo: StreamInfo

    // Randomness: one stream per purpose, so adding a draw in one place does not shift the others.
    public var rng: SeededRNG
    private var idRNG: SeededRNG
    private var nodeRNGSource: SeededRNG
    private var uploadRNG: SeededRNG
    private var lossRNG: SeededRNG
    var churnRNG: SeededRNG

    // Nodes
    enum NodeState: UInt8 { case pending, live, departed }
    @exclusivity(unchecked) private(set) var cores: [any ProtocolCore] = []
    @exclusivity(unchecked) private var nodeRNGs: [SeededRNG] = []
    @exclusivity(unchecked) private(set) var identities: [NodeRef] = []
    @exclusivity(unchecked) private(set) var capacityKbps: [Double] = []
    /// Serialisation time of one byte on the node's upload link, µs.
    @exclusivity(unchecked) private var microsPerByte: [Double] = []
    @exclusivity(unchecked) private var busyUntil: [Double] = []
    @exclusivity(unchecked) private(set) var state: [NodeState] = []
    private(set) var joinTime: [Int64] = []
    private(set) var departTime: [Int64] = []
    @exclusivity(unchecked) private(set) var position: [Int32] = []
    @exclusivity(unchecked) private(set) var uploadedBytes: [Int64] = []
    @exclusivity(unchecked) private(set) var uploadedDataBytes: [Int64] = []
    private var livePosition: [Int32] = []
    public private(set) var liveNodes: [Int] = []
    /// Live nodes by id, for `closestLiveNode`; built on first use (joins are cheaper
    /// without it, and most modes never ask), then kept up to date.
    private var sortedIDs: [(id: NodeID, node: Int32)]?

    // Machinery
    @exclusivity(unchecked) var queue = EventQueue()
    private var network: NetworkModel
    @exclusivity(unchecked) private var effects = Effects()
    private struct TimerID: Hashable { var node: Int32; var key: TimerKey }
    /// Sequence number of each pending timer's live heap entry; older entries are stale.
    @exclusivity(unchecked) private var timers: [TimerID: UInt64] = [:]
    private let payload: ByteBuffer
    private let signature: ByteBuffer

    // Accounting
    @exclusivity(unchecked) var playout: PlayoutLog
    @exclusivity(unchecked) var counters = Counters()
    var lookups = LookupLog()

    struct Counters {
        var events = 0
        var messages = 0
        var datagrams = 0
        var dataBytes: Int64 = 0
        var payloadBytes: Int64 = 0
        var controlBytes: Int64 = 0
        var lost = 0
        var vanished = 0
        var misaddressed = 0
        var duplicates = 0
        var rejected = 0
        var chunksPublished = 0
        /// Σ over published chunks of the listeners live at that moment.
        var receiverChunks = 0
        var zeroCapacityDataBytes: Int64 = 0
    }

    /// Called about every 65,536 events, for a progress line.
    public var progress: ((Simulation) -> Void)?

    public init(scenario: Scenario) throws {
        self.scenario = scenario
        guard let modeType = SimModeRegistry.mode(named: scenario.mode) else {
            throw ScenarioError("unknown mode \"\(scenario.mode)\" (expected one of: \(SimModeRegistry.names.joined(separator: ", ")))")
        }
        for key in scenario.blocks.keys.sorted() where !modeType.blocks.contains(key) {
            let reads = modeType.blocks.isEmpty ? "none" : modeType.blocks.joined(separator: ", ")
            throw ScenarioError("field \"\(key)\" does not apply to mode \"\(scenario.mode)\" (it reads: \(reads))")
        }
        mode = try modeType.init(scenario: scenario, blocks: ModeBlocks(values: scenario.blocks))

        var master = SeededRNG(seed: scenario.seed)
        idRNG = master.split(1)
        nodeRNGSource = master.split(2)
        uploadRNG = master.split(3)
        lossRNG = master.split(4)
        churnRNG = master.split(5)
        rng = master.split(6)
        var joinRNG = master.split(7)
        network = NetworkModel(topology: scenario.topology, rng: master.split(8))

        streamStart = Instant.zero + .seconds(scenario.joinOverSeconds)
        runEnd = Instant.zero + .seconds(scenario.runSeconds)
        chunkMicros = TimeSpan.milliseconds(scenario.stream.chunkMilliseconds).micros
        playout = PlayoutLog(chunkCount: mode.carriesStream ? scenario.stream.chunkCount : 0)
        payload = ByteBuffer(repeating: 0, count: scenario.stream.payloadBytes)
        signature = ByteBuffer(repeating: 0, count: Chunk.signatureSize)
        // Filled in once node 0 exists.
        streamInfo = StreamInfo(streamID: .zero, publicKey: ByteBuffer(), mode: .direct, modeParameter: 0,
                                chunkMicros: 0, bitrateKbps: 0, preSkip: 0,
                                source: NodeRef(id: .zero, address: PeerAddress(simulatedNode: 0)))
        timelineBucketCount = Self.bucketCount(untilMicros: runEnd.micros)
        lookups = LookupLog(bucketCount: timelineBucketCount)

        let source = addNode(position: network.newPosition())
        streamInfo = StreamInfo(streamID: NodeID.random(using: &idRNG),
                                publicKey: ByteBuffer(repeating: 0, count: StreamInfo.publicKeySize),
                                mode: mode.streamMode, modeParameter: mode.modeParameter,
                                chunkMicros: UInt32(clamping: chunkMicros),
                                bitrateKbps: UInt16(clamping: Int(scenario.stream.bitrateKbps.rounded())),
                                preSkip: 0, source: identities[source])

        mode.start(sim: self)
        queue.push(.join(node: Int32(source)), at: 0)
        let overMicros = TimeSpan.seconds(scenario.joinOverSeconds).micros
        for _ in 1..<scenario.nodes {
            let node = addNode(position: network.newPosition())
            let at = overMicros > 0 ? Int64(joinRNG.next() % UInt64(overMicros)) : 0
            queue.push(.join(node: Int32(node)), at: at)
        }
        if mode.carriesStream {
            for sequence in 0..<scenario.stream.chunkCount {
                queue.push(.publish(sequence: UInt32(sequence)), at: streamStart.micros + Int64(sequence) * chunkMicros)
            }
        }
        for (index, event) in scenario.churn.enumerated() {
            switch event {
            case .crash(let at, _), .leave(let at, _), .join(let at, _):
                queue.push(.churn(index: Int32(index)), at: TimeSpan.seconds(at).micros)
            case .sessions:
                break
            }
        }
    }

    // MARK: - Nodes

    /// Creates a node (not yet joined) at a network position; returns its index.
    @discardableResult
    func addNode(position spot: Int32) -> Int {
        let node = identities.count
        let id = NodeID.random(using: &idRNG)
        identities.append(NodeRef(id: id, address: PeerAddress(simulatedNode: node)))
        let capacity = node == 0 ? scenario.sourceUploadKbps : scenario.drawUploadKbps(using: &uploadRNG)
        capacityKbps.append(capacity)
        let rate = capacity > 0 ? capacity : scenario.controlFloorKbps
        microsPerByte.append(8_000 / rate)
        busyUntil.append(0)
        state.append(.pending)
        joinTime.append(.max)
        departTime.append(.max)
        position.append(spot)
        uploadedBytes.append(0)
        uploadedDataBytes.append(0)
        livePosition.append(-1)
        nodeRNGs.append(nodeRNGSource.split(UInt64(node)))
        cores.append(DepartedCore(identity: identities[node]))
        playout.addNode()
        return node
    }

    /// Where a new node sits: a fresh spot, or the spot of the node it replaces.
    func networkPosition(replacing node: Int?) -> Int32 {
        if let node { return position[node] }
        return network.newPosition()
    }

    func join(_ node: Int) {
        guard state[node] == .pending else { return }
        let bootstrap = mode.bootstrap(for: node, sim: self)
        cores[node] = mode.makeCore(node: node, identity: identities[node], uploadKbps: capacityKbps[node], sim: self)
        state[node] = .live
        joinTime[node] = now.micros
        livePosition[node] = Int32(liveNodes.count)
        liveNodes.append(node)
        if sortedIDs != nil {
            sortedIDs!.insert((id: identities[node].id, node: Int32(node)), at: idInsertionIndex(identities[node].id))
        }
        dispatch(node, .command(.join(bootstrap: bootstrap)))
        mode.membershipChanged(.joined, node: node, sim: self)
        scheduleSessionEnd(node)
    }

    /// Removes a live node: a crash (no goodbye) or, after its `.leave` was handled, a leave.
    func depart(_ node: Int, graceful: Bool) {
        guard state[node] == .live else { return }
        if graceful { dispatch(node, .command(.leave)) }
        state[node] = .departed
        departTime[node] = now.micros
        let slot = Int(livePosition[node])
        let moved = liveNodes.removeLast()
        if moved != node {
            liveNodes[slot] = moved
            livePosition[moved] = Int32(slot)
        }
        livePosition[node] = -1
        if sortedIDs != nil { sortedIDs!.remove(at: idInsertionIndex(identities[node].id)) }
        mode.membershipChanged(graceful ? .left : .crashed, node: node, sim: self)
        cores[node] = DepartedCore(identity: identities[node])
    }

    private func idInsertionIndex(_ id: NodeID) -> Int {
        guard let sorted = sortedIDs else { return 0 }
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    // MARK: - Running

    /// Runs to the end of the scenario.
    public func run() {
        let end = runEnd.micros
        while let time = queue.nextTime, time <= end {
            let (_, sequence, event) = queue.pop()!
            now = Instant(micros: time)
            counters.events += 1
            if counters.events & 0xFFFF == 0, let progress { progress(self) }
            handle(event, sequence: sequence)
        }
        now = runEnd
    }

    private func handle(_ event: PendingEvent, sequence: UInt64) {
        switch event {
        case .message(let to, let from, let message):
            let node = Int(to)
            guard state[node] == .live else { counters.vanished += 1; return }
            let sender = identities[Int(from)]
            dispatch(node, .received(message, from: sender.address, sender: message.namesSender ? sender.id : nil))
        case .timer(let node, let key):
            let id = TimerID(node: node, key: key)
            guard timers[id] == sequence else { return }
            timers[id] = nil
            guard state[Int(node)] == .live else { return }
            dispatch(Int(node), .timer(key))
        case .join(let node):
            join(Int(node))
        case .command(let node, let command):
            guard state[Int(node)] == .live else { return }
            dispatch(Int(node), .command(command))
        case .publish(let sequence):
            publish(sequence)
        case .churn(let index):
            applyChurn(scenario.churn[Int(index)])
        case .sessionEnd(let node):
            endSession(Int(node))
        case .modeAction(let tag):
            mode.action(tag, sim: self)
        case .free:
            break
        }
    }

    private func publish(_ sequence: UInt32) {
        guard state[0] == .live else { return }
        let chunk = Chunk(streamID: streamInfo.streamID, sequence: sequence, generatedAt: now.micros,
                          payload: payload, signature: signature)
        counters.chunksPublished += 1
        counters.receiverChunks += liveNodes.count - 1
        dispatch(0, .command(.publish(chunk)))
    }

    /// Hands one event to a core and carries out what it answers.
    private func dispatch(_ node: Int, _ event: Event) {
        cores[node].handle(event, now: now, rng: &nodeRNGs[node], effects: &effects)
        var index = 0
        while index < effects.items.count {
            switch effects.items[index] {
            case .send(let message, let address):
                send(message, from: node, to: address)
            case .setTimer(let key, let time):
                let at = max(time.micros, now.micros)
                timers[TimerID(node: Int32(node), key: key)] = queue.push(.timer(node: Int32(node), key: key), at: at)
            case .cancelTimer(let key):
                timers[TimerID(node: Int32(node), key: key)] = nil
            case .deliver(let chunk):
                playout.record(node: node, sequence: chunk.sequence, delay: now.micros - chunk.generatedAt,
                               direct: network.delay(position[0], position[node]), now: now.micros)
            case .observe(let observation):
                if observation is DuplicateChunk {
                    counters.duplicates += 1
                } else if observation is ChunkRejected {
                    counters.rejected += 1
                }
                mode.observed(observation, node: node, sim: self)
            }
            index += 1
        }
        effects.removeAll()
    }

    /// Puts a message on the sender's upload link and, unless lost, schedules its arrival.
    private func send(_ message: Message, from node: Int, to address: PeerAddress) {
        let cost = Fragmenter.wireCost(envelopeSize: message.envelopeSize)
        counters.messages += 1
        counters.datagrams += cost.datagrams
        let bytes = Int64(cost.bytes)
        uploadedBytes[node] += bytes
        if let payloadBytes = message.dataPayloadBytes {
            counters.dataBytes += bytes
            counters.payloadBytes += Int64(payloadBytes)
            uploadedDataBytes[node] += bytes
            if capacityKbps[node] == 0 { counters.zeroCapacityDataBytes += bytes }
        } else {
            counters.controlBytes += bytes
        }
        let departure = max(Double(now.micros), busyUntil[node]) + Double(bytes) * microsPerByte[node]
        busyUntil[node] = departure
        if scenario.loss > 0 {
            // Every datagram of a fragmented message must arrive.
            let delivered = cost.datagrams == 1 ? 1 - scenario.loss : pow(1 - scenario.loss, Double(cost.datagrams))
            if lossRNG.unit() >= delivered { counters.lost += 1; return }
        }
        let target = address.simulatedIndex
        guard address.port == 0, target < identities.count else { counters.misaddressed += 1; return }
        let arrival = Int64(departure.rounded(.up)) + network.delay(position[node], position[target])
        queue.push(.message(to: Int32(target), from: Int32(node), message), at: arrival)
    }

    // MARK: - SimContext

    public var nodeCount: Int { identities.count }
    /// Events handled so far.
    public var eventCount: Int { counters.events }
    public func isLive(_ node: Int) -> Bool { node >= 0 && node < state.count && state[node] == .live }

    public func randomLiveNode(excludingSource: Bool) -> Int? {
        let candidates = liveNodes.count - (excludingSource && isLive(0) ? 1 : 0)
        guard candidates > 0 else { return nil }
        while true {
            let node = liveNodes[Int(rng.next() % UInt64(liveNodes.count))]
            if !(excludingSource && node == 0) { return node }
        }
    }

    public func identity(of node: Int) -> NodeRef { identities[node] }
    public func uploadKbps(of node: Int) -> Double { capacityKbps[node] }
    public func joinedAt(_ node: Int) -> Instant? { joinTime[node] == .max ? nil : Instant(micros: joinTime[node]) }
    public func core(_ node: Int) -> any ProtocolCore { cores[node] }

    public func closestLiveNode(to key: NodeID) -> Int? {
        if sortedIDs == nil {
            sortedIDs = liveNodes.map { (id: identities[$0].id, node: Int32($0)) }.sorted { $0.id < $1.id }
        }
        guard let sorted = sortedIDs, !sorted.isEmpty else { return nil }
        let index = idInsertionIndex(key)
        let above = sorted[index % sorted.count]
        let below = sorted[(index + sorted.count - 1) % sorted.count]
        return Int(below.id.isCloser(to: key, than: above.id) ? below.node : above.node)
    }

    public func latency(from: Int, to: Int) -> TimeSpan {
        TimeSpan(micros: network.delay(position[from], position[to]))
    }

    public func schedule(_ tag: UInt64, at time: Instant) {
        queue.push(.modeAction(tag: tag), at: max(time.micros, now.micros))
    }

    public func command(_ command: NodeCommand, node: Int) {
        queue.push(.command(node: Int32(node), command), at: now.micros)
    }

    public func recordLookup(_ outcome: LookupOutcome) {
        lookups.record(outcome, bucket: bucket(of: outcome.issuedAt.micros))
    }

    // MARK: - Timeline

    static let bucketMicros: Int64 = 10_000_000

    /// 10-second buckets covering the run.
    let timelineBucketCount: Int

    /// Shared with runs that are not simulations (`PlayoutLedger`), so their timelines line up.
    static func bucketCount(untilMicros end: Int64) -> Int {
        max(1, Int((end + bucketMicros - 1) / bucketMicros))
    }

    func bucket(of time: Int64) -> Int {
        min(timelineBucketCount - 1, max(0, Int(time / Self.bucketMicros)))
    }
}

/// Stands in for a core before its node joins and after it departs, so `cores` stays a
/// plain array and a departed node's state is freed.
struct DepartedCore: ProtocolCore {
    let identity: NodeRef
    mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {}
}

import Foundation
