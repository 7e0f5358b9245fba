// Every op of the reference backend.
#pragma once

#include "internvl/backend/reference/add.hpp"
#include "internvl/backend/reference/attention.hpp"
#include "internvl/backend/reference/batch_norm.hpp"
#include "internvl/backend/reference/context.hpp"
#include "internvl/backend/reference/gelu.hpp"
#include "internvl/backend/reference/layer_norm.hpp"
#include "internvl/backend/reference/layer_norm_channels.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/backend/reference/mean_tokens.hpp"
#include "internvl/backend/reference/rms_norm.hpp"
#include "internvl/backend/reference/scaled_residual_add.hpp"
#include "internvl/backend/reference/silu.hpp"
#include "internvl/backend/reference/softmax.hpp"
#include "internvl/backend/reference/swiglu.hpp"
