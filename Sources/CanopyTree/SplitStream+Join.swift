import CanopyCore
import CanopyPastry

/// How a join reached this node, which decides what "no" means.
enum JoinArrival {
    /// On its way to the topic id: a node that cannot take it lets it continue.
    case routed
    /// At the node responsible for the topic id (the Scribe root).
    case root
    /// Sent straight here (push-down, a root passing it up, a fallback to the source).
    case direct
}

extension SplitStream {
    /// Starts (or escalates) the search for a parent: a Scribe join routed toward the topic
    /// id, then a direct ask to the source, an anycast to the spare-capacity group, the source
    /// again. The source makes room for a forwarder and pushes a leaf down the stripe, so an
    /// ask there ends at a node with room (or with a refusal) rather than dying in a swamped
    /// relay. Group topics only ever route.
    mutating func beginJoin(_ i: Int, attempt: Int, _ kbr: inout KBRContext) {
        guard let info else { return }
        // Each full round of the ladder that failed waits longer (up to 4x), so a crowd of
        // orphans backs off instead of flooding the overlay with joins.
        // The wait starts when the join leaves our own upload queue, not when it is queued.
        let backoff = config.joinTimeout * Int64(1 + min(attempt / 4, 3))
        trees[i].pending = PendingJoin(attempt: attempt, deadline: kbr.now + kbr.uploadBacklog + backoff)
        let me = kbr.local
        let join = joinRequest(i, kbr)
        guard let stripe = trees[i].stripe else {
            route(trees[i].id, .tree(.join(join)), &kbr)
            return
        }
        // A forwarder asks the source second: its whole subtree starves while it searches. A
        // leaf does so only to repair a lost parent: after a 10% crash, leaves that only routed
        // and anycast stayed cut off for 9 s or more (1,000 nodes, seeds 9 and 10). While the
        // forest forms, every leaf whose first join failed asking it would bury the one link
        // every stripe depends on: at 10,000 nodes continuity at 5 s fell to 0.41.
        let asksSource = !trees[i].children.isEmpty || trees[i].lostParentAt != nil
        let step = asksSource ? [0, 2, 1, 2][attempt % 4] : [0, 0, 1, 1][attempt % 4]
        if step > 0 { kbr.observe(TreeJoinEscalated(stripe: stripe, attempt: step)) }
        switch step {
        case 0:
            route(trees[i].id, .tree(.join(join)), &kbr)
        case 1:
            route(trees[groupIndex].id, .tree(.anycast(TreeAnycast(group: trees[groupIndex].id,
                                                                     target: trees[i].id, requester: me))), &kbr)
        default:
            send(.tree(.join(join)), to: info.source, &kbr)
        }
    }

    /// Our join for tree `i`, saying what we could take on and what hangs below us.
    func joinRequest(_ i: Int, _ kbr: KBRContext) -> TreeJoin {
        TreeJoin(topic: trees[i].id, joiner: kbr.local, budget: config.pushDownBudget,
                 spare: UInt16(min(spareSlots, Int(UInt16.max))), children: UInt8(min(trees[i].descendants, 255)))
    }

    func isInTree(_ i: Int) -> Bool {
        trees[i].isAttached || trees[i].pending != nil || !trees[i].children.isEmpty
    }

