// Every op of the cpu backend.
#pragma once

#include "internvl/backend/cpu/assemble_tokens.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/patchify.hpp"
#include "internvl/backend/cpu/pixel_shuffle.hpp"
#include "internvl/backend/cpu/rms_norm.hpp"
