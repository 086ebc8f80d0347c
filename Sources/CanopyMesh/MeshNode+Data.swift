import CanopyCore
import CanopyStream

/// The data path: receiving, verifying and delivering chunks, serving partners within our
/// upload capacity, the source's push, and Chainsaw's HAVE notices.
extension MeshNode {
    mutating func receiveChunk(_ chunk: Chunk, from: PeerAddress, now: Instant,
                               rng: inout SeededRNG, effects: inout Effects) {
        guard let authenticator else { return }
        guard authenticator.verify(chunk) else {
            let reason: ChunkRejected.Reason = chunk.streamID == authenticator.streamID ? .badSignature : .wrongStream
            effects.observe(ChunkRejected(reason: reason, sequence: chunk.sequence))
            return
        }
        let sequence = chunk.sequence
        let supplier = partnerIndex(from)
        if let supplier {
            heard(sequence, from: supplier, now: now)
            partners[supplier].holdings.slide(inserting: sequence, capacity: holdingsCapacity)
            partners[supplier].receivedBytes += chunk.payload.readableBytes
        }
        let requested = requests[sequence]?.partner == from
        if let request = requests[sequence], request.partner == from {
            requests[sequence] = nil
            if let supplier { partners[supplier].outstanding -= 1 }
        }
        guard delivered.insert(sequence) else {
            effects.observe(DuplicateChunk(sequence: sequence))
            return
        }
        hold(chunk, now: now)
        if config.overdueRescue, let seconds = age(of: sequence, now: now) {
            arrivalAge = averaged(arrivalAge, with: max(0, seconds), over: Self.ageMemory)
        }
        if let supplier {
            level = averaged(level, with: partners[supplier].level + 1, over: Self.levelMemory)
        }
        if requested { pulled(sequence, now: now, effects: &effects) }
        effects.deliver(chunk)
        if let supplier, !requested, isRescue(sequence, from: supplier, now: now) {
            spreadRescued(chunk, except: from, now: now, effects: &effects)
        }
        pushToSubscribers(sequence, except: from, now: now, effects: &effects)
        switch scheduler {
        case .chainsaw: announce(sequence, now: now, effects: &effects)
        case .donet: sendStatus(now: now, effects: &effects)
        }
    }

    /// True if an unasked chunk from the source is one it pushed again (`reseedUnconfirmed`):
    /// not pushed for a subscription, and older than a first push is when it lands.
    private func isRescue(_ sequence: UInt32, from i: Int, now: Instant) -> Bool {
        guard partners[i].ref.id == info?.source.id else { return false }
        if pushers[Self.substream(of: sequence)] == partners[i].address && awaitsPush(sequence) { return false }
        return (age(of: sequence, now: now) ?? 0) > Seeding.margin.seconds
    }

    /// The source pushed this chunk again because no live partner it had sent it to could
    /// be heard holding it: the few it reaches now may be the only ones alive to hold it.
    /// They pass it straight on, ahead of their queues, to the partners heard from most
    /// lately that forward and lack it. Left to the pull, its requests waited behind every
    /// fresher chunk: on scenarios/mesh-donet-massfail.json (seed 10) the chunk made 0.6 s
    /// after the crash reached 2 survivors by 41.1 s and the next ones only 1.2 s later,
    /// and 445 of the 499 survivors played it late.
    private mutating func spreadRescued(_ chunk: Chunk, except: PeerAddress, now: Instant, effects: inout Effects) {
        guard upload.canUpload else { return }
        let takers = partners.indices.filter {
            partners[$0].address != except && partners[$0].spareKbps > 0 && !partners[$0].holdings.contains(chunk.sequence)
                && partners[$0].heardLately(now: now, within: dataSilence)
        }
        for i in takers.sorted(by: { partners[$0].lastHeard > partners[$1].lastHeard }).prefix(Self.rescueFanout) {
            send(dataMessage(chunk, now: now), to: partners[i].address, now: now, effects: &effects)
            partners[i].holdings.slide(inserting: chunk.sequence, capacity: holdingsCapacity)
            counters.served += 1
            counters.rescueSpreads += 1
        }
    }

    /// Partners a receiver of the source's second push passes the chunk on to.
    static let rescueFanout = 4

