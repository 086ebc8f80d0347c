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
            let parentTimeout = isGroup ? config.groupParentTimeout : config.parentTimeout
            if let parent = trees[i].parent, now - trees[i].lastHeardFromParent > parentTimeout {
                // It may be alive but swamped: say goodbye so it does not feed us twice later.
                kbr.send(.tree(.leave(topic: trees[i].id)), to: parent)
                parentLost(i, &kbr, since: trees[i].lastHeardFromParent)
            } else if trees[i].parent == nil, let pending = trees[i].pending, now >= pending.deadline {
                beginJoin(i, attempt: pending.attempt + 1, &kbr)
            }
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
            kbr.send(.tree(.heartbeat(topics: entry.topics)), to: entry.ref)
        }
        if now >= nextRefresh {
            nextRefresh = now + config.refreshInterval
            sendRefreshes(&kbr)
        }
        updateSpareMembership(&kbr)
    }

    /// One refresh per parent, covering every topic this node has under it.
    mutating func sendRefreshes(_ kbr: inout KBRContext) {
        var byParent: [NodeID: (ref: NodeRef, loads: [TreeTopicLoad])] = [:]
        for tree in trees {
            guard let parent = tree.parent else { continue }
            let load = TreeTopicLoad(topic: tree.id, children: UInt8(min(tree.children.count, 255)))
            byParent[parent.id, default: (parent, [])].loads.append(load)
        }
        let spare = UInt16(min(spareSlots, Int(UInt16.max)))
        for id in byParent.keys.sorted() {
            let entry = byParent[id]!
            kbr.send(.tree(.refresh(TreeRefresh(spare: spare, topics: entry.loads))), to: entry.ref)
        }
    }

    mutating func handleHeartbeat(topics: [NodeID], from parent: NodeRef, _ kbr: inout KBRContext) {
        for topic in topics {
            guard let i = index(of: topic) else { continue }
            if trees[i].parent?.id == parent.id {
                trees[i].lastHeardFromParent = kbr.now
            } else {
                kbr.send(.tree(.leave(topic: topic)), to: parent)
            }
        }
    }

    mutating func handleRefresh(_ refresh: TreeRefresh, from child: NodeRef, _ kbr: inout KBRContext) {
        for load in refresh.topics {
            guard let i = index(of: load.topic) else { continue }
            if let c = trees[i].childIndex(child.id) {
                trees[i].children[c].lastHeard = kbr.now
                trees[i].children[c].forwards = load.children > 0
                trees[i].children[c].spare = Int(refresh.spare)
            } else {
                kbr.send(.tree(.reject(topic: load.topic, handedDown: false)), to: child)
            }
        }
    }
}