    /// Scribe's join handling with SplitStream's degree bound. Returns whether routing stops here.
    mutating func handleJoin(_ join: TreeJoin, via arrival: JoinArrival, _ kbr: inout KBRContext) -> ForwardDecision {
        guard let i = index(of: join.topic) else { return .proceed }
        let me = kbr.local
        if join.joiner.id == me.id {
            // Our own join reached us: we are the topic's root.
            if arrival == .root { becomeRoot(i, join, &kbr) }
            return .stop
        }
        guard trees[i].stripe != nil else { return handleGroupJoin(i, join, via: arrival, &kbr) }
        // A node without upload can place nobody: it hands a join sent to it on along the
        // stripe (one small message on its thin link). Letting it die here cost the joiner a
        // whole join timeout, and a third of the nodes a join is handed to have no upload.
        if arrival == .direct && bound == 0 && !trees[i].hasChild(join.joiner.id) {
            _ = passAlongStripe(i, join, &kbr)
            return .stop
        }
        if trees[i].hasChild(join.joiner.id) {
            send(.tree(.accept(topic: join.topic, path: trees[i].pathForChildren(self: me.id))), to: join.joiner, &kbr)
            return .stop
        }
        let own = isOwn(i, kbr)
        let able = mayTake(i, join.joiner, kbr)
        if able && (hasRoom(kbr) || sourceMakesRoom(joinerForwards: join.children > 0, &kbr)) {
            addChild(i, join.joiner, spare: Int(join.spare), load: Int(join.children), &kbr)
            return .stop
        }
        // A full source hands the joiner down to the top of the stripe with room (SplitStream's
        // push-down), so a join sent to it ends at a node that can take it or with an answer.
        if able && pushDown(i, join, &kbr) { return .stop }
        if own && bound > 0 && !isSource && passAlongStripe(i, join, &kbr) { return .stop }
        switch arrival {
        case .routed:
            return .proceed
        case .root:
            passToSource(join, &kbr)
        case .direct where isSource && join.children == 0:
            // A full source that found no child to hand a leaf to does not answer it: a
            // refusal each would load the one link every stripe depends on. The leaf's own
            // timeout moves it on to the spare-capacity group.
            break
        case .direct:
            send(.tree(.reject(topic: join.topic, handedDown: false)), to: join.joiner, &kbr)
        }
        return .stop
    }

    /// A node forwards only in its own stripe (the one whose digit it shares) when joins
    /// find it; other stripes reach it only as spare capacity, through anycast.
    func isOwn(_ i: Int, _ kbr: KBRContext) -> Bool {
        isSource || DigitBase.hex.sharedPrefixLength(kbr.local.id, trees[i].id) > 0
    }

    /// Whether `joiner` may become our child in stripe `i`, room aside. A node that lost its
    /// parent and is looking for another takes no one new: it cannot feed them, and each
    /// newcomer adds to the missed chunks it must pass down once fed again.
    func mayTake(_ i: Int, _ joiner: NodeRef, _ kbr: KBRContext) -> Bool {
        isOwn(i, kbr) && (trees[i].isAttached || trees[i].pending != nil) && trees[i].lostParentAt == nil && bound > 0
            && !trees[i].path.contains(joiner.id)
    }

    /// The root of a stripe takes its data from the source; the root of a group is its top.
    mutating func becomeRoot(_ i: Int, _ join: TreeJoin, _ kbr: inout KBRContext) {
        if trees[i].stripe == nil {
            trees[i].isTop = true
            trees[i].pending = nil
            trees[i].path = []
        } else if !isSource, let info {
            send(.tree(.join(join)), to: info.source, &kbr)
        }
    }

    /// A root that cannot feed a joiner hands it to the source (the root of every stripe's data).
    mutating func passToSource(_ join: TreeJoin, _ kbr: inout KBRContext) {
        if isSource || info == nil {
            send(.tree(.reject(topic: join.topic, handedDown: false)), to: join.joiner, &kbr)
        } else if let info {
            send(.tree(.join(join)), to: info.source, &kbr)
        }
    }

    /// Plain Scribe for group trees: every node on the path becomes a forwarder.
    /// A node without upload (and the source, whose upload is the stream's) lets group joins
    /// pass, rooting a group only when it must: anycast walks are traffic it should not relay.
    mutating func handleGroupJoin(_ i: Int, _ join: TreeJoin, via arrival: JoinArrival,
                                  _ kbr: inout KBRContext) -> ForwardDecision {
        if arrival == .routed && (bound == 0 || isSource) && !isInTree(i) { return .proceed }
        if !trees[i].hasChild(join.joiner.id) {
            trees[i].children.append(TreeChild(ref: join.joiner, lastHeard: kbr.now, lastSent: kbr.now,
                                               load: 0, spare: 0, since: kbr.now))
        }
        send(.tree(.accept(topic: join.topic, path: [])), to: join.joiner, &kbr)
        if !trees[i].isAttached && trees[i].pending == nil {
            if arrival == .root {
                trees[i].isTop = true
            } else {
                beginJoin(i, attempt: 0, &kbr)
            }
        }
        return .stop
    }

