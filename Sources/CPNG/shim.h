// libpng (Debian: libpng-dev, pkg-config "libpng").
#pragma once
#include <png.h>

/// libpng's version string, to check the header and the library agree.
static inline const char *snp_png_version(void) { return PNG_LIBPNG_VER_STRING; }

// The simplified API (png_image_*) for Swift: its format macros are compound expressions and its
// message is a fixed char array, which Swift sees only as a 64-element tuple.

/// `PNG_IMAGE_VERSION`, to put in `png_image.version` before any png_image_* call.
static inline png_uint_32 snp_png_image_version(void) { return PNG_IMAGE_VERSION; }
/// 8-bit sRGB `r g b` per pixel.
static inline png_uint_32 snp_png_format_rgb(void) { return PNG_FORMAT_RGB; }
/// 8-bit sRGB `r g b a` per pixel, alpha not premultiplied.
static inline png_uint_32 snp_png_format_rgba(void) { return PNG_FORMAT_RGBA; }
/// Whether a format has an alpha channel.
static inline int snp_png_format_has_alpha(png_uint_32 format) { return (format & PNG_FORMAT_FLAG_ALPHA) != 0; }
/// The warning or error text libpng left in a png_image (empty when none).
static inline const char *snp_png_image_message(const png_image *image) { return image->message; }
