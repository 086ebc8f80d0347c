import CanopyCore

/// Leaf-set liveness probing and periodic routing-table maintenance.
extension Pastry {
    /// Sends our leaf set to `ref` and waits for its own; no answer within
    /// `probeTimeout` twice in a row means it is dead. `force` probes even a member heard
    /// from lately (repair wants its leaf set, not just a sign of life).
    mutating func probe(_ ref: NodeRef, now: Instant, effects: inout Effects, force: Bool = false,
                        purpose: Purpose = .maintenance) {
        guard probes[ref.id] == nil else { return }
        if !force, let heard = leafHeard[ref.id], now - heard < settings.probeTimeout { return }
        probes[ref.id] = PendingProbe(ref: ref, sentAt: now, attempts: 1)
        send(.leafProbe(sentAt: now.micros, leafSet: verifiedLeaves), to: ref.address, purpose: purpose, effects: &effects)
        scheduleProbeCheck(at: now + settings.probeTimeout, effects: &effects)
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
                probes[id] = PendingProbe(ref: p.ref, sentAt: now, attempts: p.attempts + 1)
                send(.leafProbe(sentAt: now.micros, leafSet: verifiedLeaves), to: p.ref.address,
                     purpose: .maintenance, effects: &effects)
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

    /// Asks one of the nearest members of each row for that row: its entries were chosen
    /// near it, so they are likely near us too (proximity neighbour selection converges
    /// from there). Also pings every entry: for liveness, and to measure (or refresh) its RTT.
    mutating func tableTick(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        pingTokens = settings.pingBudget
        for row in 0..<table.rowCount {
            let entries = table.row(row).sorted { ($0.rtt ?? .init(micros: .max)) < ($1.rtt ?? .init(micros: .max)) }
            guard !entries.isEmpty else { continue }
            let pick = entries[Int(rng.next() % UInt64(min(entries.count, 3)))]
            send(.rowRequest(row: UInt8(row)), to: pick.ref.address, purpose: .maintenance, effects: &effects)
            // The nearest node we know chose its row near itself, hence near us as well.
            if let nearest = neighbourhood.first, nearest.ref.id != pick.ref.id {
                send(.rowRequest(row: UInt8(row)), to: nearest.ref.address, purpose: .maintenance, effects: &effects)
            }
        }
        for entry in table.entries where tablePings[entry.ref.id] == nil {
            sendTablePing(entry.ref, attempts: 1, now: now, effects: &effects)
        }
        // A young table is refreshed often (3 s, doubling) so proximity selection converges
        // soon after the join; then at the settled period.
        tableTicks += 1
        let warmup = TimeSpan.seconds(3) * Int64(1 << min(tableTicks, 16))
        effects.setTimer(TimerKey(kind: PastryTimers.tableTick),
                         at: now + jittered(min(settings.tableMaintenancePeriod, warmup), rng: &rng))
    }

    /// A liveness ping to a table entry (outside the proximity budget: it keeps routing
    /// off dead hops); its pong also refreshes the entry's RTT.
    private mutating func sendTablePing(_ ref: NodeRef, attempts: Int, now: Instant, effects: inout Effects) {
        tablePings[ref.id] = PendingProbe(ref: ref, sentAt: now, attempts: attempts)
        send(.ping(sentAt: now.micros), to: ref.address, purpose: .maintenance, effects: &effects)
        scheduleProbeCheck(at: now + settings.probeTimeout, effects: &effects)
    }

    /// Table entries unanswered once are pinged again; twice, dropped from the table (and
    /// the slot repaired). Only dropped: a node merely slow to answer (a busy upload link)
    /// is not declared dead to the application; a hop that really fails still is.
    private mutating func checkTablePings(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        for id in tablePings.keys.sorted() {
            guard let p = tablePings[id], now - p.sentAt >= settings.probeTimeout else { continue }
            if !table.contains(id) {
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
