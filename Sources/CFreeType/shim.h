// FreeType 2 (Debian: libfreetype-dev, pkg-config "freetype2"), for anti-aliased plot text.
#pragma once
#include <ft2build.h>
#include FT_FREETYPE_H
