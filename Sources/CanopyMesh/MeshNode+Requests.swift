import CanopyCore

/// Turning what partners hold into requests: timeouts, the scheduler run, and batching the
/// outcome into one request message per supplier.
extension MeshNode {
    /// Longest a request is given, however slow the supplier looks.
    static let maxRequestTimeout: TimeSpan = .seconds(4)

    /// DONet gathers news for `scheduleDelay`; Chainsaw asks at once.
    mutating func scheduleSoon(now: Instant, effects: inout Effects) {
        let at = now + (scheduler == .donet ? config.scheduleDelay : .zero)
        armSchedule(at: at, effects: &effects)
    }

    private mutating func armSchedule(at time: Instant, effects: inout Effects) {
        if let scheduleAt, scheduleAt <= time { return }
        scheduleAt = time
        effects.setTimer(Self.scheduleTimer, at: time)
    }

    mutating func runScheduler(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !isSource, let edge, let low = windowLow(now: now) else { return }
        expireRequests(now: now, below: low)

        var needs: [ChunkNeed] = []
        var pushDue: Instant?
        var late: [UInt32] = []
        if low <= edge {
            for sequence in low...edge where !store.holds(sequence) {
                let pending = requests[sequence]
                if pending?.partner != nil { continue }
                if let until = pushDeadline(sequence, now: now) {
                    pushDue = min(pushDue ?? until, until)
                    continue
                }
                if awaitsPush(sequence) {
                    late.append(sequence)
                    continue
                }
                needs.append(ChunkNeed(sequence: sequence, deadline: deadline(of: sequence), avoid: pending?.avoid))
            }
        }
        let usable = partners.indices.filter {
            partners[$0].spareKbps > 0 && partners[$0].responsive(now: now, config: config)
        }
        if !needs.isEmpty, !usable.isEmpty {
            let limit = scheduler == .donet ? config.maxOutstanding : config.requestCap
            var suppliers = usable.map { i in
                let rate = Double(partners[i].spareKbps) * 1000
                let cap = Int((rate * config.requestTimeout.seconds / chunkBits).rounded(.up))
                return Supplier(address: partners[i].address, holdings: partners[i].holdings, rateBps: rate,
                                outstanding: partners[i].outstanding, cap: min(limit, max(1, cap)))
            }
            let assignments = switch scheduler {
            case .donet: Scheduling.donet(needs: needs, suppliers: &suppliers, chunkBits: chunkBits, now: now)
            case .chainsaw: Scheduling.chainsaw(needs: needs, suppliers: &suppliers, rng: &rng)
            }
            sendRequests(assignments, suppliers: suppliers, partnerIndices: usable, now: now, effects: &effects)
        }
        if !late.isEmpty {
            cancelPushers(of: late, now: now, effects: &effects)
            pushDue = min(pushDue ?? .init(micros: .max), now + config.pushGrace)
        }
        let timeouts = requests.values.compactMap { $0.partner == nil ? nil : $0.timeoutAt }
        if let next = (timeouts + [pushDue].compactMap { $0 }).min() {
            armSchedule(at: next, effects: &effects)
        }
    }

    /// Requests past their time (or at a supplier turned suspect, with
    /// `MeshConfig.reissueAtSuspicion`) go back to the pool, their supplier tried last;
    /// entries that fell out of the window are forgotten.
    private mutating func expireRequests(now: Instant, below low: UInt32) {
        for (sequence, request) in requests {
            if sequence < low {
                if let partner = request.partner, let i = partnerIndex(partner) { partners[i].outstanding -= 1 }
                requests[sequence] = nil
            } else if let partner = request.partner, now >= request.timeoutAt || suspect(partner, now: now) {
                if let i = partnerIndex(partner) {
                    partners[i].outstanding -= 1
                    partners[i].spareKbps = max(1, partners[i].spareKbps / 2)
                    if partners[i].lastHeard < request.sentAt { partners[i].unanswered = true }
                }
                requests[sequence] = PendingRequest(partner: nil, sentAt: request.sentAt, timeoutAt: now, avoid: partner)
                counters.timedOut += 1
            }
        }
    }

    /// A dead supplier is suspect long before its requests time out, and a listener that
    /// plays half a second behind cannot wait for the timeout.
    private func suspect(_ partner: PeerAddress, now: Instant) -> Bool {
        guard config.reissueAtSuspicion, let i = partnerIndex(partner) else { return false }
        return !partners[i].responsive(now: now, config: config)
    }

    /// One request message per supplier naming all its chunks; each gets a timeout of twice
    /// the time the supplier should need, never less than `requestTimeout`.
    private mutating func sendRequests(_ assignments: [Assignment], suppliers: [Supplier], partnerIndices: [Int],
                                       now: Instant, effects: inout Effects) {
        var perSupplier = Array(repeating: [UInt32](), count: suppliers.count)
        for assignment in assignments { perSupplier[assignment.supplier].append(assignment.sequence) }
        for (k, sequences) in perSupplier.enumerated() where !sequences.isEmpty {
            let i = partnerIndices[k]
            let expected = TimeSpan.seconds(Double(suppliers[k].outstanding) * chunkBits / max(suppliers[k].rateBps, 1000))
            let timeout = min(Self.maxRequestTimeout, max(config.requestTimeout, expected * 2))
            partners[i].outstanding = suppliers[k].outstanding
            counters.requested += sequences.count
            for sequence in sequences {
                requests[sequence] = PendingRequest(partner: partners[i].address, sentAt: now,
                                                    timeoutAt: now + timeout, avoid: nil)
            }
            var rest = sequences[...]
            while !rest.isEmpty {
                let batch = Array(rest.prefix(MeshMessage.maxSequences))
                rest = rest.dropFirst(batch.count)
                send(.mesh(.request(batch)), to: partners[i].address, now: now, effects: &effects)
            }
        }
    }
}
