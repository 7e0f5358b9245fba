// Context<backend::cpu>: the thread pool the kernels split their work over (the shared default
// pool unless one is given), the scratch arena of a forward pass, and the precision of the matrix
// products (precision.hpp: f32 unless set to bf16, which the ops read on every call).
#pragma once

#include "internvl/backend/cpu/precision.hpp"
#include "internvl/backend/tags.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl {

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

 private:
  ThreadPool* pool_;
  Workspace<> workspace_;
  cpu::Precision matmul_precision_ = cpu::Precision::f32;
};

}  // namespace internvl
