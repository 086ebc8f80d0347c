import CanopyCore

/// Membership and partnerships: joining, gossip, taking and dropping partners, and the
/// periodic housekeeping that keeps all of it fresh.
extension MeshNode {
    static let partnerRequestTimeout: TimeSpan = .seconds(2)
    static let joinRetry: TimeSpan = .seconds(2)
    /// Members named in the answer to a join.
    static let joinSample = 16
    /// Members named in a partner refusal: a few fresh names to try next. (The full gossip
    /// sample of 8 made refusals 8% of DONet's control bytes at 1,000 nodes.)
    static let refuseSample = 2

    mutating func start(bootstrap: PeerAddress?, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !active else { return }
        active = true
        self.bootstrap = bootstrap
        lastTick = now
        nextGossip = now + .seconds(config.gossipPeriod.seconds * (0.5 + rng.unit()))
        nextRefine = now + config.refinePeriod
        if let bootstrap { sendJoin(to: bootstrap, now: now, effects: &effects) }
        effects.setTimer(Self.tickTimer, at: now + .seconds(Self.tickPeriod.seconds * rng.unit()))
        effects.setTimer(Self.statusTimer, at: now + .seconds(config.bufferMapPeriod.seconds * rng.unit()))
    }

    mutating func leave(effects: inout Effects, now: Instant) {
        guard active else { return }
        for partner in partners { send(.mesh(.leave), to: partner.address, now: now, effects: &effects) }
        partners.removeAll()
        pendingPartners.removeAll()
        requests.removeAll()
        serveQueue.removeAll()
        for key in [Self.tickTimer, Self.statusTimer, Self.scheduleTimer, Self.haveTimer, Self.uploadTimer] { effects.cancelTimer(key) }
        active = false
    }

    private mutating func sendJoin(to address: PeerAddress, now: Instant, effects: inout Effects) {
        joinTarget = address
        lastJoinSent = now
        send(.mesh(.join), to: address, now: now, effects: &effects)
    }

    mutating func answerJoin(_ peer: NodeRef, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        let sample = view.sample(Self.joinSample - 1, rng: &rng).filter { $0.address != peer.address }
        send(.mesh(.members(sample + [identity])), to: peer.address, now: now, effects: &effects)
        if let info { send(.stream(.info(info)), to: peer.address, now: now, effects: &effects) }
        view.add(peer, now: now, direct: true, rng: &rng)
    }

    /// Merges names from a member list; the sender itself is fresh news.
    mutating func learn(_ refs: [NodeRef], from peer: NodeRef, now: Instant, rng: inout SeededRNG) {
        for ref in refs where ref.address != identity.address && ref.address != peer.address {
            view.add(ref, now: now, direct: false, rng: &rng)
        }
        view.add(peer, now: now, direct: true, rng: &rng)
    }

    mutating func answerPartnerRequest(_ peer: NodeRef, status: MeshStatus, now: Instant,
                                       rng: inout SeededRNG, effects: inout Effects) {
        view.add(peer, now: now, direct: true, rng: &rng)
        if let i = partnerIndex(peer.address) {
            statusArrived(status, partner: i, now: now, rng: &rng, effects: &effects)
        } else if info != nil, useful(status), partners.count < config.maxPartners || makeRoom(for: status, now: now, rng: &rng, effects: &effects) {
            addPartner(peer, status: status, now: now, rng: &rng, effects: &effects)
        } else {
            let others = view.sample(Self.refuseSample, rng: &rng).filter { $0.address != peer.address }
            send(.mesh(.partnerRefuse(others)), to: peer.address, now: now, effects: &effects)
            return
        }
        send(.mesh(.partnerAccept(currentStatus(now: now))), to: peer.address, now: now, effects: &effects)
    }

    /// A full node that holds chunks makes room for an asker that holds none: otherwise the
    /// nodes that joined while every fed node was full (on real UDP, those of the last
    /// seconds before the stream began) could only partner with each other and never get a
    /// chunk. It lets go of its longest-standing partner that already holds chunks, so is
    /// fed and keeps its other partners; the source keeps its partners, the roots of the spread.
    private mutating func makeRoom(for status: MeshStatus, now: Instant, rng: inout SeededRNG, effects: inout Effects) -> Bool {
        guard !isSource, status.map.newest == nil, newestHeld != nil,
              let evicted = partners.first(where: { $0.holdings.newest != nil && $0.ref.id != info?.source.id }) else { return false }
        counters.evicted += 1
        send(.mesh(.leave), to: evicted.address, now: now, effects: &effects)
        removePartner(evicted.address, now: now, rng: &rng, effects: &effects)
        return true
    }