    /// The source feeds every stripe's top: a joiner that brings a subtree (a stripe's root,
    /// a repairing forwarder) takes the place of one of its leaves, from its fullest stripe;
    /// the leaf re-joins and finds a parent inside the trees.
    mutating func sourceMakesRoom(joinerForwards: Bool, _ kbr: inout KBRContext) -> Bool {
        guard isSource, joinerForwards else { return false }
        for j in (0..<stripeCount).sorted(by: { trees[$0].children.count > trees[$1].children.count }) {
            guard let c = trees[j].children.lastIndex(where: { !$0.forwards }) else { continue }
            let evicted = trees[j].children.remove(at: c)
            send(.tree(.reject(topic: trees[j].id, handedDown: false)), to: evicted.ref, &kbr)
            return true
        }
        return false
    }

    /// `load`: what the join said (the nodes it brings below it), until the child's refreshes
    /// say otherwise — a new forwarder taken for a leaf could be evicted with its whole subtree.
    mutating func addChild(_ i: Int, _ child: NodeRef, spare: Int, load: Int = 0, _ kbr: inout KBRContext) {
        trees[i].children.append(TreeChild(ref: child, lastHeard: kbr.now, lastSent: kbr.now, load: load,
                                           spare: spare, adoptedAfter: recent[i].last?.sequence, since: kbr.now))
        send(.tree(.accept(topic: trees[i].id, path: trees[i].pathForChildren(self: kbr.local.id))), to: child, &kbr)
        updateSpareMembership(&kbr)
    }

    /// SplitStream's push-down at a full node: keep the children that share the stripe's
    /// first digit (and those that forward), let the weakest claim go — the joiner itself
    /// on a tie — and hand it to the child most likely to have room.
    /// `swapOnly`: a promotion (`climb`) is taken only in the place of a weaker child that
    /// has been ours for `consolidateAfter`, and that child goes down with a fresh budget.
    /// `fallback`: where the child handed down goes if none of ours can take it.
    mutating func pushDown(_ i: Int, _ join: TreeJoin, swapOnly: Bool = false, fallback: NodeRef? = nil,
                           _ kbr: inout KBRContext) -> Bool {
        guard join.budget > 0 || swapOnly, !trees[i].children.isEmpty else { return false }
        let topic = trees[i].id
        func keepScore(_ id: NodeID, forwards: Bool) -> Int {
            (DigitBase.hex.sharedPrefixLength(id, topic) > 0 ? 2 : 0) + (forwards ? 1 : 0)
        }
        var victim = join.joiner
        var victimSpare = join.spare
        var victimScore = keepScore(join.joiner.id, forwards: join.children > 0)
        for child in trees[i].children where keepScore(child.ref.id, forwards: child.forwards) < victimScore
            && (!swapOnly || kbr.now - child.since >= config.consolidateAfter) {
            victim = child.ref
            victimSpare = UInt16(clamping: child.spare)
            victimScore = keepScore(child.ref.id, forwards: child.forwards)
        }
        guard !swapOnly || victim.id != join.joiner.id,
              let target = pushDownTarget(i, excluding: victim.id, &kbr) ?? fallback else { return false }
        if victim.id != join.joiner.id {
            trees[i].children.removeAll { $0.ref.id == victim.id }
            send(.tree(.reject(topic: topic, handedDown: true)), to: victim, &kbr)
            addChild(i, join.joiner, spare: Int(join.spare), load: Int(join.children), &kbr)
        }
        let onward = swapOnly ? config.pushDownBudget : join.budget - 1
        send(.tree(.join(TreeJoin(topic: topic, joiner: victim, budget: onward, spare: victimSpare,
                                  children: victim.id == join.joiner.id ? join.children : 0))), to: target, &kbr)
        // Count the slot as taken until the child's next refresh says otherwise.
        if let c = trees[i].childIndex(target.id), trees[i].children[c].spare > 0 { trees[i].children[c].spare -= 1 }
        return true
    }

    /// Nobody here can take the joiner (or this node has no upload): hand it to a random node
    /// of the stripe's own digit from the leaf set (ids next to ours share our first digit), so the search stays among
    /// the nodes that forward this stripe instead of running to the root or the spare group.
    mutating func passAlongStripe(_ i: Int, _ join: TreeJoin, _ kbr: inout KBRContext) -> Bool {
        guard join.budget > 0 else { return false }
        let topic = trees[i].id
        let candidates = kbr.leafSet.members.filter {
            DigitBase.hex.sharedPrefixLength($0.id, topic) > 0 && $0.id != join.joiner.id && !trees[i].path.contains($0.id)
                && !noUpload.contains($0.id)
        }
        guard !candidates.isEmpty else { return false }
        let next = candidates[Int(kbr.rng.next() % UInt64(candidates.count))]
        send(.tree(.join(TreeJoin(topic: topic, joiner: join.joiner, budget: join.budget - 1, spare: join.spare,
                                  children: join.children))), to: next, &kbr)
        return true
    }

