// Every op of the reference backend.
#pragma once

#include "internvl/backend/reference/adaptive_avg_pool2d.hpp"
#include "internvl/backend/reference/assemble_tokens.hpp"
#include "internvl/backend/reference/attention.hpp"
#include "internvl/backend/reference/context.hpp"
#include "internvl/backend/reference/conv2d.hpp"
#include "internvl/backend/reference/conv_transpose2d.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/backend/reference/max_pool2d.hpp"
#include "internvl/backend/reference/patchify.hpp"
#include "internvl/backend/reference/pixel_shuffle.hpp"
#include "internvl/backend/reference/resize.hpp"
#include "internvl/backend/reference/rms_norm.hpp"
