import CanopyCore

/// Substream push on top of the pull (`MeshConfig.substreamPush`). Each substream
/// (sequence mod `MeshMessage.substreams`) has at most one pusher among our partners: when
/// we had to pull one of its chunks, the earliest partner (measured lag behind our first
/// news) of those nearer the source than we are is asked to push the substream. A
/// supplier takes such subscriptions only as far as its upload allows and declines the
/// rest. A chunk the pusher has not brought within the grace cancels the subscription and
/// is pulled as usual, so the pull builds and repairs the paths, and a settled path costs
/// one transmission a hop.
///
/// "Nearer" is by level: the hops our chunks take from the source, averaged, which every
/// node advertises (`MeshStatus.level`). Pushes flow only from lower to higher levels, so
/// push paths cannot close into a loop in which every node waits for the others. Pushers
/// chosen by lag alone did: at 31 nodes on one switch, 19% of the substream paths were
/// loops. The order used before, a hash of id and substream, was loop-free too but blind to
/// where the source is: a node near the source was as likely as any to rank last and find
/// no pusher. By level, on scenarios/mesh-{donet,chainsaw}-10k.json continuity at 5 s went
/// from 0.961 to 0.982 (DONet, median delay 3.6 s to 3.3 s) and from 0.985 to 0.992
/// (Chainsaw).
extension MeshNode {
    /// These chunks' pushers let them pass their grace: their substreams are cancelled at
    /// once, so a push still queued there is dropped, and the chunks are pulled only one
    /// grace later, when a push already on its way has landed; either way no copy races the
    /// pull into a duplicate. The next pull of the substream picks a pusher afresh.
    mutating func cancelPushers(of sequences: [UInt32], now: Instant, effects: inout Effects) {
        var told: [PeerAddress] = []
        for sequence in sequences {
            let j = Self.substream(of: sequence)
            guard let pusher = pushers[j] else { continue }
            pushers[j] = nil
            cancelledAt[j] = now
            if !told.contains(pusher) { told.append(pusher) }
        }
        for address in told { sendSubscription(to: address, now: now, effects: &effects) }
    }

    static func substream(of sequence: UInt32) -> Int { Int(sequence % UInt32(MeshMessage.substreams)) }

    static func bit(of sequence: UInt32) -> UInt16 { 1 << UInt16(substream(of: sequence)) }

    /// Partner `i` says it holds `sequence`: dates our first news of it, and how far behind
    /// that first news the partner is.
    mutating func heard(_ sequence: UInt32, from i: Int, now: Instant) {
        guard config.substreamPush else { return }
        guard let first = firstHeard[sequence] else {
            firstHeard[sequence] = now
            partners[i].lag *= 0.8
            return
        }
        guard !partners[i].holdings.contains(sequence) else { return }
        partners[i].lag = 0.8 * partners[i].lag + 0.2 * (now - first).seconds
    }

    /// We pulled a chunk of `sequence`'s substream: if the substream has no pusher, ask the
    /// earliest partner (by lag, with a penalty per substream it already pushes us, so one
    /// partner's failure does not take many) among those at least `levelMargin` nearer the
    /// source (or the source itself) that upload, are alive and have not just declined it.
    /// A node's first pull asks for every substream at once, the pulled one first. One at a
    /// time, a starting stream's last substream was still pulled by everyone while the first
    /// ones' pushes filled the links: its first chunk (15) reached the listeners 1.4 s after
    /// chunk 14 and was the gap of 85 of the 122 survivors with one on
    /// scenarios/mesh-donet-massfail.json (seed 7). Only the first: a node that later lost
    /// every pusher in a crash and asked its surviving partners for all 16 substreams at
    /// once lost chunks made just after it (on the Chainsaw scenario, seed 10, 2% of the
    /// survivors played without a gap, against 84% this way).
    mutating func pulled(_ sequence: UInt32, now: Instant, effects: inout Effects) {
        guard config.substreamPush, !isSource, upload.canUpload else { return }
        let j = Self.substream(of: sequence)
        guard pushers[j] == nil else { return }
        let wanted = choseFirstPushers ? [j] : [j] + pushers.indices.filter { $0 != j }
        var asked: [PeerAddress] = []
        for k in wanted {
            guard let pusher = choosePusher(for: k, now: now) else { continue }
            pushers[k] = pusher
            pushStart[k] = subscriptionStart
            counters.pusherChanges += 1
            if !asked.contains(pusher) { asked.append(pusher) }
        }
        choseFirstPushers = choseFirstPushers || !asked.isEmpty
        for address in asked { sendSubscription(to: address, now: now, effects: &effects) }
    }

    private func choosePusher(for j: Int, now: Instant) -> PeerAddress? {
        let bit = UInt16(1) << UInt16(j)
        let loads = partners.map { subscriptionMask(for: $0.address).nonzeroBitCount }
        let candidates = partners.indices.filter {
            isNearerSource(partner: $0, by: Self.levelMargin)
                && partners[$0].spareKbps > 0 && partners[$0].pushMask & bit == 0 && partners[$0].responsive(now: now, config: config)
                && (partners[$0].declined & bit == 0 || now - partners[$0].declinedAt > Self.declineMemory)
        }
        return candidates.min(by: {
            partners[$0].lag + Self.loadPenalty * Double(loads[$0]) < partners[$1].lag + Self.loadPenalty * Double(loads[$1])
        }).map { partners[$0].address }
    }

