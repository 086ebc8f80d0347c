@testable import CanopyTree
import CanopyCore
import CanopyPastry
import CanopyStream
import NIOCore

/// A KBR double for unit tests: SplitStream apps on an ideal prefix-routing overlay with
/// zero delay. Routes hop by hop through nodes sharing ever longer prefixes with the key
/// (the shortest step first, as a sparse Pastry table would), so reverse paths have several
/// hops; messages to crashed nodes vanish. Time moves only when a test advances it.
final class TreeTestNet {
    var refs: [NodeRef] = []
    var apps: [SplitStream] = []
    var alive: [Bool] = []
    var now = Instant(micros: 1_000_000)
    var rng = SeededRNG(seed: 42)
    var observations: [(node: Int, observation: any Observation)] = []
    var delivered: [[UInt32]] = []
    var timers: [(node: Int, key: TimerKey, at: Instant)] = []
    private var queue: [(to: Int, from: Int, message: Message)] = []
    let info: StreamInfo

    /// Time stands still while messages flow here, so every send of a burst would count as
    /// queued at once: tests of tree structure switch the upload-queue model off (its own
    /// tests turn it on).
    static var structural: TreeConfig {
        var config = TreeConfig()
        config.admissionBacklog = .seconds(3600)
        config.shedBacklog = .seconds(3600)
        return config
    }

    init(sourceID: NodeID, stripes: Int, sourceUpload: Double = 10_000, config: TreeConfig = TreeTestNet.structural) {
        let source = NodeRef(id: sourceID, address: PeerAddress(simulatedNode: 0))
        info = StreamInfo(streamID: NodeID(high: 0x5EED, low: 7), publicKey: ByteBuffer(repeating: 1, count: 32),
                          mode: .tree, modeParameter: UInt8(stripes), chunkMicros: 20_000, bitrateKbps: 64,
                          preSkip: 0, source: source)
        add(id: sourceID, upload: sourceUpload, config: config, isSource: true)
    }

    var topics: StripeTopics { apps[0].topics! }

    @discardableResult
    func add(id: NodeID, upload: Double, config: TreeConfig = TreeTestNet.structural, isSource: Bool = false) -> Int {
        let index = refs.count
        refs.append(NodeRef(id: id, address: PeerAddress(simulatedNode: index)))
        apps.append(SplitStream(uploadKbps: upload, config: config, info: info, isSource: isSource, modeledVerification: true))
        alive.append(true)
        delivered.append([])
        return index
    }

    /// A node id that shares exactly `digits` leading hex digits with `key`.
    static func id(near key: NodeID, sharing digits: Int, salt: UInt64) -> NodeID {
        var id = NodeID(high: key.high ^ (0x0123_4567_89AB_CDEF &* (salt + 1)), low: key.low ^ salt &+ 1)
        for d in 0..<digits { id = DigitBase.hex.replacing(id, digit: d, with: DigitBase.hex.digit(key, d)) }
        let next = DigitBase.hex.digit(key, digits)
        return DigitBase.hex.replacing(id, digit: digits, with: (next + 1 + Int(salt % 15)) % 16)
    }

    func node(_ address: PeerAddress) -> Int { address.simulatedIndex }

    /// Runs one upcall on node `n` and carries out what it asked for.
    func upcall(_ n: Int, _ body: (inout SplitStream, inout KBRContext) -> Void) {
        guard alive[n] else { return }
        var kbr = KBRContext(testingAs: refs[n], now: now, rng: rng.split(UInt64(n)))
        body(&apps[n], &kbr)
        apply(kbr.effects, from: n)
        for (key, payload) in kbr.routeRequests { route(key, payload, from: n) }
    }

    func apply(_ effects: Effects, from n: Int) {
        for effect in effects.items {
            switch effect {
            case .send(let message, let address): queue.append((node(address), n, message))
            case .setTimer(let key, let at):
                timers.removeAll { $0.node == n && $0.key == key }
                timers.append((n, key, at))
            case .cancelTimer(let key): timers.removeAll { $0.node == n && $0.key == key }
            case .deliver(let chunk): delivered[n].append(chunk.sequence)
            case .observe(let o): observations.append((n, o))
            }
        }
    }

    func closestLive(to key: NodeID) -> Int {
        var best = -1
        for n in refs.indices where alive[n] {
            if best < 0 || refs[n].id.isCloser(to: key, than: refs[best].id) { best = n }
        }
        return best
    }

    func nextHop(from n: Int, key: NodeID) -> Int? {
        let mine = DigitBase.hex.sharedPrefixLength(refs[n].id, key)
        var best: Int?
        var bestShared = Int.max
        for m in refs.indices where alive[m] && m != n {
            let shared = DigitBase.hex.sharedPrefixLength(refs[m].id, key)
            if shared > mine && (shared < bestShared || (shared == bestShared && refs[m].id < refs[best!].id)) {
                best = m
                bestShared = shared
            }
        }
        if let best { return best }
        let closest = closestLive(to: key)
        return closest == n ? nil : closest
    }

    func route(_ key: NodeID, _ payload: Message, from origin: Int) {
        var at = origin
        var previous: NodeRef?
        var payload = payload
        for hops in 0..<64 {
            let info = RouteInfo(key: key, origin: refs[origin], previousHop: previous, hops: hops)
            guard let next = nextHop(from: at, key: key) else {
                upcall(at) { app, kbr in app.deliver(payload, route: info, kbr: &kbr) }
                return
            }
            var decision = ForwardDecision.proceed
            upcall(at) { app, kbr in decision = app.forward(&payload, route: info, nextHop: refs[next], kbr: &kbr) }
            if decision == .stop { return }
            previous = refs[at]
            at = next
        }
    }

    /// Delivers queued messages until none are left.
    func drain() {
        while !queue.isEmpty {
            let (to, from, message) = queue.removeFirst()
            guard alive[to] else { continue }
            upcall(to) { app, kbr in app.receive(message, from: refs[from], kbr: &kbr) }
        }
    }

    func startAll() {
        for n in refs.indices {
            upcall(n) { app, kbr in app.command(.join(bootstrap: nil), kbr: &kbr) }
            upcall(n) { app, kbr in app.overlayReady(kbr: &kbr) }
            drain()
        }
    }

    /// Advances time, firing due timers in order, draining messages after each.
    func advance(by span: TimeSpan) {
        let end = now + span
        while let next = timers.filter({ $0.at <= end }).min(by: { $0.at < $1.at }) {
            timers.removeAll { $0.node == next.node && $0.key == next.key }
            now = max(now, next.at)
            upcall(next.node) { app, kbr in app.timer(next.key, kbr: &kbr) }
            drain()
        }
        now = end
    }

    func publish(sequence: UInt32) {
        let chunk = Chunk(streamID: info.streamID, sequence: sequence, generatedAt: now.micros,
                          payload: ByteBuffer(repeating: 0, count: 160), signature: ByteBuffer(repeating: 0, count: 64))
        upcall(0) { app, kbr in app.command(.publish(chunk), kbr: &kbr) }
        drain()
    }

    func crash(_ n: Int) {
        alive[n] = false
        timers.removeAll { $0.node == n }
    }

    func parent(of n: Int, stripe: Int) -> Int? {
        apps[n].trees[stripe].parent.map { node($0.address) }
    }
}
