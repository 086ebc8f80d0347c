import CanopyCore
import CanopyMesh

/// Reads the scenario's `"mesh"` block into `MeshConfig`; any field not listed here is an
/// error naming it. Field names and defaults are documented in the README.
public enum MeshSettings {
    public static func read(_ block: inout ScenarioObject) throws -> MeshConfig {
        var c = MeshConfig()
        let scheduler = try block.choice("scheduler", default: c.scheduler.description,
                                         from: MeshScheduler.allCases.map(\.description))
        c.scheduler = MeshScheduler.allCases.first { $0.description == scheduler } ?? .donet
        c.partners = try block.int("partners", default: c.partners, range: 1...64)
        c.bufferMapPeriod = try millis(&block, "buffer_map_period_ms", c.bufferMapPeriod)
        c.haveBatch = try block.int("have_batch", default: c.haveBatch, range: 1...MeshMessage.maxSequences)
        c.window = try seconds(&block, "window_s", c.window)
        c.deadline = try seconds(&block, "deadline_s", c.deadline)
        c.scheduleDelay = try millis(&block, "schedule_delay_ms", c.scheduleDelay, allowZero: true)
        c.requestCap = try block.int("request_cap", default: c.requestCap, range: 1...MeshMessage.maxSequences)
        c.requestTimeout = try millis(&block, "request_timeout_ms", c.requestTimeout)
        c.sourcePush = try block.int("source_push", default: c.sourcePush, range: 0...64)
        c.maxQueue = try millis(&block, "max_queue_ms", c.maxQueue)
        c.substreamPush = try block.bool("substream_push", default: c.substreamPush)
        c.overdueRescue = try block.bool("overdue_rescue", default: c.overdueRescue)
        c.pushGrace = try millis(&block, "push_grace_ms", c.pushGrace, allowZero: true)
        c.refinePeriod = try seconds(&block, "refine_period_s", c.refinePeriod, allowZero: true)
        c.viewSize = try block.int("view_size", default: c.viewSize, range: 1...1024)
        c.gossipPeriod = try seconds(&block, "gossip_period_s", c.gossipPeriod)
        c.gossipSize = try block.int("gossip_size", default: c.gossipSize, range: 1...MeshMessage.maxMembers)
        c.keepalive = try millis(&block, "keepalive_ms", c.keepalive)
        c.silenceTimeout = try millis(&block, "silence_timeout_ms", c.silenceTimeout)
        c.shortestAbsence = try millis(&block, "shortest_absence_ms", c.shortestAbsence)
        c.startLag = try block.int("start_lag_chunks", default: c.startLag, range: 0...1000)
        return c
    }

    private static func millis(_ block: inout ScenarioObject, _ key: String, _ fallback: TimeSpan,
                               allowZero: Bool = false) throws -> TimeSpan {
        let low = allowZero ? 0.0 : 1.0
        return .seconds(try block.double(key, default: fallback.milliseconds, range: low...86_400_000,
                                         expectation: "milliseconds ≥ \(Int(low))") / 1000)
    }

    private static func seconds(_ block: inout ScenarioObject, _ key: String, _ fallback: TimeSpan,
                                allowZero: Bool = false) throws -> TimeSpan {
        let low = allowZero ? 0.0 : 0.001
        return .seconds(try block.double(key, default: fallback.seconds, range: low...86_400,
                                         expectation: allowZero ? "seconds ≥ 0" : "seconds > 0"))
    }
}
