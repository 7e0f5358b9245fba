// Context<backend::cpu>: the thread pool the kernels split their work over (the shared default
// pool unless one is given), the scratch arena of a forward pass, the precision of the matrix
// products (precision.hpp: f32 unless set to bf16, which the ops read on every call), whether
// linear layers read a model's weights pre-packed or streamed (both off unless set), and the OpProfile that times
// every op call, if one is set (core/op_profile.hpp; none by default).
#pragma once

#include "internvl/backend/cpu/precision.hpp"
#include "internvl/backend/tags.hpp"
#include "internvl/core/op_profile.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl {

// The cpu GEMM normalizes A's rows while packing them (backend/cpu/norm_linear.hpp).
template <>
inline constexpr bool fuses_norm_into_linear<backend::cpu> = true;

template <>
class Context<backend::cpu> {
 public:
  using backend_type = backend::cpu;

  Context() : pool_(&default_thread_pool()) {}
  explicit Context(ThreadPool& pool) : pool_(&pool) {}

  ThreadPool& pool() { return *pool_; }
  Workspace<>& workspace() { return workspace_; }

  cpu::Precision matmul_precision() const { return matmul_precision_; }
  void set_matmul_precision(cpu::Precision p) { matmul_precision_ = p; }

  // Whether linear layers pack a model's weights once, on first use, for the kernels of the
  // precision and ISA path in use, and read them packed from then on (gemm/prepack.hpp) instead of
  // packing them on every call. Off by default: the packed copy takes memory (a bf16 checkpoint's
  // size with bf16 products, twice that with f32 ones), the checkpoint's pages are handed back to
  // the OS after packing.
  bool weight_prepacking() const { return weight_prepacking_; }
  void set_weight_prepacking(bool on) { weight_prepacking_ = on; }

  // Whether linear layers (bias at most: not GELU's, not the residual form) of at most 8 rows read
  // their weights as stored, never packed (gemm/few_rows.hpp): right for decoding (one row per beam),
  // where so few rows would not repay packing; 1.7-2.2× the packed GEMM's rate at 5 rows on AVX-512 (more
  // rows take the packed GEMM). In bf16 precision, bf16 weights are multiplied with vdpbf16ps (1.1-1.45×
  // faster at 5-8 rows), others in f32. Such a row's result has the same bits however many rows (up to 8) share the
  // call, which differ from the packed GEMM's in the last bits. Off by default; models::caption turns it on for its
  // decoding steps.
  bool weight_streaming() const { return weight_streaming_; }
  void set_weight_streaming(bool on) { weight_streaming_ = on; }

  // The profile every ops:: call on this context is timed into, or nullptr (the default: untimed).
  // The caller owns it; it must outlive the calls.
  OpProfile* op_profile() const { return op_profile_; }
  void set_op_profile(OpProfile* profile) { op_profile_ = profile; }

 private:
  ThreadPool* pool_;
  Workspace<> workspace_;
  cpu::Precision matmul_precision_ = cpu::Precision::f32;
  bool weight_prepacking_ = false;
  bool weight_streaming_ = false;
  OpProfile* op_profile_ = nullptr;
};

}  // namespace internvl
