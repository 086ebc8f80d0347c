import CanopyCore

/// Joining and leaving. A joiner routes a `join` toward its own id through any bootstrap;
/// every node on the way sends it the table rows it shares with it, the root (numerically
/// closest) its leaf set. The joiner then probes its new leaf set, which announces it:
/// each member takes it in and answers with its own leaf set.
extension Pastry {
    mutating func join(bootstrap: PeerAddress?, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !isJoined else { return }
        guard let bootstrap else {
            becomeReady(now: now, rng: &rng, effects: &effects)
            return
        }
        self.bootstrap = bootstrap
        sendJoin(now: now, effects: &effects)
    }

    mutating func sendJoin(now: Instant, effects: inout Effects) {
        guard let bootstrap, !isJoined else { return }
        // Every other retry goes through a node met on an earlier attempt's path instead:
        // the bootstrap itself may be the node that failed.
        let met = table.entries.map(\.ref.address)
        let via = joinAttempts % 2 == 1 && !met.isEmpty ? met[(joinAttempts / 2) % met.count] : bootstrap
        joinAttempts += 1
        let envelope = RouteEnvelope(seq: 0, key: local.id, origin: local, hops: 0, payload: .pastry(.join))
        send(.route(envelope), to: via, purpose: .join, effects: &effects)
        effects.setTimer(TimerKey(kind: PastryTimers.joinRetry), at: now + settings.joinRetry)
    }

    /// At a node on the join's path: the rows the joiner can use, from just past what the
    /// previous hop could give it up to the prefix we share with it.
    /// A swamped node leaves this to the path's other hops and the joiner's table upkeep.
    mutating func contributeRows(joiner: NodeRef, previousHop: NodeRef?, effects: inout Effects) {
        guard joiner.id != local.id, !isSwamped(clock) else { return }
        let base = settings.base
        let shared = base.sharedPrefixLength(local.id, joiner.id)
        var first = 0
        if let previousHop, previousHop.id != joiner.id {
            first = min(base.sharedPrefixLength(previousHop.id, joiner.id) + 1, shared)
        }
        for row in first...shared where row < table.rowCount {
            let entries = table.row(row).map(\.ref)
            guard !entries.isEmpty else { continue }
            send(.rowReply(row: UInt8(row), entries: entries), to: joiner.address, purpose: .join, effects: &effects)
        }
    }

    /// At the root of a join: hand over the leaf set.
    mutating func answerJoin(joiner: NodeRef, effects: inout Effects) {
        guard joiner.id != local.id else { return }
        send(.joinReply(leafSet: verifiedLeaves), to: joiner.address, purpose: .join, effects: &effects)
    }

    mutating func joinReplied(from root: NodeRef, leafSet members: [NodeRef], now: Instant, rng: inout SeededRNG,
                              effects: inout Effects) {
        guard !isJoined else { return }
        learn(root, direct: true, rtt: nil, now: now, effects: &effects)
        for ref in members { learn(ref, direct: false, rtt: nil, now: now, effects: &effects) }
        effects.cancelTimer(TimerKey(kind: PastryTimers.joinRetry))
        becomeReady(now: now, rng: &rng, effects: &effects)
    }

    /// Joined: announce ourselves to the leaf set, measure the table, start upkeep.
    mutating func becomeReady(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        isJoined = true
        outbox.becameReady = true
        effects.observe(OverlayJoined(node: local))
        for member in leafSet.members {
            probes[member.id] = nil
            probe(member, now: now, effects: &effects, force: true, purpose: .join)
        }
        measureUnknown(now: now, effects: &effects)
        effects.setTimer(TimerKey(kind: PastryTimers.leafTick), at: now + jittered(settings.leafProbePeriod, rng: &rng))
        // The first table refresh comes soon, once the pings above have answered: the rows a
        // joiner got on the join path were chosen near other nodes, not near it.
        effects.setTimer(TimerKey(kind: PastryTimers.tableTick),
                         at: now + jittered(min(settings.tableMaintenancePeriod, warmUpInterval), rng: &rng))
    }

    /// Says goodbye to everyone in our state, handing over our leaf set so they repair at once.
    mutating func leave(effects: inout Effects) {
        guard isJoined, !hasLeft else {
            hasLeft = true
            return
        }
        let members = verifiedLeaves
        var told = Set<NodeID>()
        for ref in members + table.entries.map(\.ref) where told.insert(ref.id).inserted {
            send(.leave(leafSet: members), to: ref.address, purpose: .maintenance, effects: &effects)
        }
        for kind in [PastryTimers.leafTick, PastryTimers.tableTick, PastryTimers.probeCheck] {
            effects.cancelTimer(TimerKey(kind: kind))
        }
        for seq in pending.keys.sorted() {
            effects.cancelTimer(TimerKey(kind: PastryTimers.ackTimeout, argument: UInt64(seq)))
        }
        pending.removeAll()
        hasLeft = true
    }
}