    /// A node without upload tells each neighbour that may hand it joins, once, with a refresh
    /// that names no topic: its leaf-set neighbours (ids next to each other share a first digit,
    /// so they hand joins along its stripe: `passAlongStripe`) when it starts or they arrive,
    /// and anyone else the first time they hand it one. Such a node can only hand a join on
    /// again, from a link at the control floor. While 1,000 nodes joined, their queues were
    /// over a second long, and a join handed to one was the most common way a first join
    /// died unanswered (the joiner waited out a 1.5 s timeout).
    mutating func announceNoUpload(to node: NodeRef, _ kbr: inout KBRContext) {
        guard capacity != nil, bound == 0, !isSource, !toldNoUpload.contains(node.id) else { return }
        Self.remember(node.id, in: &toldNoUpload, leafSet: kbr.leafSet)
        send(.tree(.refresh(TreeRefresh(spare: 0, topics: []))), to: node, &kbr)
    }

    /// Adds `id` to one of the no-upload sets, which hold at most `noUploadLimit` ids: a full
    /// set first keeps only current leaf-set members, and if it is still full `id` is left out.
    static func remember(_ id: NodeID, in set: inout Set<NodeID>, leafSet: LeafSet) {
        if set.count >= noUploadLimit { set = set.filter { leafSet.contains($0) } }
        if set.count < noUploadLimit { set.insert(id) }
    }

    /// The child to hand a joiner to, among those sharing the stripe's digit (it is their
    /// own stripe) that have room or a subtree: first one that advertised room, then one
    /// that already forwards, then the nearest by Pastry's RTT (all children sit at the same
    /// depth, so expected delay differs by the hop); remaining ties broken at random. A child
    /// whose refresh is half a period overdue is passed over: after a crash it stays listed
    /// until `childTimeout` (7 s), and a join handed to it dies unanswered while the joiner
    /// waits out its timeout.
    mutating func pushDownTarget(_ i: Int, excluding excluded: NodeID, _ kbr: inout KBRContext) -> NodeRef? {
        let topic = trees[i].id
        var best: [NodeRef] = []
        var bestRank = (Int.max, Int.max, Int.max, Int64.max)
        for child in trees[i].children where child.ref.id != excluded && kbr.now - child.lastHeard <= config.refreshInterval * 3 / 2 {
            guard DigitBase.hex.sharedPrefixLength(child.ref.id, topic) > 0, child.spare > 0 || child.forwards else { continue }
            let rank = (0, child.spare > 0 ? 0 : 1,
                        child.forwards ? 0 : 1, kbr.proximity(to: child.ref.id)?.micros ?? Int64.max)
            if rank < bestRank {
                bestRank = rank
                best = [child.ref]
            } else if rank == bestRank {
                best.append(child.ref)
            }
        }
        guard !best.isEmpty else { return nil }
        return best[Int(kbr.rng.next() % UInt64(best.count))]
    }

    mutating func handleAccept(topic: NodeID, path: [NodeID], from parent: NodeRef, _ kbr: inout KBRContext) {
        guard let i = index(of: topic) else { return }
        let me = kbr.local.id
        let isStripe = trees[i].stripe != nil
        if isStripe && (path.contains(me) || path.count >= TreeMessage.maxPath) {
            // The offer would close a loop (or the tree is absurdly deep): refuse and look again.
            send(.tree(.leave(topic: topic)), to: parent, &kbr)
            if trees[i].parent?.id == parent.id { parentLost(i, &kbr) }
            return
        }
        if trees[i].parent?.id == parent.id {
            trees[i].lastHeardFromParent = kbr.now
            if trees[i].path != path {
                trees[i].path = path
                announcePath(i, &kbr)
            }
            return
        }
        let wanted = trees[i].member || !trees[i].children.isEmpty
        guard !trees[i].isTop, wanted else {
            send(.tree(.leave(topic: topic)), to: parent, &kbr)
            return
        }
        if trees[i].parent != nil {
            // Fed already: an offer is taken only while our parent is moving us (`handleMove`),
            // and only once its data flows (`completeMove`); any other (an older join answered
            // late) is declined, and we keep the parent we have.
            if trees[i].nextParent?.ref.id == parent.id {
                trees[i].nextParent?.path = path
            } else if isStripe, let until = trees[i].movingUntil, kbr.now < until, trees[i].nextParent == nil,
                      path.count < trees[i].promotingFrom ?? Int.max {
                trees[i].nextParent = (parent, path)
                // No data flows yet (the stream has not reached us): nothing to wait for.
                if firstData == nil { completeMove(i, &kbr) }
            } else {
                send(.tree(.leave(topic: topic)), to: parent, &kbr)
            }
            return
        }
        attach(i, to: parent, path: path, &kbr)
    }

