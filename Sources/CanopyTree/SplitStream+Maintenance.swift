import CanopyCore
import CanopyPastry

extension SplitStream {
    /// The periodic check: silent parents are replaced, stalled joins escalate, silent
    /// children are dropped, idle child edges get a heartbeat, and parents get refreshes.
    mutating func tick(_ kbr: inout KBRContext) {
        guard started else { return }
        let now = kbr.now
        var heartbeats: [NodeID: (ref: NodeRef, topics: [NodeID])] = [:]
        for i in trees.indices {
            let isGroup = trees[i].stripe == nil
            let parentTimeout = isGroup ? config.groupParentTimeout : max(config.parentTimeout, stripeSilence)
            if let parent = trees[i].parent, now - trees[i].lastHeardFromParent > parentTimeout {
                // It may be alive but swamped: say goodbye so it does not feed us twice later.
                send(.tree(.leave(topic: trees[i].id)), to: parent, &kbr)
                parentLost(i, &kbr, since: trees[i].lastHeardFromParent)
            } else if let parent = trees[i].parent, isStarving(i, now: now) {
                send(.tree(.leave(topic: trees[i].id)), to: parent, &kbr)
                parentLost(i, &kbr, since: lastFed(i))
            } else if trees[i].parent == nil, let pending = trees[i].pending, now >= pending.deadline {
                // A new attempt would wait behind our own queue: let the queue drain first.
                let backlog = kbr.uploadBacklog
                if backlog > config.shedBacklog {
                    trees[i].pending?.deadline = now + backlog
                } else {
                    beginJoin(i, attempt: pending.attempt + 1, &kbr)
                }
            }
            if let until = trees[i].movingUntil, now >= until { endMove(i, &kbr) }
            let before = trees[i].children.count
            trees[i].children.removeAll { now - $0.lastHeard > config.childTimeout }
            if trees[i].children.count != before { pruneIfUseless(i, &kbr) }
            let interval = isGroup ? config.groupHeartbeatInterval : config.heartbeatInterval
            for c in trees[i].children.indices where now - trees[i].children[c].lastSent >= interval {
                trees[i].children[c].lastSent = now
                heartbeats[trees[i].children[c].ref.id, default: (trees[i].children[c].ref, [])].topics.append(trees[i].id)
            }
        }
        for id in heartbeats.keys.sorted() {
            let entry = heartbeats[id]!
            send(.tree(.heartbeat(topics: entry.topics)), to: entry.ref, &kbr)
        }
        shedIfSwamped(&kbr)
        sendOwed(&kbr)
        askForPatches(&kbr)
        consolidate(&kbr)
        promote(&kbr)
        releaseHeldIfDue(&kbr)
        if now >= nextRefresh {
            nextRefresh = now + config.refreshInterval
            sendRefreshes(&kbr)
        }
        updateSpareMembership(&kbr)
    }

    /// Drops one leaf child (from the stripe with the most children) while the upload
    /// queue is too long; the child re-joins elsewhere at once.
    mutating func shedIfSwamped(_ kbr: inout KBRContext) {
        guard kbr.uploadBacklog > config.shedBacklog else { return }
        let stripes = (0..<stripeCount).sorted { trees[$0].children.count > trees[$1].children.count }
        for i in stripes {
            guard let c = trees[i].children.lastIndex(where: { !$0.forwards }) else { continue }
            let child = trees[i].children.remove(at: c)
            send(.tree(.reject(topic: trees[i].id, handedDown: false)), to: child.ref, &kbr)
            return
        }
    }

    /// How long a stripe's parent may be silent, at the least: a stripe that carries a chunk
    /// only every few seconds (long chunks over many stripes) is heard between chunks through
    /// heartbeats alone, which wait in the parent's upload queue, so its parent gets a chunk
    /// interval on top of a heartbeat before it is taken for dead. With 200 ms chunks on 16
    /// stripes, the fixed 1.2 s took live parents for dead 85,000 times a minute at 1,000
    /// nodes (10% duplicate chunks); with 20 ms chunks this is 0.82 s and changes nothing.
    var stripeSilence: TimeSpan {
        guard let info else { return .zero }
        return config.heartbeatInterval + TimeSpan(micros: Int64(info.chunkMicros) * Int64(stripeCount))
    }

