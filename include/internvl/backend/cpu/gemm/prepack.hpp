// Pre-packed weights for the GEMM: B [N, K] packed once, for one kernel set, into all the panels the
// per-call packing would make, and kept in the weight's PackSlot (core/weight_view.hpp) for later calls.
//   panel j (columns [j·nr, j·nr + nr)) over all of K at  j · panel_bytes(nr, K),
//   its K block starting at k0 (a multiple of kc)     at  + panel_bytes(nr, k0)
// so each block is the bytes per-call packing would put in the B block buffer (blocking.hpp), and the
// tiles read it where it lies. Filled on the first product that asks (std::call_once), by the pool's
// threads; a slot filled for another kernel set (the context's precision or ISA changed) is not used:
// those products pack per call. After packing, the weight's own pages are handed back to the OS
// (madvise MADV_PAGEOUT: a hint that never loses data; pages of a file mapping are dropped and read
// again if touched), so that a memory-mapped checkpoint does not stay resident next to its packed copy.
// Packed panels take panel_bytes per element of the kernel set: bf16 products keep a bf16 checkpoint's
// size, f32 products double it.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/macro_kernel.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/core/weight_view.hpp"

namespace internvl::cpu::packed {

// Bytes of all packed panels of B [n, k].
inline index_t prepacked_bytes(const KernelSet& ks, index_t n, index_t k) {
  return ceil_div(n, ks.nr) * ks.panel_bytes(ks.nr, k);
}


namespace detail {

// Asks the OS to reclaim the whole pages inside [p, p + bytes).
inline void release_pages(const void* p, std::size_t bytes) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / page * page;
#if defined(MADV_PAGEOUT)
  if (end > begin) {
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);  // a hint: failure changes nothing
  }
#endif
}

}  // namespace detail

// All panels of b (dense rows) for kernel set ks, packed by the pool's threads.
inline std::shared_ptr<const std::byte> prepack(const KernelSet& ks, ThreadPool& pool, const WeightView<2>& b) {
  const index_t n = b.size(0), k = b.size(1);
  const auto bytes = static_cast<std::size_t>(std::max<index_t>(64, prepacked_bytes(ks, n, k)));
  auto* panels = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}));
  std::shared_ptr<const std::byte> owned(panels, [](const std::byte* p) {
    ::operator delete(const_cast<std::byte*>(p), std::align_val_t{64});
  });
  const auto* source = static_cast<const std::byte*>(b.data());
  const auto size = static_cast<index_t>(size_of(b.dtype()));
  const PackB pack_b = ks.pack_b_for(b.dtype());
  const index_t panel_count = ceil_div(n, ks.nr);
  pool.run(pool.size(), [&](index_t t) {
    const Range mine = part(panel_count, pool.size(), t);
    for (index_t j = mine.begin; j < mine.end; ++j) {
      const index_t n0 = j * ks.nr;
      for (index_t k0 = 0; k0 < k; k0 += ks.kc) {
        pack_b(source + (n0 * b.stride(0) + k0) * size, b.stride(0), std::min<index_t>(ks.nr, n - n0),
               std::min(ks.kc, k - k0), ks.nr, panels + prepacked_offset(ks, k, j, k0));
      }
    }
  });
  detail::release_pages(source, static_cast<std::size_t>(((n - 1) * b.stride(0) + k) * size));
  return owned;
}

// The prepacked panels of b for ks, packed now if b's slot is still empty; nullptr if b has no slot,
// is empty, or its slot holds another kernel set's panels.
inline const std::byte* prepacked_panels(const KernelSet& ks, ThreadPool& pool, const WeightView<2>& b) {
  PackSlot* slot = b.pack_slot();
  if (slot == nullptr || b.size(0) == 0 || b.size(1) == 0) {
    return nullptr;
  }
  std::call_once(slot->filled, [&] {
    slot->data = prepack(ks, pool, b);
    slot->source = b.data();
    slot->layout = &ks;
  });
  return slot->layout == &ks && slot->source == b.data() ? slot->data.get() : nullptr;
}

}  // namespace internvl::cpu::packed
