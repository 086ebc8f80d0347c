import CanopyCore
import CanopyTree

/// Reads the scenario's `"tree"` block into `TreeConfig`. Every field is optional:
/// `stripes` (1…16), `max_children`, `upload_headroom` (share of upload data may use),
/// `source_upload_headroom` (the same for the source),
/// `heartbeat_s`, `parent_timeout_s`, `refresh_s`, `child_timeout_s`, `join_timeout_s`,
/// `push_down_budget`, `recovery_check_s` (how long after a mass crash every survivor must
/// have every stripe again; 10), and `note` (free text: how the scenario's uploads were chosen).
enum TreeSettings {
    static func read(_ block: inout ScenarioObject) throws -> (config: TreeConfig, recoveryCheck: Double, note: String?) {
        var c = TreeConfig()
        c.stripes = try block.int("stripes", default: c.stripes, range: 1...16, expectation: "an integer 1…16")
        if block.has("max_children") { c.maxChildren = try block.int("max_children", range: 0...100_000) }
        c.uploadHeadroom = try block.double("upload_headroom", default: c.uploadHeadroom, range: 0.05...1,
                                            expectation: "a fraction in (0, 1]")
        c.sourceUploadHeadroom = try block.double("source_upload_headroom", default: c.sourceUploadHeadroom,
                                                  range: 0.05...1, expectation: "a fraction in (0, 1]")
        c.heartbeatInterval = try seconds(&block, "heartbeat_s", c.heartbeatInterval)
        c.parentTimeout = try seconds(&block, "parent_timeout_s", c.parentTimeout)
        c.refreshInterval = try seconds(&block, "refresh_s", c.refreshInterval)
        c.childTimeout = try seconds(&block, "child_timeout_s", c.childTimeout)
        c.joinTimeout = try seconds(&block, "join_timeout_s", c.joinTimeout)
        c.pushDownBudget = UInt8(try block.int("push_down_budget", default: Int(c.pushDownBudget), range: 0...255))
        let recovery = try block.double("recovery_check_s", default: 10, range: 0.1...3600, expectation: "seconds > 0")
        let note = block.has("note") ? try block.string("note") : nil
        return (c, recovery, note)
    }

    private static func seconds(_ block: inout ScenarioObject, _ key: String, _ fallback: TimeSpan) throws -> TimeSpan {
        .seconds(try block.double(key, default: fallback.seconds, range: 0.001...3600, expectation: "seconds > 0"))
    }
}