    /// Makes `parent` our parent in tree `i` (its data and heartbeats count from now).
    mutating func attach(_ i: Int, to parent: NodeRef, path: [NodeID], _ kbr: inout KBRContext) {
        trees[i].parent = parent
        trees[i].path = path
        trees[i].pending = nil
        trees[i].lastHeardFromParent = kbr.now
        trees[i].lastDataFromParent = kbr.now
        if let lost = trees[i].lostParentAt, let stripe = trees[i].stripe {
            kbr.observe(TreeRepaired(stripe: stripe, duration: kbr.now - lost))
        }
        trees[i].lostParentAt = nil
        // A move under way ends here; a next parent other than this one is left.
        if trees[i].nextParent?.ref.id == parent.id { trees[i].nextParent = nil }
        endMove(i, &kbr)
        if trees[i].stripe != nil {
            announcePath(i, &kbr)
            requestFill(i, from: parent, &kbr)
        }
    }

    /// Tells every child this node's new path, so loop checks below stay current.
    mutating func announcePath(_ i: Int, _ kbr: inout KBRContext) {
        let path = trees[i].pathForChildren(self: kbr.local.id)
        for child in trees[i].children { send(.tree(.accept(topic: trees[i].id, path: path)), to: child.ref, &kbr) }
    }

    mutating func handleReject(topic: NodeID, handedDown: Bool, from sender: NodeRef, _ kbr: inout KBRContext) {
        guard let i = index(of: topic) else { return }
        if trees[i].parent?.id == sender.id {
            parentLost(i, &kbr, startSearch: !handedDown)
            if handedDown { trees[i].pending = PendingJoin(attempt: 0, deadline: kbr.now + config.joinTimeout) }
        } else if trees[i].parent == nil, trees[i].pending != nil {
            // Handed down: its answer is coming. Refused: try the next way after a short,
            // random pause, so refusals do not turn into a storm of joins.
            let pause = handedDown ? config.joinTimeout
                : TimeSpan(micros: Int64(kbr.rng.next() % UInt64(config.joinTimeout.micros / 2)) + config.tick.micros)
            trees[i].pending?.deadline = kbr.now + pause
        }
    }

    /// Drops the parent of tree `i` and (unless told to wait) starts looking for another.
    /// `since`: when the parent was last known good (a silent parent's last word), so the
    /// repair time counts the detection too.
    mutating func parentLost(_ i: Int, _ kbr: inout KBRContext, since: Instant? = nil, startSearch: Bool = true) {
        trees[i].parent = nil
        if trees[i].lostParentAt == nil { trees[i].lostParentAt = since ?? kbr.now }
        if let stripe = trees[i].stripe { kbr.observe(TreeParentLost(stripe: stripe)) }
        guard trees[i].member || !trees[i].children.isEmpty else {
            trees[i].pending = nil
            return
        }
        if startSearch { beginJoin(i, attempt: 0, &kbr) }
    }

    mutating func handleLeave(topic: NodeID, from child: NodeRef, _ kbr: inout KBRContext) {
        guard let i = index(of: topic), trees[i].hasChild(child.id) else { return }
        trees[i].children.removeAll { $0.ref.id == child.id }
        pruneIfUseless(i, &kbr)
        updateSpareMembership(&kbr)
    }

    /// A pure forwarder with no children left leaves its tree (Scribe's prune).
    mutating func pruneIfUseless(_ i: Int, _ kbr: inout KBRContext) {
        guard !trees[i].member, trees[i].children.isEmpty, !isSource else { return }
        if let parent = trees[i].parent { send(.tree(.leave(topic: trees[i].id)), to: parent, &kbr) }
        trees[i].parent = nil
        trees[i].pending = nil
        trees[i].isTop = false
        trees[i].lostParentAt = nil
    }
}
