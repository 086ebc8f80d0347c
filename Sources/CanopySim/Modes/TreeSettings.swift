import CanopyCore
import CanopyTree

/// Reads the scenario's `"tree"` block into `TreeConfig`. Every field is optional:
/// `stripes` (1…16), `max_children`, `upload_headroom` (share of upload data may use),
/// `source_upload_headroom` (the same for the source), `control_reserve_kbps` (upload always
/// kept for control),
/// `heartbeat_s`, `parent_timeout_s`, `starvation_s`, `refresh_s`, `child_timeout_s`, `join_timeout_s`,
/// `push_down_budget`, `admission_backlog_s` (a node takes children only while its modeled
/// upload queue is shorter), `shed_backlog_s` (it sheds a leaf child while the queue is longer),
/// `anycast_visits`, `anycast_stack`, `backfill_chunks` (recent chunks a node keeps per stripe
/// for a new child's `fill`; 0 turns fills off), `fill_backlog_s` (owed chunks go out only while
/// the upload queue is shorter), `patch_interval_s` and `patch_chunks` (how often a stripe with
/// an overdue hole asks a parent of another stripe for it, and the most chunks one answer
/// carries; 0 turns patches off), `consolidate_s` and `consolidate_after_s` (how often a node
/// forwarding in several stripes asks a child of its smallest other stripe to move, and how
/// long after its first chunk it starts; 0 turns moves off), `promote_s`, `promote_depth` and
/// `promote_after_s` (how often a forwarder that deep asks to sit higher, from how long after
/// its first chunk; 0 turns promotion off), `startup_hold_s` (how long a
/// node that has not started playing waits for the first chunk it is owed),
/// `recovery_check_s` (how long after a mass crash every survivor must have every stripe
/// again; 10), and `note` (free text: how the scenario's uploads were chosen).
enum TreeSettings {
    static func read(_ block: inout ScenarioObject) throws -> (config: TreeConfig, recoveryCheck: Double, note: String?) {
        var c = TreeConfig()
        c.stripes = try block.int("stripes", default: c.stripes, range: 1...16, expectation: "an integer 1…16")
        if block.has("max_children") { c.maxChildren = try block.int("max_children", range: 0...100_000) }
        c.uploadHeadroom = try block.double("upload_headroom", default: c.uploadHeadroom, range: 0.05...1,
                                            expectation: "a fraction in (0, 1]")
        c.controlReserveKbps = try block.double("control_reserve_kbps", default: c.controlReserveKbps,
                                                range: 0...1_000_000, expectation: "kbit/s >= 0")
        c.sourceUploadHeadroom = try block.double("source_upload_headroom", default: c.sourceUploadHeadroom,
                                                  range: 0.05...1, expectation: "a fraction in (0, 1]")
        c.heartbeatInterval = try seconds(&block, "heartbeat_s", c.heartbeatInterval)
        c.parentTimeout = try seconds(&block, "parent_timeout_s", c.parentTimeout)
        c.starvationTimeout = try seconds(&block, "starvation_s", c.starvationTimeout)
        c.refreshInterval = try seconds(&block, "refresh_s", c.refreshInterval)
        c.childTimeout = try seconds(&block, "child_timeout_s", c.childTimeout)
        c.joinTimeout = try seconds(&block, "join_timeout_s", c.joinTimeout)
        c.admissionBacklog = try seconds(&block, "admission_backlog_s", c.admissionBacklog)
        c.shedBacklog = try seconds(&block, "shed_backlog_s", c.shedBacklog)
        c.anycastVisits = try block.int("anycast_visits", default: c.anycastVisits, range: 1...TreeAnycast.maxVisited)
        c.anycastStack = try block.int("anycast_stack", default: c.anycastStack, range: 1...TreeAnycast.maxStack)
        c.backfillChunks = try block.int("backfill_chunks", default: c.backfillChunks, range: 0...1024)
        c.fillBacklog = try seconds(&block, "fill_backlog_s", c.fillBacklog)
        c.patchInterval = try seconds(&block, "patch_interval_s", c.patchInterval)
        c.patchChunks = try block.int("patch_chunks", default: c.patchChunks, range: 0...1024)
        c.promoteInterval = .seconds(try block.double("promote_s", default: c.promoteInterval.seconds,
                                                      range: 0...3600, expectation: "seconds >= 0 (0 turns promotion off)"))
        c.promoteDepth = try block.int("promote_depth", default: c.promoteDepth, range: 3...255)
        c.promoteAfter = try seconds(&block, "promote_after_s", c.promoteAfter)
        c.consolidateInterval = .seconds(try block.double("consolidate_s", default: c.consolidateInterval.seconds,
                                                          range: 0...3600, expectation: "seconds >= 0 (0 turns moves off)"))
        c.consolidateAfter = try seconds(&block, "consolidate_after_s", c.consolidateAfter)
        c.startupHold = try seconds(&block, "startup_hold_s", c.startupHold)
        c.pushDownBudget = UInt8(try block.int("push_down_budget", default: Int(c.pushDownBudget), range: 0...255))
        let recovery = try block.double("recovery_check_s", default: 10, range: 0.1...3600, expectation: "seconds > 0")
        let note = block.has("note") ? try block.string("note") : nil
        return (c, recovery, note)
    }

    private static func seconds(_ block: inout ScenarioObject, _ key: String, _ fallback: TimeSpan) throws -> TimeSpan {
        .seconds(try block.double(key, default: fallback.seconds, range: 0.001...3600, expectation: "seconds > 0"))
    }
}