    /// A pusher that is no longer closer to the source than we are is let go: levels drift,
    /// and pushes must keep flowing from nearer to farther or a cycle of pushers could form,
    /// each waiting on the next.
    mutating func dropPushersNotCloser(now: Instant, effects: inout Effects) {
        var told: [PeerAddress] = []
        for j in pushers.indices {
            guard let pusher = pushers[j], let i = partnerIndex(pusher), !isNearerSource(partner: i, by: 0) else { continue }
            pushers[j] = nil
            if !told.contains(pusher) { told.append(pusher) }
        }
        for address in told { sendSubscription(to: address, now: now, effects: &effects) }
    }

    /// True if partner `i` is the source, or its level is more than `margin` hops below ours
    /// (any level is, before our first chunk).
    func isNearerSource(partner i: Int, by margin: Double) -> Bool {
        partners[i].ref.id == info?.source.id || partners[i].level + margin < level ?? .infinity
    }

    /// A partner that declined a substream is not asked for it again for this long.
    static let declineMemory: TimeSpan = .seconds(10)

    /// A partner declined to push us these substreams: pull them until another partner is found.
    mutating func pushDeclined(_ mask: UInt16, by address: PeerAddress, now: Instant) {
        guard let i = partnerIndex(address) else { return }
        partners[i].declined = (now - partners[i].declinedAt > Self.declineMemory ? 0 : partners[i].declined) | mask
        partners[i].declinedAt = now
        releasePusher(address, substreams: mask)
    }

    /// `address` no longer pushes us the substreams of `mask` (those it pushed, that is);
    /// true if it pushed any of them.
    @discardableResult
    mutating func releasePusher(_ address: PeerAddress, substreams mask: UInt16) -> Bool {
        var released = false
        for j in pushers.indices where pushers[j] == address && mask & (1 << UInt16(j)) != 0 {
            pushers[j] = nil
            released = true
        }
        return released
    }

    /// Supplier: a partner asks us to push `mask`. Substreams we already push it are kept;
    /// new ones are taken while our push commitments fit `pushShare` of our upload, the
    /// substream has few takers (each taker adds one transmission to every chunk's wait) and
    /// the asker is farther from the source than we are (its own check, repeated here
    /// against what it last told us), and the rest are declined so the asker looks
    /// elsewhere at once. A substream takes more than its even share of the budget only from
    /// what the others, up to theirs, leave free: subscriptions come in substream order when
    /// a stream starts, and first come, first served left the source pushing substream 15 to
    /// 2 partners and every other to 6–7, so its chunks spread 0.6 s behind the rest.
    mutating func subscriptionAsked(_ mask: UInt16, from first: UInt32, by address: PeerAddress, now: Instant, effects: inout Effects) {
        guard let i = partnerIndex(address) else { return }
        var accepted = partners[i].pushMask & mask
        var takers = (0..<MeshMessage.substreams).map { j in
            partners.indices.filter { $0 == i ? accepted & (1 << UInt16(j)) != 0 : partners[$0].pushMask & (1 << UInt16(j)) != 0 }.count
        }
        var committed = takers.reduce(0, +)
        let budget = pushBudget
        let evenShare = budget / MeshMessage.substreams
        let perSubstream = evenShare + 1
        let askerFarther = isSource || partners[i].level > level ?? .infinity
        for j in 0..<MeshMessage.substreams {
            let bit = UInt16(1) << UInt16(j)
            // Never push a substream back to the partner that pushes it to us: a peer that
            // ignores the level order must not be able to tie the two of us into a loop.
            guard askerFarther, mask & bit != 0, accepted & bit == 0, committed < budget, pushers[j] != address,
                  takers[j] < perSubstream else { continue }
            let owedToOthers = takers.indices.reduce(0) { $0 + ($1 == j ? 0 : max(0, evenShare - takers[$1])) }
            guard takers[j] < evenShare || committed + 1 + owedToOthers <= budget else { continue }
            accepted |= bit
            partners[i].pushFrom[j] = first
            takers[j] += 1
            committed += 1
        }
        let taken = accepted & ~partners[i].pushMask
        partners[i].pushMask = accepted
        if mask & ~accepted != 0 { send(.mesh(.declined(mask & ~accepted)), to: address, now: now, effects: &effects) }
        pushHeld(taken, from: first, to: i, now: now, effects: &effects)
    }

    /// A new subscription starts at `first`: what we already hold of its substreams from
    /// there on is pushed now, since `pushToSubscribers` sends only chunks that reach us
    /// later, and the subscriber leaves these to us until their grace runs out.
    private mutating func pushHeld(_ substreams: UInt16, from first: UInt32, to i: Int, now: Instant, effects: inout Effects) {
        guard substreams != 0, let newest = newestHeld else { return }
        let oldest = max(first, newest - min(newest, UInt32(store.capacity - 1)))
        guard oldest <= newest else { return }
        let held = (oldest...newest).filter {
            substreams & Self.bit(of: $0) != 0 && store.holds($0) && !partners[i].holdings.contains($0)
        }
        if !held.isEmpty { serve(held, to: partners[i].address, pushed: true, now: now, effects: &effects) }
    }

