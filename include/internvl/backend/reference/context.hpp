// Context<backend::reference>: single-threaded, with a scratch arena for composite ops.
#pragma once

#include "internvl/backend/tags.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl {

template <>
class Context<backend::reference> {
 public:
  using backend_type = backend::reference;

  Workspace<>& workspace() { return workspace_; }

 private:
  Workspace<> workspace_;
};

}  // namespace internvl
