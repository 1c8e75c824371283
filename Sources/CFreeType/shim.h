// FreeType 2 (Debian: libfreetype-dev, pkg-config "freetype2"), for anti-aliased plot text.
#pragma once
#include <ft2build.h>
#include FT_FREETYPE_H

/// Load flags for plot text: render an 8-bit anti-aliased bitmap with light (vertical-only)
/// hinting. `FT_LOAD_TARGET_LIGHT` is a function-like macro, which Swift cannot import.
static inline FT_Int32 snp_ft_load_flags(void) { return FT_LOAD_RENDER | FT_LOAD_TARGET_LIGHT; }
/// `FT_PIXEL_MODE_GRAY`: one coverage byte per pixel, the mode `snp_ft_load_flags` renders.
static inline unsigned char snp_ft_pixel_mode_gray(void) { return FT_PIXEL_MODE_GRAY; }
