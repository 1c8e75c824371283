// Graphics: PNG files through libpng, line plots, image grids and text through FreeType, terminal
// sparklines. A sibling of Checkpoints in ARCHITECTURE.md: imports only Engine and C shims.
import Engine
