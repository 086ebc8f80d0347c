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
    mutating func pulled(_ sequence: UInt32, now: Instant, effects: inout Effects) {
        guard config.substreamPush, !isSource, upload.canUpload else { return }
        let j = Self.substream(of: sequence)
        guard pushers[j] == nil else { return }
        let bit = Self.bit(of: sequence)
        let loads = partners.map { subscriptionMask(for: $0.address).nonzeroBitCount }
        let candidates = partners.indices.filter {
            isNearerSource(partner: $0, by: Self.levelMargin)
                && partners[$0].spareKbps > 0 && partners[$0].pushMask & bit == 0 && partners[$0].responsive(now: now, config: config)
                && (partners[$0].declined & bit == 0 || now - partners[$0].declinedAt > Self.declineMemory)
        }
        guard let best = candidates.min(by: {
            partners[$0].lag + Self.loadPenalty * Double(loads[$0]) < partners[$1].lag + Self.loadPenalty * Double(loads[$1])
        }) else { return }
        pushers[j] = partners[best].address
        pushStart[j] = subscriptionStart
        counters.pusherChanges += 1
        sendSubscription(to: partners[best].address, now: now, effects: &effects)
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
    /// elsewhere at once.
    mutating func subscriptionAsked(_ mask: UInt16, from first: UInt32, by address: PeerAddress, now: Instant, effects: inout Effects) {
        guard let i = partnerIndex(address) else { return }
        var accepted = partners[i].pushMask & mask
        var committed = partners.indices.reduce(0) { $0 + ($1 == i ? 0 : partners[$1].pushMask.nonzeroBitCount) } + accepted.nonzeroBitCount
        let budget = pushBudget
        let perSubstream = budget / MeshMessage.substreams + 1
        let askerFarther = isSource || partners[i].level > level ?? .infinity
        for j in 0..<MeshMessage.substreams {
            let bit = UInt16(1) << UInt16(j)
            // Never push a substream back to the partner that pushes it to us: a peer that
            // ignores the level order must not be able to tie the two of us into a loop.
            guard askerFarther, mask & bit != 0, accepted & bit == 0, committed < budget, pushers[j] != address else { continue }
            let takers = partners.indices.filter { $0 != i && partners[$0].pushMask & bit != 0 }.count
            guard takers < perSubstream else { continue }
            accepted |= bit
            partners[i].pushFrom[j] = first
            committed += 1
        }
        partners[i].pushMask = accepted
        if mask & ~accepted != 0 { send(.mesh(.declined(mask & ~accepted)), to: address, now: now, effects: &effects) }
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
