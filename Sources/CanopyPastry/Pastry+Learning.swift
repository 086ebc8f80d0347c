import CanopyCore

/// How Pastry takes in and forgets nodes: every node it hears of is offered to the leaf
/// set, the routing table (proximity selection) and the neighbourhood set; a node declared
/// dead leaves all three and is refused for a while, and the holes it leaves are repaired.
extension Pastry {
    /// Takes note of `ref`. `direct` means it just spoke to us (so it is alive); otherwise
    /// it was named by someone else and is probed before it enters the leaf set. `compare`
    /// pings it when it competes with a table entry (row exchanges do; leaf-set gossip, which
    /// names the same nodes over and over, does not).
    mutating func learn(_ ref: NodeRef, direct: Bool, rtt: TimeSpan?, compare: Bool = false, now: Instant,
                        effects: inout Effects) {
        guard ref.id != local.id else { return }
        if direct {
            dead[ref.id] = nil
            tablePings[ref.id] = nil
            if leafSet.contains(ref.id) {
                leafHeard[ref.id] = now
                probes[ref.id] = nil
            }
        } else if isDead(ref.id, now: now) {
            return
        }
        if leafSet.wouldAccept(ref.id), !direct, isJoined {
            // Named by others: probed first and taken in once it answers, so a crashed node
            // that stale gossip still names never sits in the leaf set, even briefly. A
            // swamped node leaves it for later gossip: the probe would only lengthen its queue.
            if !isSwamped(now) { probe(ref, now: now, effects: &effects, force: true) }
        } else if leafSet.wouldAccept(ref.id) {
            var evicted: [NodeRef] = []
            leafSet.insert(ref, evicted: &evicted)
            outbox.updates.append((ref, true))
            for gone in evicted {
                leafHeard[gone.id] = nil
                probes[gone.id] = nil
                outbox.updates.append((gone, false))
            }
            // A member named by others (the root's leaf set, before we have joined) stays
            // unverified (not passed on) until it answers.
            if direct { leafHeard[ref.id] = now }
        }
        offerToTable(Neighbour(ref: ref, rtt: rtt), compare: compare, now: now, effects: &effects)
        // A node that just became one of our nearest knows other nodes near us: ask it.
        if let rtt, noteNeighbour(Neighbour(ref: ref, rtt: rtt)), isJoined {
            send(.neighbourRequest, to: ref.address, purpose: .maintenance, effects: &effects)
        }
    }

    /// Proximity neighbour selection: the slot keeps the nearer node; a candidate whose
    /// RTT is unknown is pinged (within the budget) so the pong can settle it.
    mutating func offerToTable(_ candidate: Neighbour, compare: Bool, now: Instant, effects: inout Effects) {
        switch table.offer(candidate) {
        case .inserted(let replaced):
            if candidate.rtt == nil {
                ping(candidate.ref, now: now, effects: &effects)
            } else if replaced != nil, pingTokens > 0 {
                // It proved nearer than the entry it displaced: its own row was chosen near
                // it, so it likely holds nearer candidates for the rest of ours (a greedy
                // descent that stops by itself once the row has settled). Its answer is
                // proximity-selection traffic on the other node's upload: it spends the
                // same budget as the pings.
                pingTokens -= 1
                let row = settings.base.sharedPrefixLength(local.id, candidate.ref.id)
                send(.rowRequest(row: UInt8(row)), to: candidate.ref.address, purpose: .maintenance, effects: &effects)
            }
        case .rejected(needsMeasurement: true):
            if compare { ping(candidate.ref, now: now, effects: &effects) }
        case .updated, .rejected(needsMeasurement: false):
            break
        }
    }

    mutating func ping(_ ref: NodeRef, now: Instant, effects: inout Effects) {
        guard isJoined, pingTokens > 0, !isSwamped(now) else { return }
        pingTokens -= 1
        _ = sendTimed(.ping(sentAt: 0), to: ref.address, purpose: .maintenance, now: now, effects: &effects)
    }

