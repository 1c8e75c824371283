// Graphics: pictures for a diffusion lab, on libpng and FreeType. A sibling of Checkpoints in
// ARCHITECTURE.md: imports only Engine and the C shims (CPNG, CFreeType).
//
//   Image, Image+Tensor   8-bit RGB/RGBA pictures; from tensors [3,H,W], [H,W], [B,C,H,W] in [-1,1] or [0,1]
//   PNG, AtomicFile       libpng's simplified API; files written atomically (temporary + rename)
//   Canvas, Geometry      anti-aliased lines, rectangles, discs, text, upscaled pictures
//   Font, Font+Wrap       FreeType glyphs (DejaVu Sans), or the built-in BitmapFont when the file is missing
//   LinePlot, Ticks       line charts: 1-2-5 ticks, log axes, EMA smoothing, legend
//   ImageGrid             captioned pictures in rows and columns
//   Sparkline             one-line terminal charts ▁▂▃▄▅▆▇█
//   GraphicsError         every failure, as a thrown error naming the file or argument
import Engine