    /// How much of the stream our level averages over. In time, not chunks, so the smoothing
    /// does not depend on the chunk duration: 10 chunks are 2 s of stream at 200 ms but only
    /// 0.2 s at the demo's 20 ms, where the level would swing with every late copy and
    /// pushers would be dropped and re-chosen all the time.
    static let levelMemory: TimeSpan = .seconds(2)

    /// How much of the stream `arrivalAge` averages over.
    static let ageMemory: TimeSpan = .seconds(4)

    /// A moving average over `memory` of stream, taking one chunk's `sample`: each chunk
    /// weighs its duration's share of the memory (the first sample starts the average).
    private func averaged(_ average: Double?, with sample: Double, over memory: TimeSpan) -> Double {
        let weight = min(1, chunkDuration.seconds / memory.seconds)
        return average.map { (1 - weight) * $0 + weight * sample } ?? sample
    }

    /// Keeps a verified chunk for partners.
    private mutating func hold(_ chunk: Chunk, now: Instant) {
        store.put(chunk)
        if config.substreamPush, firstHeard[chunk.sequence] == nil { firstHeard[chunk.sequence] = now }
        learnTiming(chunk, now: now)
        mapCache = nil
        if chunk.sequence > newestHeld ?? 0 || newestHeld == nil { newestHeld = chunk.sequence }
        noteAvailable(chunk.sequence, now: now)
    }

    /// Accepts what we hold and can send within `maxQueue`, counting only the queued work
    /// that goes before it; refuses the rest in one message so the asker goes elsewhere at
    /// once. Only partners are served, in two classes. Partners that can upload come first,
    /// newest chunk first: their copies are passed on, so a fresh chunk (few holders yet)
    /// spreads in fewer rounds. Partners that cannot upload come after, oldest chunk first
    /// (nearest its playout deadline): they only consume, and by then a chunk is common.
    /// Work pushed back past the asker's patience is refused later (`dropStaleServes`).
    /// A chunk `pushed` to a subscriber that cannot be queued ends that substream's
    /// subscription (the refusal tells the subscriber to pull it again).
    mutating func serve(_ sequences: [UInt32], to address: PeerAddress, pushed: Bool = false,
                        now: Instant, effects: inout Effects) {
        var refused: [UInt32] = []
        let chunkBytes = Int(chunkBits / 8)
        if let asker = partnerIndex(address) {
            let forwards = partners[asker].spareKbps > 0
            for sequence in sequences {
                let entry = QueuedServe(address: address, sequence: sequence, forwards: forwards, pushed: pushed, acceptedAt: now)
                let at = serveQueue.firstIndex { entry.precedes($0) } ?? serveQueue.endIndex
                guard store.holds(sequence),
                      upload.canServe(bytes: chunkBytes, waiting: at * chunkBytes, now: now, maxQueue: config.maxQueue) else {
                    refused.append(sequence)
                    continue
                }
                serveQueue.insert(entry, at: at)
            }
        } else {
            refused = sequences
        }
        counters.refusedByUs += refused.count
        if pushed, let i = partnerIndex(address) {
            for sequence in refused { partners[i].pushMask &= ~Self.bit(of: sequence) }
        }
        if !refused.isEmpty { send(.mesh(.refuse(refused)), to: address, now: now, effects: &effects) }
        pumpUploads(now: now, effects: &effects)
    }

    /// Hands queued data to the driver while the link is nearly idle; wakes up when it will be.
    mutating func pumpUploads(now: Instant, effects: inout Effects) {
        dropStaleServes(now: now, effects: &effects)
        while !serveQueue.isEmpty, upload.backlog(now: now) <= Self.uploadSlack {
            let pick = overdueServe(now: now)
            lastServeOverdue = pick != nil
            let next = serveQueue.remove(at: pick ?? 0)
            let (address, sequence) = (next.address, next.sequence)
            guard let i = partnerIndex(address), !partners[i].holdings.contains(sequence),
                  partners[i].heardLately(now: now, within: dataSilence),
                  !next.pushed || partners[i].pushMask & Self.bit(of: sequence) != 0,
                  let chunk = store.chunk(sequence) else { continue }
            send(dataMessage(chunk, now: now), to: address, now: now, effects: &effects)
            counters.served += 1
            if pick != nil { counters.overdueServed += 1 }
        }
        guard !serveQueue.isEmpty else { return }
        let wake = now + upload.backlog(now: now) - Self.uploadSlack
        if uploadTimerAt == nil || wake < uploadTimerAt! {
            uploadTimerAt = wake
            effects.setTimer(Self.uploadTimer, at: wake)
        }
    }

