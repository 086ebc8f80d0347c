import CanopyCore

/// Something the engine will do at a point of virtual time.
enum PendingEvent {
    /// A message arrives at `to` (dropped if `to` is no longer live).
    case message(to: Int32, from: Int32, Message)
    case timer(node: Int32, key: TimerKey)
    case join(node: Int32)
    case command(node: Int32, NodeCommand)
    case publish(sequence: UInt32)
    /// The scenario's churn event at this index.
    case churn(index: Int32)
    /// A steady-churn session ends.
    case sessionEnd(node: Int32)
    case modeAction(tag: UInt64)
    /// A free slot of the pool.
    case free
}

/// A binary min-heap of (time, sequence) keys over a pool of event payloads.
///
/// Ties in time go to the event scheduled first, so a run is reproducible. The heap holds
/// only 24-byte keys; payloads (which hold messages and their buffers) stay put in a pool
/// whose slots are reused, so the steady state allocates nothing per event.
struct EventQueue {
    private struct Key {
        var time: Int64
        var sequence: UInt64
        var slot: UInt32

        @inline(__always)
        static func before(_ a: Key, _ b: Key) -> Bool {
            a.time != b.time ? a.time < b.time : a.sequence < b.sequence
        }
    }

    private var heap: [Key] = []
    private var pool: [PendingEvent] = []
    private var freeSlots: [UInt32] = []
    private var nextSequence: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextTime: Int64? { heap.first?.time }

    /// Adds an event; returns its sequence number (timers remember it to spot stale entries).
    @discardableResult
    mutating func push(_ event: PendingEvent, at time: Int64) -> UInt64 {
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            pool[Int(slot)] = event
        } else {
            slot = UInt32(pool.count)
            pool.append(event)
        }
        let sequence = nextSequence
        nextSequence &+= 1
        heap.append(Key(time: time, sequence: sequence, slot: slot))
        siftUp(heap.count - 1)
        return sequence
    }

    /// Removes the earliest event.
    mutating func pop() -> (time: Int64, sequence: UInt64, event: PendingEvent)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        var event = PendingEvent.free
        swap(&event, &pool[Int(top.slot)])  // a move: no retain/release of the message
        freeSlots.append(top.slot)
        return (top.time, top.sequence, event)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        let key = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard Key.before(key, heap[parent]) else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = key
    }

    private mutating func siftDown(_ start: Int) {
        let count = heap.count
        var parent = start
        let key = heap[parent]
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count, Key.before(heap[child + 1], heap[child]) { child += 1 }
            guard Key.before(heap[child], key) else { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = key
    }
}