    mutating func partnerAccepted(_ peer: NodeRef, status: MeshStatus, now: Instant,
                                  rng: inout SeededRNG, effects: inout Effects) {
        pendingPartners.removeAll { $0.address == peer.address }
        if let i = partnerIndex(peer.address) {
            statusArrived(status, partner: i, now: now, rng: &rng, effects: &effects)
        } else if livePartnerCount(now: now) < config.maxPartners, partners.count < 2 * config.maxPartners, useful(status) {
            addPartner(peer, status: status, now: now, rng: &rng, effects: &effects)
        } else {
            send(.mesh(.leave), to: peer.address, now: now, effects: &effects)
        }
    }

    /// Partners still worth asking for chunks (`Partner.responsive`). Replacements are
    /// sought and taken for the suspect ones at once, not only once they are dropped as
    /// gone: after half the nodes crash, a survivor's list is half dead for seconds, and
    /// with its live half alone it passes chunks on too slowly. (The list stays bounded:
    /// suspects are dropped within `MeshConfig.silenceTimeout`, and never more than twice
    /// `maxPartners` are kept.) Measured on scenarios/mesh-{donet,chainsaw}-massfail.json,
    /// seeds 7–12: survivors without a gap at 5 s, mean of the six, 0.135 → 0.286 (DONet,
    /// better on every seed) and 0.283 → 0.407 (Chainsaw); the 1k and churn scenarios
    /// unchanged (seeds 7 and 8). (Those runs predate the cap.) Partner requests that
    /// reach us still count every partner, suspects too: counting only the live ones there
    /// as well moved Chainsaw's mean to 0.559 and DONet's to 0.429 with a 1.5 s
    /// `MeshConfig.shortestAbsence`, but cost the churn scenarios (DONet seed 8, continuity
    /// at 5 s 0.99886 → 0.99824), so it was not kept. On `canopy bench push-vs-pull --churn mass` (6 partners),
    /// seeds 7/8/9, DONet's continuity at 5 s went 0.9972/0.9911/0.9946 → 0.9978/0.9918/0.9963.
    func livePartnerCount(now: Instant) -> Int {
        partners.lazy.filter { $0.responsive(now: now, config: self.config) }.count
    }

    /// Two nodes that both upload nothing could never serve each other: such a partnership
    /// would only take a slot a supplier needs. The source partners only with nodes that
    /// can pass its chunks on: its few slots are the root of every chunk's spread.
    private func useful(_ status: MeshStatus) -> Bool {
        (upload.canUpload && !isSource) || status.spareKbps > 0
    }

    private mutating func addPartner(_ peer: NodeRef, status: MeshStatus, now: Instant,
                                     rng: inout SeededRNG, effects: inout Effects) {
        partners.append(Partner(ref: peer, status: status, now: now))
        statusArrived(status, partner: partners.count - 1, now: now, rng: &rng, effects: &effects)
    }

    /// A partner's buffer map: learn the newest chunks and (DONet) schedule shortly, so
    /// maps arriving close together end in one request per supplier.
    mutating func statusArrived(_ status: MeshStatus, partner i: Int, now: Instant,
                                rng: inout SeededRNG, effects: inout Effects) {
        partners[i].update(status, now: now)
        if let newest = status.map.newest {
            heard(newest, from: i, now: now)
            noteAvailable(newest, now: now)
        }
        guard !isSource, status.spareKbps > 0 else { return }
        scheduleSoon(now: now, effects: &effects)
    }

    /// Ends a partnership (it left, went silent or was dropped); its requests go elsewhere.
    mutating func removePartner(_ address: PeerAddress, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard let i = partnerIndex(address) else { return }
        partners.remove(at: i)
        forgetPusher(address)
        var orphaned = false
        for (sequence, request) in requests where request.partner == address {
            requests[sequence] = PendingRequest(partner: nil, sentAt: request.sentAt, timeoutAt: now, avoid: address)
            orphaned = true
        }
        if orphaned { runScheduler(now: now, rng: &rng, effects: &effects) }
    }