    /// Where in the serve queue the request for the oldest overdue chunk sits, if one may
    /// leave ahead of the queue's order. Overdue: older, by our estimate of its generation
    /// time, than twice the deadline (`MeshConfig.deadline`) and than the age at which our
    /// own chunks reach us plus the deadline. Such a chunk kept missing its suppliers (each
    /// refusal or timeout costs the asker most of a second), and in the queue's order (fresh
    /// chunks first) it would wait until the playout passed it. It never goes twice in a
    /// row, nor ahead of a chunk still spreading (one younger than our chunks usually are
    /// when they reach us), so those keep the link; and a chunk more than one deadline past
    /// overdue is past saving and keeps its place.
    ///
    /// Measured on scenarios/mesh-{chainsaw,donet}-1k.json: continuity at 5 s 0.99602 →
    /// 0.99834 and 0.99477 → 0.99837 (seed 8), 0.99806 → 0.99929 and 0.99897 → 0.99980
    /// (seed 7); nodes without a gap at 5 s 0.730 → 0.858 and 0.299 → 0.723 (seed 8), 0.832 →
    /// 0.925 and 0.861 → 0.959 (seed 7). On scenarios/mesh-donet-10k.json (seed 8) the
    /// spreading guard matters: chunks there usually arrive 3.3 s after they are made, so
    /// with twice the deadline alone most requests were overdue, the fresh chunks fell late
    /// in turn and continuity went from 0.9800 to 0.9613 (0.9715 with the age guard, 0.9801
    /// with both). The upper bound matters with `MeshConfig`'s defaults (an 8 s window):
    /// without it, on `canopy bench push-vs-pull --churn mass`, DONet and Chainsaw played
    /// 0.9965 and 0.9966 at 5 s, with it 0.9974 and 0.9985 (0.9972 and 0.9971 with the rule
    /// off). Off unless `MeshConfig.overdueRescue` is set.
    private func overdueServe(now: Instant) -> Int? {
        guard config.overdueRescue, !lastServeOverdue, let usual = arrivalAge ?? (isSource ? 0 : nil) else { return nil }
        if serveQueue[0].pushed || (age(of: serveQueue[0].sequence, now: now) ?? 0) < usual { return nil }
        let overdue = max(2 * config.deadline.seconds, usual + config.deadline.seconds)
        var oldest: (index: Int, age: Double)?
        for k in serveQueue.indices where !serveQueue[k].pushed {
            guard let a = age(of: serveQueue[k].sequence, now: now), a <= overdue + config.deadline.seconds else { continue }
            if a > oldest?.age ?? overdue { oldest = (k, a) }
        }
        return oldest?.index
    }

    /// Seconds since `sequence` was generated, by our estimate (nil before our first chunk).
    private func age(of sequence: UInt32, now: Instant) -> Double? {
        generated(sequence).map { (now - $0).seconds }
    }

    /// How long an accepted request may wait in the serve queue: the asker's timeout less
    /// the time a chunk takes to leave and cross the network, so what we do send lands
    /// before the asker gives up (a fixed 3/4 of a 1 s timeout made 1.4% duplicates).
    var staleServe: TimeSpan {
        max(config.requestTimeout / 2, config.requestTimeout - Self.deliveryMargin)
    }

    /// Transmission of one chunk at a slow uplink plus a long one-way delay.
    static let deliveryMargin: TimeSpan = .seconds(0.4)