    /// Keeps the M nearest nodes by RTT (the smallest sample of each). True when `n` has
    /// just entered the nearest few, whose neighbourhoods are then worth asking for.
    @discardableResult
    mutating func noteNeighbour(_ n: Neighbour) -> Bool {
        guard var rtt = n.rtt else { return false }
        var wasNear = false
        if let known = neighbourhood.firstIndex(where: { $0.ref.id == n.ref.id }) {
            wasNear = known < Self.nearestFew
            rtt = min(rtt, neighbourhood.remove(at: known).rtt ?? rtt)
        }
        let index = neighbourhood.firstIndex { ($0.rtt ?? rtt) > rtt } ?? neighbourhood.count
        guard index < settings.neighbourhoodSize else { return false }
        neighbourhood.insert(Neighbour(ref: n.ref, rtt: rtt), at: index)
        if neighbourhood.count > settings.neighbourhoodSize { neighbourhood.removeLast() }
        return index < Self.nearestFew && !wasNear
    }

    /// How many of the nearest nodes maintenance draws on most.
    static let nearestFew = 4

    /// A sampled RTT from a message echoing our own send time; nil if the echo is not
    /// plausible (from the future, or older than a minute).
    func rttSample(echo: Int64, now: Instant) -> TimeSpan? {
        let rtt = now.micros - echo
        return rtt >= 0 && rtt <= 60_000_000 ? TimeSpan(micros: max(rtt, 1)) : nil
    }

    /// Removes a dead (or departed) node everywhere, repairs what it leaves, and re-routes
    /// what was waiting on it.
    mutating func declareDead(_ id: NodeID, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard id != local.id else { return }
        remember(deadID: id, now: now)
        var known: NodeRef?
        if let member = leafSet.member(id) {
            known = member
            leafSet.remove(id)
            leafHeard[id] = nil
            repairLeafSet(now: now, effects: &effects)
        }
        probes[id] = nil
        tablePings[id] = nil
        if let entry = table.neighbour(id), let slot = table.remove(id) {
            known = known ?? entry.ref
            repairTable(row: slot.row, rng: &rng, effects: &effects)
        }
        neighbourhood.removeAll { $0.ref.id == id }
        if let known { outbox.updates.append((known, false)) }
        for seq in pending.keys.sorted() where pending[seq]!.nextHop == id {
            let waiting = pending.removeValue(forKey: seq)!
            effects.cancelTimer(TimerKey(kind: PastryTimers.ackTimeout, argument: UInt64(seq)))
            reroute(waiting)
        }
    }

    mutating func reroute(_ waiting: PendingRoute) {
        guard waiting.retries < settings.maxRetries else { return }
        outbox.reroutes.append((waiting.envelope, waiting.previousHop, waiting.retries + 1))
    }

    private mutating func remember(deadID id: NodeID, now: Instant) {
        if dead.count >= settings.maxDeadRemembered { dead = dead.filter { $0.value > now } }
        if dead.count >= settings.maxDeadRemembered,
           let oldest = dead.min(by: { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }) {
            dead[oldest.key] = nil
        }
        dead[id] = now + settings.deadMemory
    }

    /// Asks the farthest live member of each side for its leaf set: its view reaches past
    /// ours, so its answer fills the hole.
    mutating func repairLeafSet(now: Instant, effects: inout Effects) {
        let ends = [leafSet.left.last, leafSet.right.last].compactMap { $0 }
        for end in ends { probe(end, now: now, effects: &effects, force: true) }
        if ends.isEmpty, let someone = table.entries.first ?? neighbourhood.first {
            probe(someone.ref, now: now, effects: &effects, force: true)
        }
    }

    /// Lazy table repair: ask another node of the same row (or the next row) for its row,
    /// whose entries for the empty slot share our prefix just as well.
    mutating func repairTable(row: Int, rng: inout SeededRNG, effects: inout Effects) {
        for r in [row, row + 1] where r < table.rowCount {
            let others = table.row(r)
            guard !others.isEmpty else { continue }
            let pick = others[Int(rng.next() % UInt64(others.count))]
            send(.rowRequest(row: UInt8(row)), to: pick.ref.address, purpose: .maintenance, effects: &effects)
            return
        }
    }
}