    /// Substream subscriptions our upload can carry: each is one chunk every
    /// `substreams` chunk durations.
    var pushBudget: Int {
        guard upload.canUpload else { return 0 }
        let copiesPerChunk = upload.capacityKbps * 1000 * chunkDuration.seconds / chunkBits
        return Int(Double(MeshMessage.substreams) * copiesPerChunk * Self.pushShare)
    }

    /// The share of our upload that pushes may take; the rest serves pulls (repairs, newcomers
    /// and partners that upload nothing).
    static let pushShare = 0.7

    /// How much nearer the source (in hops) a partner must be to be asked to push to us: a
    /// pusher one level up is the usual case; a partner at about our level is likely fed
    /// through us or beside us.
    static let levelMargin = 0.5

    /// Seconds of lag one more pushed substream is worth when choosing a pusher.
    static let loadPenalty = 0.05

    /// The substreams we ask `address` to push.
    func subscriptionMask(for address: PeerAddress) -> UInt16 {
        var mask: UInt16 = 0
        for (j, pusher) in pushers.enumerated() where pusher == address { mask |= 1 << UInt16(j) }
        return mask
    }

    mutating func sendSubscription(to address: PeerAddress, now: Instant, effects: inout Effects) {
        guard partnerIndex(address) != nil else { return }
        send(.mesh(.subscribe(subscriptionMask(for: address), from: subscriptionStart)), to: address, now: now, effects: &effects)
    }

    /// Where a new subscription starts: after every chunk we hold or have asked for.
    var subscriptionStart: UInt32 {
        max(newestHeld ?? 0, requests.keys.max() ?? 0) &+ 1
    }

    /// True when `sequence` is left to its substream's pusher: one is set, and the
    /// chunk is not older than what it was asked to push.
    func awaitsPush(_ sequence: UInt32) -> Bool {
        let j = Self.substream(of: sequence)
        return pushers[j] != nil && sequence >= pushStart[j]
    }

    /// The pusher of these chunks' substreams refused them: the substreams whose chunks were
    /// left to its push are pulled again until some partner serves one, and it is told so
    /// its record matches ours. A refused pull (a chunk from before the push started, or one
    /// pulled after a late cancel) leaves its pushes alone.
    mutating func pusherRefused(_ sequences: [UInt32], by address: PeerAddress, now: Instant, effects: inout Effects) {
        let mask = sequences.reduce(UInt16(0)) { awaitsPush($1) ? $0 | Self.bit(of: $1) : $0 }
        if releasePusher(address, substreams: mask) { sendSubscription(to: address, now: now, effects: &effects) }
    }

    /// A partner is gone: everything it pushed is pulled until someone else serves it.
    mutating func forgetPusher(_ address: PeerAddress) {
        releasePusher(address, substreams: .max)
    }

    /// We just got `sequence`: queue it for the partners subscribed to its substream that are
    /// not known to hold it (`except`: the partner it came from).
    mutating func pushToSubscribers(_ sequence: UInt32, except: PeerAddress?, now: Instant, effects: inout Effects) {
        let bit = Self.bit(of: sequence)
        let j = Self.substream(of: sequence)
        // By index, not a filtered copy: this runs for every chunk a node gets. `serve`
        // never adds or removes partners.
        for i in partners.indices where partners[i].pushMask & bit != 0 && sequence >= partners[i].pushFrom[j]
            && partners[i].address != except && !partners[i].holdings.contains(sequence)
            && partners[i].heardLately(now: now, within: dataSilence) {
            counters.pushed += 1
            serve([sequence], to: partners[i].address, pushed: true, now: now, effects: &effects)
        }
    }

    /// Until when the scheduler leaves `sequence` to its substream's live pusher, or to a
    /// push already on its way from the pusher we just cancelled (nil: pull it now).
    func pushDeadline(_ sequence: UInt32, now: Instant) -> Instant? {
        let j = Self.substream(of: sequence)
        let settle = cancelledAt[j] + config.pushGrace
        if sequence >= pushStart[j], settle > now { return settle }
        guard awaitsPush(sequence), let pusher = pushers[j], let i = partnerIndex(pusher),
              partners[i].responsive(now: now, config: config) else { return nil }
        var wait = max(config.pushGrace.seconds, min(config.longestPushGrace.seconds, 1.5 * partners[i].lag))
        // A pusher that holds the chunk has its push queued: give it as long as a request
        // (1 s by default), but no longer than the longest grace a listener fitted to a
        // short playout delay allows.
        if partners[i].holdings.contains(sequence) { wait += min(config.requestTimeout, config.longestPushGrace).seconds }
        let until = (firstHeard[sequence] ?? now) + .seconds(wait)
        return until > now ? until : nil
    }
}