    /// Refuses what cannot leave before most of the asker's request timeout has passed —
    /// the time it waited plus what is queued ahead of it — as soon as that is known: the
    /// asker would give up on it anyway, and sending it then would only make a duplicate.
    /// The refusal lets it re-route at once. (Refusing only once the wait had passed cost
    /// each such chunk over half a second: on scenarios/mesh-{donet,chainsaw}-1k.json,
    /// continuity at 5 s 0.9944 → 0.9967 and 0.9928 → 0.9974.)
    private mutating func dropStaleServes(now: Instant, effects: inout Effects) {
        let limit = staleServe
        let chunkBytes = Int(chunkBits / 8)
        // Nothing before the first doomed entry is dropped, so until then its index is its place.
        guard serveQueue.indices.contains(where: { k in
            now - serveQueue[k].acceptedAt + upload.backlog(now: now, waiting: k * chunkBytes) > limit
        }) else { return }
        var kept: [QueuedServe] = []
        var stale: [(address: PeerAddress, sequences: [UInt32])] = []
        for queued in serveQueue {
            // What is kept goes before this entry: its wait is that plus the link's backlog.
            let leavesAfter = now - queued.acceptedAt + upload.backlog(now: now, waiting: kept.count * chunkBytes)
            guard leavesAfter > limit else { kept.append(queued); continue }
            if let i = stale.firstIndex(where: { $0.address == queued.address }) {
                stale[i].sequences.append(queued.sequence)
            } else {
                stale.append((queued.address, [queued.sequence]))
            }
        }
        serveQueue = kept
        for (address, sequences) in stale where partnerIndex(address) != nil {
            counters.refusedByUs += sequences.count
            send(.mesh(.refuse(Array(sequences.prefix(MeshMessage.maxSequences)))), to: address, now: now, effects: &effects)
        }
    }

    /// A supplier could not serve these: ask someone else now, and trust it a little less.
    mutating func refused(_ sequences: [UInt32], by address: PeerAddress, now: Instant,
                          rng: inout SeededRNG, effects: inout Effects) {
        let supplier = partnerIndex(address)
        for sequence in sequences {
            guard var request = requests[sequence], request.partner == address else { continue }
            request.partner = nil
            request.avoid = address
            requests[sequence] = request
            if let supplier { partners[supplier].outstanding -= 1 }
            counters.refusedToUs += 1
        }
        if let supplier { partners[supplier].spareKbps = max(1, partners[supplier].spareKbps / 2) }
        pusherRefused(sequences, by: address, now: now, effects: &effects)
        runScheduler(now: now, rng: &rng, effects: &effects)
    }

    /// The source: keep the chunk, push it to a few partners (those that can forward it
    /// first, in rotation so the load spreads), and let the others learn of it. A push
    /// that would still wait for the link when the next chunk comes is not sent: the
    /// source's link would fall ever further behind the stream, and a driver that paces
    /// the real link drops what waits too long (on loopback, 12% of a 256 kbit/s source's
    /// datagrams when pushes could wait `maxQueue`).
    mutating func publish(_ chunk: Chunk, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard delivered.insert(chunk.sequence) else { return }
        hold(chunk, now: now)
        guard !partners.isEmpty else { return }
        let count = partners.count
        let rotated = (0..<count).map { (pushCursor + $0) % count }
        pushCursor = (pushCursor + 1) % count
        let live = rotated.filter { partners[$0].heardLately(now: now, within: dataSilence) }
        let receivers = seed(chunk, among: live, now: now, effects: &effects)
        pushToSubscribers(chunk.sequence, except: nil, now: now, effects: &effects)
        if scheduler == .chainsaw { announce(chunk.sequence, now: now, effects: &effects) }
        seeding.append(Seeding(sequence: chunk.sequence, madeAt: now, at: now, receivers: receivers))
        reseedUnconfirmed(now: now, effects: &effects)
    }

    /// The source's push of `chunk` to `MeshConfig.sourcePush` of `candidates` (partner
    /// indices), those that can forward it first; returns those it was sent to.
    private mutating func seed(_ chunk: Chunk, among candidates: [Int], now: Instant, effects: inout Effects) -> [PeerAddress] {
        let order = candidates.filter { partners[$0].spareKbps > 0 } + candidates.filter { partners[$0].spareKbps == 0 }
        var receivers: [PeerAddress] = []
        for i in order.prefix(config.sourcePush) {
            let message = dataMessage(chunk, now: now)
            guard upload.canServe(bytes: UploadBudget.wireBytes(message), now: now, maxQueue: chunkDuration) else { break }
            send(message, to: partners[i].address, now: now, effects: &effects)
            partners[i].holdings.slide(inserting: chunk.sequence, capacity: holdingsCapacity)
            receivers.append(partners[i].address)
        }
        return receivers
    }

