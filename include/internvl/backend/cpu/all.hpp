// Every op of the cpu backend.
#pragma once

#include "internvl/backend/cpu/adaptive_avg_pool2d.hpp"
#include "internvl/backend/cpu/assemble_tokens.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/conv2d.hpp"
#include "internvl/backend/cpu/conv_transpose2d.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/max_pool2d.hpp"
#include "internvl/backend/cpu/patchify.hpp"
#include "internvl/backend/cpu/pixel_shuffle.hpp"
#include "internvl/backend/cpu/resize.hpp"
#include "internvl/backend/cpu/rms_norm.hpp"
