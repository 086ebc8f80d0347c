/// The push-versus-pull table: one row per metric, one column per mode, as Markdown.
/// The numbers are read from the reports unchanged, so the table equals `canopy sim`;
/// a report measured on real sockets (`MeasuredStream`) has the same keys, so one table
/// serves both.
public enum ComparisonTable {
    /// A metric and where reports keep it (the first path present wins: wall time is
    /// `sim.wall_s` in a simulated report, `real.wall_s` in a measured one).
    private typealias Row = (label: String, paths: [[String]], unit: String)

    private static func rows(playoutDelays: [String]) -> [Row] {
        var rows: [Row] = [
            ("delay p50", [["delay_ms", "p50"]], " ms"),
            ("delay p90", [["delay_ms", "p90"]], " ms"),
            ("delay p99", [["delay_ms", "p99"]], " ms"),
            ("RDP (mean)", [["rdp_mean"]], ""),
            ("D99 p50", [["d99_ms", "p50"]], " ms"),
            ("D99 p90", [["d99_ms", "p90"]], " ms"),
        ]
        rows += playoutDelays.map { ("continuity @ \($0) s", [["continuity", $0]], "") }
        rows += [
            ("delivery ratio", [["delivery_ratio"]], ""),
            ("startup p50", [["startup_delay_ms", "p50"]], " ms"),
            ("startup p90", [["startup_delay_ms", "p90"]], " ms"),
            ("control overhead", [["control_overhead"]], ""),
            ("header overhead", [["header_overhead"]], ""),
            ("duplicate ratio", [["duplicate_ratio"]], ""),
            ("upload utilisation (mean)", [["upload_utilisation", "mean"]], ""),
            ("wall time", [["sim", "wall_s"], ["real", "wall_s"]], " s"),
        ]
        return rows
    }

    public static func markdown(_ reports: [(name: String, report: JSONValue)], playoutDelays: [String]) -> String {
        var lines = ["| metric | " + reports.map(\.name).joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---:|", count: reports.count)]
        for row in rows(playoutDelays: playoutDelays) {
            let cells = reports.map { entry -> String in
                guard let n = row.paths.lazy.compactMap({ value($0, in: entry.report) }).first else { return "—" }
                return JSONValue.format(n) + row.unit
            }
            lines.append("| \(row.label) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    private static func value(_ path: [String], in report: JSONValue) -> Double? {
        var node: JSONValue? = report
        for key in path { node = node?[key] }
        guard case .number(let n)? = node else { return nil }
        return n
    }
}