    /// The source: a chunk that no live partner is known to hold, a second after it was
    /// pushed (or sooner, once every partner it went to has gone silent), is pushed again to
    /// partners heard from since. Partners tell the source their maps with every keep-alive,
    /// so a live holder shows up in time; when none does, the pushes went to partners that
    /// crashed after they last spoke (or before they passed the chunk on), and the chunk
    /// exists nowhere else. Watched for `seedWatch`, pushed again at most `reseeds` times (a
    /// push that reached nobody is not counted).
    /// On scenarios/mesh-donet-massfail.json (seed 10) the chunk made 0.8 s after half the
    /// nodes crashed went only to crashed partners: without this 8.6% of the survivors
    /// played without a gap, with it 70.5%. In the steady 1k scenarios it never fires.
    private mutating func reseedUnconfirmed(now: Instant, effects: inout Effects) {
        let wait = Self.sourceKeepalive * 2
        seeding.removeAll { now - $0.madeAt > Self.seedWatch }
        var done: [Int] = []
        for k in seeding.indices {
            let pending = seeding[k]
            guard now - pending.at >= wait || receiversSilent(pending, now: now),
                  !partners.contains(where: { pending.confirmed(by: $0, now: now, live: wait) }) else { continue }
            guard pending.tries < Self.reseeds, let chunk = store.chunk(pending.sequence) else {
                done.append(k)
                continue
            }
            let alive = partners.indices.filter { partners[$0].lastHeard > pending.at }
            let receivers = seed(chunk, among: alive, now: now, effects: &effects)
            // Nobody heard since, or the link too busy: not a try; again at the next chunk.
            guard !receivers.isEmpty else { continue }
            counters.reseeded += 1
            seeding[k].receivers = receivers
            seeding[k].at = now
            seeding[k].tries += 1
        }
        for k in done.reversed() { seeding.remove(at: k) }
    }

    /// Pushes of one chunk the source repeats at most.
    static let reseeds = 2

    /// True when every partner the chunk last went to has been silent for longer than its
    /// keep-alives allow (`Seeding.silence`) or is gone, or when it went to none (no
    /// partner looked alive, or the link was too busy for a push): no need to wait out the
    /// confirmation. The last case matters: on scenarios/mesh-{donet,chainsaw}-massfail.json
    /// (seed 10), waiting the full second for chunks pushed to nobody left 23.0% and 6.0% of
    /// the survivors without a gap, against 70.5% and 84.4%.
    private func receiversSilent(_ pending: Seeding, now: Instant) -> Bool {
        pending.receivers.allSatisfy { address in
            partnerIndex(address).map { now - partners[$0].lastHeard > Seeding.silence } ?? true
        }
    }

    /// How long the source watches a new chunk for a live holder: a chunk pushed again
    /// later could not spread in time for a playout a few seconds behind.
    static let seedWatch: TimeSpan = .seconds(2.5)

    /// Chainsaw: queue a HAVE for a new chunk; send when the batch is full or one chunk
    /// duration later. A node that cannot upload announces nothing: nobody could use it.
    private mutating func announce(_ sequence: UInt32, now: Instant, effects: inout Effects) {
        guard upload.canUpload else { return }
        pendingHaves.append(sequence)
        if pendingHaves.count >= config.haveBatch {
            flushHaves(now: now, effects: &effects)
        } else if !haveTimerSet {
            haveTimerSet = true
            effects.setTimer(Self.haveTimer, at: now + chunkDuration)
        }
    }

    /// Sends each partner the batched HAVEs for the chunks it is not known to hold and will
    /// not get from us by push anyway.
    mutating func flushHaves(now: Instant, effects: inout Effects) {
        guard !pendingHaves.isEmpty else { return }
        if haveTimerSet {
            haveTimerSet = false
            effects.cancelTimer(Self.haveTimer)
        }
        let batch = pendingHaves
        pendingHaves.removeAll(keepingCapacity: true)
        let spare = spareKbps(now: now)
        for partner in partners {
            let news = batch.filter { !partner.holdings.contains($0) && (partner.pushMask & Self.bit(of: $0) == 0 || $0 < partner.pushFrom[Self.substream(of: $0)]) }
            if news.isEmpty { continue }
            send(.mesh(.have(spareKbps: spare, level: advertisedLevel, sequences: Array(news.prefix(MeshMessage.maxSequences)))),
                 to: partner.address, now: now, effects: &effects)
        }
    }
}
