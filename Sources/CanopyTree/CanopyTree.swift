// CanopyTree: see DESIGN.md's module map. Sources are added here.