    /// A stripe whose parent sends heartbeats but no chunks while the others flow.
    func isStarving(_ i: Int, now: Instant) -> Bool {
        guard trees[i].stripe != nil, let lastData else { return false }
        // Deeper nodes wait longer (half a parent timeout a level): when a stripe starves
        // high up, the highest starving node re-joins first and its subtree is fed again
        // before the nodes below give up their parents too.
        let patience = config.starvationTimeout + TimeSpan(micros: config.parentTimeout.micros / 2 * Int64(trees[i].depth))
        return now - lastFed(i) > patience && now - lastData < config.parentTimeout
    }

    /// The last chunk the stripe's parent passed on, or the stream's arrival if later.
    func lastFed(_ i: Int) -> Instant { max(trees[i].lastDataFromParent, firstData ?? trees[i].lastDataFromParent) }

    /// One refresh per parent, covering every topic this node has under it.
    mutating func sendRefreshes(_ kbr: inout KBRContext) {
        var byParent: [NodeID: (ref: NodeRef, loads: [TreeTopicLoad])] = [:]
        for tree in trees {
            guard let parent = tree.parent else { continue }
            let load = TreeTopicLoad(topic: tree.id, children: UInt8(min(tree.descendants, 255)))
            byParent[parent.id, default: (parent, [])].loads.append(load)
        }
        let spare = UInt16(min(spareSlots, Int(UInt16.max)))
        for id in byParent.keys.sorted() {
            let entry = byParent[id]!
            send(.tree(.refresh(TreeRefresh(spare: spare, topics: entry.loads))), to: entry.ref, &kbr)
        }
    }

    mutating func handleHeartbeat(topics: [NodeID], from parent: NodeRef, _ kbr: inout KBRContext) {
        for topic in topics {
            guard let i = index(of: topic) else { continue }
            if trees[i].parent?.id == parent.id {
                trees[i].lastHeardFromParent = kbr.now
            } else if trees[i].nextParent?.ref.id != parent.id {
                pruneStrayParent(i, parent, &kbr)
            }
        }
    }

    /// A former parent still counts this node as its child (our leave is late or lost):
    /// tell it again, at most once a child timeout per tree (by then it drops us anyway, as
    /// we send it no refreshes), so a flood of its data never turns into a flood of leaves.
    mutating func pruneStrayParent(_ i: Int, _ sender: NodeRef, _ kbr: inout KBRContext) {
        guard !isSource, kbr.now >= trees[i].nextPrune else { return }
        trees[i].nextPrune = kbr.now + config.childTimeout
        send(.tree(.leave(topic: trees[i].id)), to: sender, &kbr)
    }

    mutating func handleRefresh(_ refresh: TreeRefresh, from child: NodeRef, _ kbr: inout KBRContext) {
        if refresh.topics.isEmpty && refresh.spare == 0 {
            // A node without upload saying so (`announceNoUpload`); a child's refresh always
            // names a topic. It may not be in our leaf set yet: a new neighbour is probed first.
            Self.remember(child.id, in: &noUpload, leafSet: kbr.leafSet)
            return
        }
        for load in refresh.topics {
            guard let i = index(of: load.topic) else { continue }
            if let c = trees[i].childIndex(child.id) {
                trees[i].children[c].lastHeard = kbr.now
                trees[i].children[c].load = Int(load.children)
                trees[i].children[c].spare = Int(refresh.spare)
            } else if trees[i].stripe != nil, trees[i].isAttached, hasRoom(kbr),
                      !trees[i].path.contains(child.id) {
                // Dropped as silent (its refreshes were late), yet it still counts on us: take
                // it back rather than send it through a whole new join.
                trees[i].children.append(TreeChild(ref: child, lastHeard: kbr.now, lastSent: kbr.now,
                                                   load: Int(load.children), spare: Int(refresh.spare),
                                                   adoptedAfter: recent[i].last?.sequence, since: kbr.now))
                send(.tree(.accept(topic: load.topic, path: trees[i].pathForChildren(self: kbr.local.id))), to: child, &kbr)
                updateSpareMembership(&kbr)
            } else {
                send(.tree(.reject(topic: load.topic, handedDown: false)), to: child, &kbr)
            }
        }
    }
}
