// Every op of the cpu backend.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/matmul.hpp"
#include "internvl/backend/cpu/rms_norm.hpp"
