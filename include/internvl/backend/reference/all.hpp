// Every op of the reference backend.
#pragma once

#include "internvl/backend/reference/attention.hpp"
#include "internvl/backend/reference/context.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/backend/reference/matmul.hpp"
#include "internvl/backend/reference/rms_norm.hpp"
