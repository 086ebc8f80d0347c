#ifndef CANOPY_COGG_SHIM_H
#define CANOPY_COGG_SHIM_H
/* libogg is called directly from Swift; it has no variadic API that needs wrapping. */
#include <ogg/ogg.h>
#endif
