// Every op of the CUDA backend, its context, and the host <-> device copies (needs nvcc).
#pragma once

#include "internvl/backend/cuda/attention.cuh"
#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/host_transfer.cuh"
#include "internvl/backend/cuda/linear.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/rms_norm.cuh"
#include "internvl/backend/cuda/transfer.cuh"
