// The umbrella for CUDA users: core, the op front doors and the CUDA backend (Context<backend::cuda>,
// device tensors, host <-> device copies, and every CUDA op). Include it from .cu files compiled by
// nvcc; it is the only part of the library that needs nvcc, and it pulls in no Boost.Hana.
#pragma once

#include "internvl/backend/cuda/all.cuh"
