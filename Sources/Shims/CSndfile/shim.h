#ifndef CANOPY_CSNDFILE_SHIM_H
#define CANOPY_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
