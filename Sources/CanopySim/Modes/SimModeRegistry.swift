/// Every mode `canopy sim` knows, by its scenario name. Add one line per mode.
public enum SimModeRegistry {
    public static var modes: [any SimMode.Type] {
        [
            DirectMode.self,
            OverlayMode.self,
            MeshMode.self,
            TreeMode.self,
        ]
    }

    public static var names: [String] { modes.map { $0.name }.sorted() }

    public static func mode(named name: String) -> (any SimMode.Type)? {
        modes.first { $0.name == name }
    }
}
