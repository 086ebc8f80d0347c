import CanopyCore

/// Leaf-set liveness probing and periodic routing-table maintenance.
extension Pastry {
    /// Sends our leaf set to `ref` and waits for an answer; no answer within `probeTimeout`
    /// (counted from when the probe leaves our upload queue) twice in a row means it is dead.
    /// `force` probes even a member heard from lately and always carries our leaf set (a
    /// join or a repair wants an exchange); a routine probe carries it only when it is news.
    mutating func probe(_ ref: NodeRef, now: Instant, effects: inout Effects, force: Bool = false,
                        purpose: Purpose = .maintenance) {
        guard probes[ref.id] == nil else { return }
        if !force, let heard = leafHeard[ref.id], now - heard < settings.probeTimeout { return }
        let members = leaves(for: ref.id, exchange: force)
        let departs = sendTimed(.leafProbe(sentAt: 0, leafSet: members), to: ref.address, purpose: purpose, now: now,
                                effects: &effects)
        probes[ref.id] = PendingProbe(ref: ref, sentAt: departs, attempts: 1)
        scheduleProbeCheck(at: departs + settings.probeTimeout, effects: &effects)
    }

    private mutating func scheduleProbeCheck(at time: Instant, effects: inout Effects) {
        if let pendingAt = probeCheckAt, pendingAt <= time { return }
        probeCheckAt = time
        effects.setTimer(TimerKey(kind: PastryTimers.probeCheck), at: time)
    }

    /// Retries probes that went unanswered once, declares dead those unanswered twice.
    mutating func checkProbes(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        probeCheckAt = nil
        checkTablePings(now: now, rng: &rng, effects: &effects)
        for id in probes.keys.sorted() {
            guard let p = probes[id], now - p.sentAt >= settings.probeTimeout else { continue }
            if p.attempts < 2 {
                // A retry carries the leaf set: the first one may be what went missing.
                let departs = sendTimed(.leafProbe(sentAt: 0, leafSet: leaves(for: id, exchange: true)),
                                        to: p.ref.address, purpose: .maintenance, now: now, effects: &effects)
                probes[id] = PendingProbe(ref: p.ref, sentAt: departs, attempts: p.attempts + 1)
            } else {
                declareDead(id, now: now, rng: &rng, effects: &effects)
            }
        }
        if let earliest = (probes.values.map(\.sentAt) + tablePings.values.map(\.sentAt)).min() {
            scheduleProbeCheck(at: earliest + settings.probeTimeout, effects: &effects)
        }
    }

    /// Probes every leaf-set member not heard from during the last period.
    mutating func leafTick(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        for member in leafSet.members {
            let heard = leafHeard[member.id] ?? .zero
            if now - heard >= settings.leafProbePeriod { probe(member, now: now, effects: &effects) }
        }
        dead = dead.filter { $0.value > now }
        effects.setTimer(TimerKey(kind: PastryTimers.leafTick), at: now + jittered(settings.leafProbePeriod, rng: &rng))
    }

    /// Asks, for each routing-table row r, the nearest nodes we know that share r digits
    /// with us (and one more at random, so the sources vary) for their row r: a row was
    /// chosen near its owner, so near owners hand us near candidates, and each pass moves
    /// every slot toward its nearest candidate. Rows with many candidates per slot (a row
    /// two further down is in use) ask more nodes, since they have most to gain. The
    /// nearest two neighbours are asked for their neighbourhood sets. Once the table has
    /// settled (`isWarmingUp`), also pings every entry: for liveness, and to refresh its RTT.
    mutating func tableTick(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        pingTokens = settings.pingBudget
        for row in 0..<table.rowCount {
            let pool = nearestSharing(digits: row)
            let nearest = table.row(row + 2).isEmpty ? 1 : Self.nearestFew
            var asked = Array(pool.prefix(nearest))
            if pool.count > nearest { asked.append(pool[nearest + Int(rng.next() % UInt64(pool.count - nearest))]) }
            if asked.isEmpty, let any = table.row(row).first { asked.append(any.ref) }
            for ref in asked {
                send(.rowRequest(row: UInt8(row)), to: ref.address, purpose: .maintenance, effects: &effects)
            }
        }
        for n in neighbourhood.prefix(2) {
            send(.neighbourRequest, to: n.ref.address, purpose: .maintenance, effects: &effects)
        }
        // The neighbourhood too: it is handed to others, so a crashed member must not linger.
        if !isWarmingUp {
            for entry in table.entries + neighbourhood where tablePings[entry.ref.id] == nil {
                sendTablePing(entry.ref, attempts: 1, now: now, effects: &effects)
            }
        }
        // A young table is refreshed often (3 s, doubling) so proximity selection converges
        // soon after the join; then at the settled period.
        tableTicks += 1
        effects.setTimer(TimerKey(kind: PastryTimers.tableTick),
                         at: now + jittered(min(settings.tableMaintenancePeriod, warmUpInterval), rng: &rng))
    }