    /// Asks random members of the view to become partners until enough are taken or asked.
    mutating func acquirePartners(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard info != nil, !isSource else { return }
        let wanted = config.partners - livePartnerCount(now: now) - pendingPartners.count
        guard wanted > 0 else { return }
        var candidates = view.entries.map(\.ref).filter { ref in
            partnerIndex(ref.address) == nil && !pendingPartners.contains { $0.address == ref.address }
        }
        candidates.shuffle(using: &rng)
        let status = currentStatus(now: now)
        for ref in candidates.prefix(wanted) {
            pendingPartners.append((ref.address, now))
            send(.mesh(.partnerRequest(status)), to: ref.address, now: now, effects: &effects)
        }
    }

    /// Housekeeping every `tickPeriod`: rates, silent partners, unanswered asks, view
    /// ageing, rejoining, keep-alives, gossip and the DONet refinement.
    mutating func tick(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        let elapsed = now - lastTick
        lastTick = now
        upload.sample(elapsed: elapsed)
        for i in partners.indices {
            let bps = Double(partners[i].receivedBytes * 8) / max(elapsed.seconds, 0.001)
            partners[i].throughputBps = 0.8 * partners[i].throughputBps + 0.2 * bps
            partners[i].receivedBytes = 0
        }
        for partner in partners where partner.gone(now: now, config: config) {
            view.remove(partner.address)
            counters.silent += 1
            removePartner(partner.address, now: now, rng: &rng, effects: &effects)
        }
        for ask in pendingPartners where now - ask.at > Self.partnerRequestTimeout { view.remove(ask.address) }
        pendingPartners.removeAll { now - $0.at > Self.partnerRequestTimeout }
        view.expire(now: now)
        if let low = windowLow(now: now) { firstHeard = firstHeard.filter { $0.key >= low } }
        for partner in partners { view.add(partner.ref, now: now, direct: true, rng: &rng) }

        if !isSource, let bootstrap, now - lastJoinSent >= Self.joinRetry,
           info == nil || (partners.isEmpty && view.isEmpty) {
            let target = info == nil && joinTarget == bootstrap ? view.sample(1, rng: &rng).first?.address : nil
            sendJoin(to: target ?? bootstrap, now: now, effects: &effects)
        }
        replaceBarrenPartner(now: now, rng: &rng, effects: &effects)
        dropPushersNotCloser(now: now, effects: &effects)
        acquirePartners(now: now, rng: &rng, effects: &effects)
        for partner in partners where now - partner.lastSent >= keepalive(to: partner) {
            send(.mesh(.status(currentStatus(now: now))), to: partner.address, now: now, effects: &effects)
        }
        if now >= nextGossip {
            nextGossip = now + config.gossipPeriod
            gossip(now: now, rng: &rng, effects: &effects)
        }
        if config.refinePeriod > .zero, now >= nextRefine {
            nextRefine = now + config.refinePeriod
            refine(now: now, rng: &rng, effects: &effects)
        }
    }

    /// A node whose partner set filled before the stream began can sit among partners that
    /// hold nothing, none of them tied to a supplier that does: on real UDP the nodes that
    /// join in the last seconds before the first chunk end up partnered with each other,
    /// the early nodes being full. Nothing else ever changes such a set (no partner goes
    /// silent, the refinement sees no throughput to rank), so they would never play. Once
    /// we know the stream runs (`edge`) but for a keepalive period no supplier partner held
    /// a chunk in our window, drop one partner (none of them serves us anything):
    /// `acquirePartners` then asks a fresh member of the view, which makes room for us if it
    /// is full and fed (`makeRoom`), and each period we try one more.
    private mutating func replaceBarrenPartner(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !isSource, let low = windowLow(now: now),
              partners.count + pendingPartners.count >= config.partners else {
            barrenSince = nil
            return
        }
        let fed = partners.contains { $0.spareKbps > 0 && ($0.holdings.newest.map { $0 >= low } ?? false) }
        guard !fed else {
            barrenSince = nil
            return
        }
        guard let since = barrenSince else {
            barrenSince = now
            return
        }
        guard now - since >= config.keepalive else { return }
        guard let dropped = partners.randomElement(using: &rng) else { return }
        barrenSince = now
        counters.barren += 1
        send(.mesh(.leave), to: dropped.address, now: now, effects: &effects)
        removePartner(dropped.address, now: now, rng: &rng, effects: &effects)
    }

    /// Pushes a sample of the view (and ourselves) to one random member.
    private mutating func gossip(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard let target = view.sample(1, rng: &rng).first else { return }
        let sample = view.sample(config.gossipSize, rng: &rng).filter { $0.address != target.address }
        send(.mesh(.members(Array(sample.prefix(config.gossipSize - 1)) + [identity])),
             to: target.address, now: now, effects: &effects)
    }

