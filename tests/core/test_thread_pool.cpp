// The thread pool: every task runs exactly once, chunks tile the range, errors come back,
// nested calls run inline (the default size: test_thread_count.cpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "internvl/core/thread_pool.hpp"

using namespace internvl;

TEST_CASE("run calls each task exactly once", "[pool]") {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (index_t count : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(count));
      for (int repeat = 0; repeat < 20; ++repeat) {
        pool.run(count, [&](index_t i) { hits[static_cast<std::size_t>(i)].fetch_add(1); });
      }
      for (auto& h : hits) REQUIRE(h.load() == 20);
    }
  }
}

TEST_CASE("parallel_for chunks tile the range without overlap", "[pool]") {
  ThreadPool pool(3);
  for (index_t n : {1, 2, 5, 100, 1001}) {
    for (index_t grain : {1, 7, 1000}) {
      std::vector<int> covered(static_cast<std::size_t>(n), 0);
      std::atomic<int> chunks{0};
      pool.parallel_for(n, grain, [&](index_t b, index_t e) {
        chunks.fetch_add(1);
        for (index_t i = b; i < e; ++i) covered[static_cast<std::size_t>(i)] += 1;
      });
      for (int c : covered) REQUIRE(c == 1);
      REQUIRE(chunks.load() <= 3);
      REQUIRE(chunks.load() <= std::max<index_t>(1, n / grain));
    }
  }
}

TEST_CASE("an exception in a task reaches the caller and the pool stays usable", "[pool]") {
  ThreadPool pool(2);
  REQUIRE_THROWS_WITH(pool.run(10, [](index_t i) { if (i == 7) throw std::runtime_error("task 7 failed"); }),
                      "task 7 failed");
  std::atomic<int> n{0};
  pool.run(10, [&](index_t) { n.fetch_add(1); });
  REQUIRE(n.load() == 10);
}

TEST_CASE("a parallel call inside a task runs inline", "[pool]") {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.run(4, [&](index_t) { pool.run(5, [&](index_t) { inner.fetch_add(1); }); });
  REQUIRE(inner.load() == 20);
}
