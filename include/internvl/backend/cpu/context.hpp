// Context<backend::cpu>: the thread pool the kernels split their work over (the shared default
// pool unless one is given) and the scratch arena of a forward pass.
#pragma once

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

 private:
  ThreadPool* pool_;
  Workspace<> workspace_;
};

}  // namespace internvl
