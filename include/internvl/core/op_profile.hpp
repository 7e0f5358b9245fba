// OpProfile: where a forward pass spends its time, op by op. A context that carries one
// (Context<backend::cpu>::set_op_profile) times every ops:: call into it: per op name, the number of
// calls, the wall time, and for the products (linear, matmul, attention, conv2d, conv_transpose2d)
// their multiply-adds as FLOPs (2 per multiply-add, dense count), from which table() gives GFLOP/s:
//
//   op                             calls   time ms   share   GFLOP/s
//   ops::linear                       96    1380.2   81.3%     462.9
//   ops::attention                    24     205.7   12.1%     503.4
//   ...
//   all ops                          341    1697.4  100.0%
//
// Only the outermost op of a call is recorded: a cpu conv2d's own ops::linear counts as conv2d.
// Wall time is what the op took on the calling thread, its thread pool included; the cpu backend's
// ops are synchronous, so it is the op's whole cost. Not thread-safe: one profile per context, and a
// context is used by one thread at a time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace internvl {

class OpProfile {
 public:
  struct Entry {
    std::string_view op;  // the ops:: function's name (a string literal)
    std::int64_t calls = 0;
    double seconds = 0.0;
    double flops = 0.0;  // 0 for ops that are not products
  };

  // Times one op call from construction to destruction, unless an op call is already being timed
  // (then it belongs to that one) or it ends by an exception.
  class Scope {
   public:
    Scope(OpProfile& profile, std::string_view op, double flops)
        : profile_(profile), op_(op), flops_(flops), outermost_(profile.depth_++ == 0) {}
    ~Scope() {
      --profile_.depth_;
      if (outermost_ && std::uncaught_exceptions() == exceptions_) {
        profile_.add(op_, std::chrono::duration<double>(Clock::now() - start_).count(), flops_);
      }
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    using Clock = std::chrono::steady_clock;
    OpProfile& profile_;
    std::string_view op_;
    double flops_;
    bool outermost_;
    int exceptions_ = std::uncaught_exceptions();
    Clock::time_point start_ = Clock::now();
  };

  void add(std::string_view op, double seconds, double flops) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.op == op; });
    if (it == entries_.end()) {
      it = entries_.insert(entries_.end(), Entry{.op = op});
    }
    it->calls += 1;
    it->seconds += seconds;
    it->flops += flops;
  }

  // Per op, in the order of their first call.
  const std::vector<Entry>& entries() const { return entries_; }

  double total_seconds() const {
    double total = 0.0;
    for (const Entry& e : entries_) {
      total += e.seconds;
    }
    return total;
  }

  void clear() { entries_.clear(); }

  // The table above: ops by time, longest first.
  std::string table() const {
    std::vector<Entry> rows = entries_;
    std::stable_sort(rows.begin(), rows.end(), [](const Entry& a, const Entry& b) { return a.seconds > b.seconds; });
    const double total = total_seconds();
    std::string out = line("%-30s %7s %9s %7s %9s", "op", "calls", "time ms", "share", "GFLOP/s");
    std::int64_t calls = 0;
    for (const Entry& e : rows) {
      const std::string name(e.op);
      const double share = total > 0.0 ? 100.0 * e.seconds / total : 0.0;
      out += e.flops > 0.0 && e.seconds > 0.0
                 ? line("%-30s %7lld %9.1f %6.1f%% %9.1f", name.c_str(), static_cast<long long>(e.calls),
                        1e3 * e.seconds, share, 1e-9 * e.flops / e.seconds)
                 : line("%-30s %7lld %9.1f %6.1f%%", name.c_str(), static_cast<long long>(e.calls), 1e3 * e.seconds,
                        share);
      calls += e.calls;
    }
    return out + line("%-30s %7lld %9.1f %6.1f%%", "all ops", static_cast<long long>(calls), 1e3 * total, 100.0);
  }

 private:
  template <class... Args>
  static std::string line(const char* format, Args... args) {
    char buffer[128];
    std::snprintf(buffer, sizeof buffer, format, args...);
    return std::string(buffer) + "\n";
  }

  std::vector<Entry> entries_;
  int depth_ = 0;  // op calls being timed, outermost included
};

}  // namespace internvl
