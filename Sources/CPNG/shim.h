// libpng (Debian: libpng-dev, pkg-config "libpng").
#pragma once
#include <png.h>

/// libpng's version string, to check the header and the library agree.
static inline const char *snp_png_version(void) { return PNG_LIBPNG_VER_STRING; }
