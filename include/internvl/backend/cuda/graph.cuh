// CUDA graphs: everything a callable enqueues on the context's stream, recorded once and replayed with
// one launch (no per-kernel host work: what small batches are bound by).
//   fn();                          // once eagerly first: plans, tables and the workspace reach their final state
//   cuda::Graph graph(ctx, fn);    // records fn's work; nothing runs
//   graph.replay(ctx);             // runs it again, asynchronously, on ctx.stream()
// A replay reads and writes exactly the addresses recorded: the workspace must not have been resized
// or released in between, nor the position table of the grid recorded (an InternViT keeps the resized
// tables of its last VisionEncoder::kResizedPositionTables grids only), and inputs must be refilled in place. fn must
// not synchronise the stream or copy to or from host memory (ops never do; downloads and uploads do). The capture is
// "relaxed", so host-side queries (cudaPointerGetAttributes in the operand checks) are allowed during it. If fn throws,
// the capture is abandoned, the stream is usable again and the error propagates.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <type_traits>

#include "internvl/backend/cuda/check.cuh"
#include "internvl/backend/cuda/context.cuh"

namespace internvl::cuda {

class Graph {
 public:
  template <class Fn>
  Graph(Context<backend::cuda>& ctx, Fn&& fn) {
    INTERNVL_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeRelaxed));
    try {
      fn();
    } catch (...) {
      cudaGraph_t abandoned = nullptr;
      static_cast<void>(cudaStreamEndCapture(ctx.stream(), &abandoned));
      if (abandoned != nullptr) {
        static_cast<void>(cudaGraphDestroy(abandoned));
      }
      static_cast<void>(cudaGetLastError());
      throw;
    }
    cudaGraph_t graph = nullptr;
    INTERNVL_CUDA_CHECK(cudaStreamEndCapture(ctx.stream(), &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
    static_cast<void>(cudaGraphDestroy(graph));
    INTERNVL_CUDA_CHECK(status);
    exec_.reset(exec);
  }

  void replay(Context<backend::cuda>& ctx) const { INTERNVL_CUDA_CHECK(cudaGraphLaunch(exec_.get(), ctx.stream())); }

 private:
  struct ExecDeleter {
    void operator()(cudaGraphExec_t e) const noexcept { static_cast<void>(cudaGraphExecDestroy(e)); }
  };
  std::unique_ptr<std::remove_pointer_t<cudaGraphExec_t>, ExecDeleter> exec_;
};

}  // namespace internvl::cuda