    /// DONet's refinement: drop the supplier that gave us least over the last periods, if
    /// it gave clearly less than the others, so a better one can be tried in its place.
    private mutating func refine(now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        guard !isSource, partners.count >= config.partners else { return }
        let suppliers = partners.filter { $0.spareKbps > 0 && now - $0.since >= config.refinePeriod }
        guard suppliers.count >= 2, let slowest = suppliers.min(by: { $0.throughputBps < $1.throughputBps }) else { return }
        let mean = suppliers.reduce(0) { $0 + $1.throughputBps } / Double(suppliers.count)
        guard slowest.throughputBps < 0.5 * mean else { return }
        counters.refined += 1
        send(.mesh(.leave), to: slowest.address, now: now, effects: &effects)
        removePartner(slowest.address, now: now, rng: &rng, effects: &effects)
    }

    /// DONet: the buffer map to every partner that is due one (`mapInterval`) and lacks a
    /// chunk we hold: a map that offers nothing is not worth its bytes. Called on every new
    /// chunk as well as by the period timer, so news leaves at once when a partner is due a
    /// map (instead of waiting up to a period) while no partner gets maps more often. A
    /// node that uploads nothing only keeps alive.
    mutating func sendStatus(now: Instant, effects: inout Effects) {
        guard upload.canUpload else { return }
        let map = currentMap()
        for partner in partners where now - partner.lastStatusSent >= mapInterval(for: partner) && offers(map, to: partner) {
            send(.mesh(.status(currentStatus(now: now))), to: partner.address, now: now, effects: &effects)
        }
    }

    /// The longest we stay silent to a partner. The source is told more often: it learns of
    /// a crashed partner only from that silence (a partner of the source holds nothing the
    /// source lacks, so it sends it no maps), and until then it keeps pushing fresh chunks
    /// into it; when half the nodes crash at once, a chunk whose pushes all went to crashed
    /// partners reaches almost none of the survivors in time. With the overdue rule
    /// (`overdueServe`, before its upper age bound), on
    /// scenarios/mesh-{donet,chainsaw}-massfail.json, seeds 7 / 8:
    /// continuity at 5 s 0.9835 / 0.9875 → 0.9938 / 0.9937 (DONet) and 0.9915 / 0.9929 →
    /// 0.9949 / 0.9934 (Chainsaw); survivors without a gap 0.010 / 0.004 → 0.142 / 0.222
    /// and 0.046 / 0.267 → 0.361 / 0.156. The source's few partners add a message a second.
    func keepalive(to partner: Partner) -> TimeSpan {
        partner.ref.id == info?.source.id ? Self.sourceKeepalive : config.keepalive
    }

    /// How long a partner may be silent before we stop sending it data: until it missed
    /// its keep-alives, which come more often to the source. The source waits two and a half
    /// periods, not one and a half: keep-alives leave on the 0.5 s tick, so two in a row can
    /// be up to a period apart plus the link's queue.
    var dataSilence: TimeSpan {
        isSource ? Self.sourceKeepalive * 5 / 2 : config.suspectAfter
    }

    /// How often partners keep the source informed that they are alive.
    static let sourceKeepalive: TimeSpan = .seconds(0.5)

    /// How often a partner hears our map (alone or riding on data). Often for one that
    /// forwards: every pull hop of a chunk waits for the map that announces it. Seldom for
    /// one that uploads nothing: it is served last, oldest chunk first, so it pulls chunks
    /// that are seconds old and widely held, and a fresher map would not bring them sooner.
    /// Measured on scenarios/mesh-donet-1k.json (seeds 7 / 8) against 3/4 of the period
    /// for everyone: continuity at 5 s 0.9971 → 0.9989 / 0.9929 with control overhead
    /// 0.0533 → 0.0478 / 0.0475; half a period for forwarders cost 0.003 more control.
    func mapInterval(for partner: Partner) -> TimeSpan {
        .seconds(config.bufferMapPeriod.seconds * (partner.spareKbps > 0 ? 0.6 : 2))
    }

    /// True when `map` holds a chunk the partner, as far as we know, lacks and still wants.
    private func offers(_ map: BufferMap, to partner: Partner) -> Bool {
        guard let newest = map.newest else { return false }
        let from = max(map.start, partner.holdings.start)
        guard from <= newest else { return false }
        return (from...newest).contains { map.contains($0) && !partner.holdings.contains($0) }
    }
}
