// Workspace: a 64-byte-aligned bump arena for the scratch tensors of a forward pass.
//   auto scope = ws.scope();                  // everything taken below is released at scope exit
//   View<float, 2> h = ws.tensor<float>(Extents<2>{tokens, width});
// The arena grows when a request does not fit, by a block twice the last one (or exactly the request
// where the system refuses that much); once nothing is live it folds its blocks into one of the peak
// size, so from the second forward pass on it performs no allocation at all. A fold the system refuses
// leaves the arena empty, to grow again: it happens in a Scope's destructor, which must not throw.
// The Allocator (host memory by default, device memory for CUDA) provides allocate/deallocate. In host
// memory, growing by a request that cannot fit beside what the process holds (check_memory_for,
// memory.hpp) is an Error, not a process the kernel's OOM killer ends halfway through a pass (a batch
// many times too large, say).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/memory.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl {

struct HostAllocator {
  static void* allocate(std::size_t bytes) {
    void* p = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
    if (p == nullptr) {
      throw std::bad_alloc();
    }
    return p;
  }
  static void deallocate(void* p) noexcept { std::free(p); }
};

template <class Allocator = HostAllocator>
class Workspace {
  struct Block {
    std::byte* base;
    std::size_t size;
  };
  struct Mark {
    std::size_t block;
    std::size_t offset;
  };

 public:
  Workspace() = default;
  explicit Workspace(std::size_t bytes) { reserve(bytes); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { release_blocks(); }

  // Releases everything allocated after its creation when it goes out of scope.
  class Scope {
   public:
    explicit Scope(Workspace& ws) : ws_(&ws), mark_(ws.top_) {}
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() { ws_->rewind(mark_); }

   private:
    Workspace* ws_;
    Mark mark_;
  };

  [[nodiscard]] Scope scope() { return Scope(*this); }

  // n uninitialised elements of T, 64-byte aligned.
  template <class T>
  T* allocate(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    while (top_.block < blocks_.size() && top_.offset + bytes > blocks_[top_.block].size) {
      top_ = {top_.block + 1, 0};
    }
    if (top_.block == blocks_.size()) {
      if constexpr (std::is_same_v<Allocator, HostAllocator>) {
        check_memory_for(bytes, "Workspace", "a scratch tensor", "use a smaller batch or smaller images");
      }
      blocks_.push_back(new_block(bytes));
      ++allocations_;
    }
    std::byte* p = blocks_[top_.block].base + top_.offset;
    top_.offset += bytes;
    peak_ = std::max(peak_, live_bytes());
    return reinterpret_cast<T*>(p);
  }

  template <class T, std::size_t Rank>
  View<T, Rank> tensor(const std::array<index_t, Rank>& shape) {
    index_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    return {allocate<T>(static_cast<std::size_t>(n)), shape};
  }

  // Makes sure `bytes` fit without growing (one block of at least that size).
  void reserve(std::size_t bytes) {
    if (capacity() < bytes && live_bytes() == 0) {
      release_blocks();
      blocks_.push_back({static_cast<std::byte*>(Allocator::allocate(bytes)), bytes});
      ++allocations_;
    }
  }

  std::size_t capacity() const {
    std::size_t total = 0;
    for (const Block& b : blocks_) {
      total += b.size;
    }
    return total;
  }
  // Bytes from the start of the arena to its top (a skipped block tail counts as used).
  std::size_t live_bytes() const {
    std::size_t used = top_.offset;
    for (std::size_t b = 0; b < top_.block; ++b) {
      used += blocks_[b].size;
    }
    return used;
  }
  std::size_t peak_bytes() const { return peak_; }
  // How many times the arena asked its allocator for memory (tests use it to prove reuse).
  std::size_t allocation_count() const { return allocations_; }

 private:
  // A block for a request of `bytes` that does not fit: twice the last block, so that a pass needs few,
  // or exactly `bytes` where the system refuses that much address space.
  Block new_block(std::size_t bytes) {
    const std::size_t doubled = blocks_.empty() ? bytes : std::max(bytes, 2 * blocks_.back().size);
    if (doubled > bytes) {
      try {
        return {static_cast<std::byte*>(Allocator::allocate(doubled)), doubled};
      } catch (const std::exception&) {  // std::bad_alloc, or the device's out-of-memory Error
      }
    }
    return {static_cast<std::byte*>(Allocator::allocate(bytes)), bytes};
  }

  void rewind(Mark mark) noexcept {
    top_ = mark;
    if (top_.block == 0 && top_.offset == 0 && blocks_.size() > 1) {
      release_blocks();
      try {
        blocks_.push_back({static_cast<std::byte*>(Allocator::allocate(peak_)), peak_});
        ++allocations_;
      } catch (const std::exception&) {  // refused: the arena stays empty and grows again when asked
      }
    }
  }

  void release_blocks() noexcept {
    for (const Block& b : blocks_) {
      Allocator::deallocate(b.base);
    }
    blocks_.clear();
    top_ = {0, 0};
  }

  std::vector<Block> blocks_;
  Mark top_{0, 0};
  std::size_t peak_ = 0;
  std::size_t allocations_ = 0;
};

}  // namespace internvl
