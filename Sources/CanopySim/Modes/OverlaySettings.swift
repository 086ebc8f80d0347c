import CanopyCore
import CanopyPastry

/// Reads the scenario's `"pastry"` block into `PastrySettings` (shared by every mode that
/// runs Pastry). Field names and defaults are documented in the README.
public enum OverlaySettings {
    public static func read(_ block: inout ScenarioObject) throws -> PastrySettings {
        var s = PastrySettings()
        s.digitBits = try block.int("b", default: s.digitBits, range: 1...8, expectation: "1, 2, 4 or 8")
        guard 128 % s.digitBits == 0 else {
            throw block.invalid("b", "1, 2, 4 or 8", got: .number(Double(s.digitBits)))
        }
        s.leafSetSize = try block.int("leaf_set", default: s.leafSetSize, range: 2...128)
        guard s.leafSetSize % 2 == 0 else {
            throw block.invalid("leaf_set", "an even integer", got: .number(Double(s.leafSetSize)))
        }
        s.neighbourhoodSize = try block.int("neighbourhood", default: s.neighbourhoodSize, range: 0...256)
        s.leafProbePeriod = try seconds(&block, "leaf_probe_s", s.leafProbePeriod)
        s.probeTimeout = try seconds(&block, "probe_timeout_s", s.probeTimeout)
        s.tableMaintenancePeriod = try seconds(&block, "table_maintenance_s", s.tableMaintenancePeriod)
        s.pingBudget = try block.int("ping_budget", default: s.pingBudget, range: 0...10_000)
        s.ackTimeout = try seconds(&block, "ack_timeout_s", s.ackTimeout)
        s.joinRetry = try seconds(&block, "join_retry_s", s.joinRetry)
        return s
    }

    private static func seconds(_ block: inout ScenarioObject, _ key: String, _ fallback: TimeSpan) throws -> TimeSpan {
        .seconds(try block.double(key, default: fallback.seconds, range: 0.001...86_400, expectation: "seconds > 0"))
    }
}