    /// The measured table and neighbourhood nodes sharing at least `digits` leading digits
    /// with us, nearest first.
    func nearestSharing(digits: Int) -> [NodeRef] {
        var pool: [(ref: NodeRef, rtt: TimeSpan)] = []
        for n in table.entries + neighbourhood {
            guard let rtt = n.rtt, settings.base.sharedPrefixLength(local.id, n.ref.id) >= digits,
                  !pool.contains(where: { $0.ref.id == n.ref.id }) else { continue }
            pool.append((n.ref, rtt))
        }
        pool.sort { $0.rtt != $1.rtt ? $0.rtt < $1.rtt : $0.ref.id < $1.ref.id }
        return pool.map(\.ref)
    }

    /// This tick came sooner than the settled period: the table is young, and its refresh is
    /// for proximity, not liveness. Its entries were measured when they came in, within the
    /// last few warm-up periods, and a dead hop is still found when a route through it goes
    /// unacknowledged. Pinging every entry on each warm-up tick too (3 s after the join,
    /// then 6, 12, 24 s apart…) aimed the pings of every joiner at the nodes that are in many tables
    /// — those near many others — while the audience joined: on scenarios/tree-1k.json
    /// (seed 13), 352 kbit/s forwarders sent 24–32 kbit/s of pongs in the stream's first
    /// seconds, on top of a full share of children, and their queues delayed whole subtrees.
    var isWarmingUp: Bool { warmUpInterval < settings.tableMaintenancePeriod }

    /// How long after the last table tick (or the join) the next one comes while the table
    /// is young: 3 s, doubling with each tick.
    var warmUpInterval: TimeSpan { .seconds(3) * Int64(1 << min(tableTicks, 16)) }

    /// A liveness ping to a table entry (outside the proximity budget: it keeps routing
    /// off dead hops); its pong also refreshes the entry's RTT.
    private mutating func sendTablePing(_ ref: NodeRef, attempts: Int, now: Instant, effects: inout Effects) {
        let departs = sendTimed(.ping(sentAt: 0), to: ref.address, purpose: .maintenance, now: now, effects: &effects)
        tablePings[ref.id] = PendingProbe(ref: ref, sentAt: departs, attempts: attempts)
        scheduleProbeCheck(at: departs + settings.probeTimeout, effects: &effects)
    }

    /// Table and neighbourhood entries unanswered once are pinged again; twice, dropped (and
    /// a table slot repaired). Only dropped: a node merely slow to answer (a busy upload link)
    /// is not declared dead to the application; a hop that really fails still is.
    private mutating func checkTablePings(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        for id in tablePings.keys.sorted() {
            guard let p = tablePings[id], now - p.sentAt >= settings.probeTimeout else { continue }
            if !table.contains(id) && !neighbourhood.contains(where: { $0.ref.id == id }) {
                tablePings[id] = nil
            } else if p.attempts < 2 {
                sendTablePing(p.ref, attempts: p.attempts + 1, now: now, effects: &effects)
            } else {
                tablePings[id] = nil
                neighbourhood.removeAll { $0.ref.id == id }
                if let slot = table.remove(id) { repairTable(row: slot.row, rng: &rng, effects: &effects) }
            }
        }
    }

    /// Pings table entries whose RTT is unknown (within the budget).
    mutating func measureUnknown(now: Instant, effects: inout Effects) {
        for entry in table.entries where entry.rtt == nil {
            guard pingTokens > 0 else { return }
            ping(entry.ref, now: now, effects: &effects)
        }
    }

    /// A period scaled by a random factor in [0.75, 1.25), so nodes do not fall into step.
    func jittered(_ period: TimeSpan, rng: inout SeededRNG) -> TimeSpan {
        TimeSpan(micros: Int64(Double(period.micros) * (0.75 + 0.5 * rng.unit())))
    }
}
